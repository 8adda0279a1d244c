"""The generation-task lifecycle (services.generation): each rule refuses what breaks it."""

from __future__ import annotations

import pytest

from ledger import Asset, LockTerms
from services.generation import (
    QuoteRefused,
    TaskNotReady,
    TaskState,
    check_fraud_claim,
    check_quote,
    deliverable,
    fee_lock_matches,
    latest_quote_deadline,
    registered,
    rewound_state,
    settled,
)

PRODUCER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ESP = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HASHLOCK = bytes(range(32))
QUOTE = {
    "price": 10**15,
    "max_price": 2 * 10**15,
    "deadline": 5000,
    "earliest_deadline": 4000,
    "latest_deadline": 6000,
}


def _lock(**kw) -> LockTerms:
    fields = {
        "sender": PRODUCER,
        "receiver": ESP,
        "asset": Asset.ETHER,
        "token": "0x" + "00" * 20,
        "amount": 10**15,
        "hashlock": HASHLOCK,
        "timelock": 5000,
        **kw,
    }
    return LockTerms(**fields)


def _matches(lock: LockTerms) -> bool:
    return fee_lock_matches(
        lock,
        producer=PRODUCER,
        esp=ESP,
        hashlock="0x" + HASHLOCK.hex(),
        price=10**15,
        deadline=5000,
    )


def test_a_quote_follows_every_rule():
    assert check_quote("posted", signer=ESP, esp=ESP, **QUOTE) is TaskState.QUOTED
    with pytest.raises(TaskNotReady):  # quoted twice
        check_quote("quoted", signer=ESP, esp=ESP, **QUOTE)
    with pytest.raises(QuoteRefused) as exc:
        check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "price": 3 * 10**15})
    assert exc.value.code == "price_too_high"
    with pytest.raises(QuoteRefused) as exc:
        check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "deadline": 3999})
    assert exc.value.code == "deadline_too_soon"
    with pytest.raises(QuoteRefused) as exc:  # an ESP could claim after the window closed
        check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "deadline": 6001})
    assert exc.value.code == "deadline_beyond_registration_window"
    assert "6001" in str(exc.value) and "6000" in str(exc.value)
    assert check_quote("posted", signer=ESP, esp=ESP, **{**QUOTE, "deadline": 6000}) == "quoted"
    with pytest.raises(QuoteRefused) as exc:  # signed by someone else (or not at all)
        check_quote("posted", signer=PRODUCER, esp=ESP, **QUOTE)
    assert exc.value.code == "bad_quote"


def test_the_latest_deadline_leaves_a_tenth_of_the_window_to_register():
    # The deployment's default: 7,200 blocks (a day at 12 s), 720 of them left to commit.
    assert latest_quote_deadline(1000, window_blocks=7_200) == 1000 + 6_480 * 12
    assert latest_quote_deadline(1000, window_blocks=40) == 1000 + 36 * 12  # the tests' window
    assert latest_quote_deadline(1000, window_blocks=5, seconds_per_block=2) == 1000 + 4 * 2
    assert latest_quote_deadline(1000, window_blocks=1) == 1000  # at least one block of margin


def test_only_the_quoted_ether_lock_pays_a_task():
    assert _matches(_lock())
    assert _matches(_lock(amount=2 * 10**15, timelock=6000))  # more and longer is fine
    # The same amount locked as an ERC-20 or an ERC-721 under the hashlock pays nothing.
    assert not _matches(_lock(asset=Asset.ERC20, token=TOKEN))
    assert not _matches(_lock(asset=Asset.ERC721, token=TOKEN))
    assert not _matches(_lock(amount=10**15 - 1))
    assert not _matches(_lock(timelock=4999))
    assert not _matches(_lock(sender=ESP))
    assert not _matches(_lock(receiver=PRODUCER))
    assert not _matches(_lock(hashlock=bytes(32)))


def test_delivery_settlement_registration_and_fraud_follow_the_order():
    with pytest.raises(TaskNotReady):
        deliverable("quoted", has_lock=False)
    with pytest.raises(TaskNotReady):
        deliverable("locked", has_lock=False)
    assert deliverable("locked", has_lock=True) is TaskState.DELIVERED
    assert settled("delivered", withdrawn=True) is TaskState.CLAIMED
    assert settled("locked", withdrawn=False) is TaskState.REFUNDED
    assert settled("claimed", withdrawn=True) is None  # seen twice: no change
    assert registered("claimed") is TaskState.REGISTERED and registered("locked") is None
    check_fraud_claim("claimed", delivered=True)
    for state, delivered in (("delivered", True), ("claimed", False), ("registered", True)):
        with pytest.raises(TaskNotReady):
            check_fraud_claim(state, delivered=delivered)


@pytest.mark.parametrize(
    ("events", "delivered", "state"),
    [
        ({}, True, TaskState.QUOTED),
        ({"locked"}, False, TaskState.LOCKED),
        ({"locked"}, True, TaskState.DELIVERED),
        ({"locked", "withdrawn"}, True, TaskState.CLAIMED),
        ({"locked", "withdrawn", "registered"}, True, TaskState.REGISTERED),
        ({"locked", "refunded"}, True, TaskState.REFUNDED),
    ],
)
def test_a_reorg_rederives_the_state_from_the_surviving_events(events, delivered, state):
    flags = {k: k in events for k in ("locked", "withdrawn", "refunded", "registered")}
    assert rewound_state(delivered=delivered, **flags) is state
