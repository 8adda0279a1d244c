"""``escrow_blocks``: the blocks a token spent in the swap escrow, which the Registry adds to a
reclaim's registration window (7e154ee), as the market's reclaim hold counts them."""

from __future__ import annotations

from services.exchange import FeeLock, escrow_blocks, reclaimable_until

ESCROW, A, B = "0x" + "ee" * 20, "0x" + "aa" * 20, "0x" + "bb" * 20


def test_completed_stays_and_the_current_one_count():
    transfers = [(10, "0x" + "00" * 20, A), (20, A, ESCROW), (25, ESCROW, A), (40, A, ESCROW)]
    assert escrow_blocks(transfers[:3], ESCROW, head=100) == 5  # one stay, ended
    assert escrow_blocks(transfers, ESCROW, head=47) == 5 + 7  # and one up to the head
    assert (
        escrow_blocks(
            [(40, A, ESCROW.upper().replace("0X", "0x")), (43, ESCROW, B)], ESCROW, head=50
        )
        == 3
    )
    assert escrow_blocks([(10, A, B)], ESCROW, head=50) == 0


def test_the_escrow_time_extends_the_hold():
    lock = FeeLock(block=100, timelock=10**12, withdrawn=True, refunded=False, used=False)
    base = reclaimable_until(200, [lock], registration_window=40, commit_ttl=8, head=120, now=0)
    assert base == 148
    longer = reclaimable_until(
        200, [lock], registration_window=40 + 12, commit_ttl=8, head=150, now=0
    )
    assert longer == 160
