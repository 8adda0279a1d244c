"""The committee at scale: a large pool of jurors cannot push a review past a block's gas limit.

The attack: ``requestReview`` and ``draw`` used to walk the whole pool (one ``isActive`` call
and a read per enrolled juror, about 7,900 gas each), so every enrolment made every later review
dearer: a few thousand jurors (a Sybil flood of ESPs with their bonds, or simply success) and no
review fits in a 30M-gas block, and every contested challenge falls back on the detail rule. Above
``SCAN_LIMIT`` (64) enrolled, the request reads a counter and the draw probes random pool slots
(at most ``PROBES_PER_SEAT`` per seat), evicting a probed juror that is no longer an ESP; its gas
no longer depends on the pool's size. Run on anvil only: the pool takes ~250 transactions to
build, and the rules under test do not depend on the backend (the draw's exact jurors are
recomputed here from the contract's specification)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD

from ledger import errors
from ledger.chain import Chain
from ledger.clients.committee import CommitteeClient, review_key
from ledger.deploy import deploy
from tests.conftest import TEST_PARAMS, World
from tests.contracts.committee_kit import CommitteeWorld, _fund
from tests.contracts.helpers import register_esp

PARAMS = replace(TEST_PARAMS, review_commit_blocks=8, review_reveal_blocks=8)
POOL = 130
SCAN_LIMIT = 64
PROBES_PER_SEAT = 8
# A pool scan costs ~7,900 gas per enrolled juror in the request and again in the draw; with the
# probes the request is O(1) and the draw at most 40 probes (measured about 140k-190k). Red team 3
# (the review's two ESPs, parties, left out of the draw): 437,585 / 442,565 -> 442,719 / 452,760.
DRAW_GAS_BOUND = 470_000
# A probe that evicts a deregistered ESP also frees its slot and books its bond (~37k gas): at
# most 40 evictions per draw, whatever the pool (measured 1,504,548 with 37 evictions).
EVICTING_DRAW_GAS_BOUND = 2_000_000

pytestmark = [pytest.mark.anvil, pytest.mark.parametrize("chain", ["anvil"], indirect=True)]


def _account(label: str) -> LocalAccount:
    return Account.from_key(keccak(f"aigc committee scale {label}".encode()))


def _make(chain: Chain) -> tuple[World, list[LocalAccount]]:
    dev = chain.dev_accounts()
    deployer = _account("deployer")
    jurors = [_account(f"juror {i}") for i in range(POOL)]
    for account in [deployer, *jurors]:
        _fund(chain, dev[8], account.address)  # 1 ETH each
    world = World(chain, deploy(chain, deployer, PARAMS), PARAMS, [deployer, *dev[1:]])
    for juror in jurors:
        register_esp(world, juror)
    return world, jurors


@pytest.fixture(scope="module")
def _scale_world(chain) -> Iterator[tuple[World, list[LocalAccount]]]:
    """The pool's ~400 transactions are reverted after the module: the session's anvil chain
    goes back to its height (the gas snapshot's calldata carries block numbers, whose width
    would otherwise depend on which tests ran before it)."""
    snap = chain.snapshot()
    try:
        yield _make(chain)
    finally:
        chain.revert(snap)


@pytest.fixture
def pool(chain, _scale_world) -> Iterator[tuple[World, list[LocalAccount]]]:
    world, jurors = _scale_world
    snap = chain.snapshot()
    world._tx.clear()
    try:
        yield world, jurors
    finally:
        chain.revert(snap)


def _committee(world: World, account: LocalAccount) -> CommitteeClient:
    return CommitteeClient(world.deployment, world.tx(account))


def _enroll(world: World, jurors: list[LocalAccount]) -> None:
    for juror in jurors:
        _committee(world, juror).enroll()


def _request(world: World, n: int) -> tuple[bytes, int, int]:
    """A review of a real Registry dispute (the committee reviews no other: committee_kit's
    ``dispute``, descriptors distinct by ``n``); returns (key, the request's execution gas: its
    gas less the calldata's, which varies with the random token ids and block numbers; and the
    whole gas)."""
    original, duplicate = CommitteeWorld(world, []).dispute(n)
    committee = _committee(world, world.buyer)
    registry = world.registry(world.buyer)
    hash_a = keccak(registry.registered(original).detail)
    hash_b = keccak(registry.registered(duplicate).detail)
    call = committee.request_review_call(
        collection=registry.address,
        original=original,
        duplicate=duplicate,
        hash_a=hash_a,
        hash_b=hash_b,
    )
    receipt = world.tx(world.buyer).send(call.fn, value=call.value)
    data = bytes(world.chain.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    calldata = sum(4 if byte == 0 else 16 for byte in data)
    key = review_key(registry.address, original, duplicate, hash_a, hash_b)
    return key, int(receipt["gasUsed"]) - calldata, int(receipt["gasUsed"])


def _draw(world: World, key: bytes):
    """Mines past the draw block and draws: (outcome, gas, the pool just before the draw)."""
    committee = _committee(world, world.buyer)
    chain = world.chain
    draw_block = committee.review(key).draw_block
    chain.mine(max(0, draw_block + 1 - (chain.w3.eth.block_number + 1)))
    before = committee.jurors_enrolled()
    receipt = world.tx(world.buyer).send(committee.draw_call(key).fn)
    return committee.parse_draw(receipt), int(receipt["gasUsed"]), before, receipt


def _expected_probe(
    block_hash: bytes, key: bytes, pool: list[str], busy: set[str], inactive: set[str], seats: int
) -> tuple[tuple[str, ...], list[str]]:
    """The contract's probe recomputed: (drawn, evicted) for a pool above SCAN_LIMIT."""
    pool = list(pool)
    seed = int.from_bytes(keccak(encode(["bytes32", "bytes32"], [block_hash, key])), "big")
    found: list[str] = []
    evicted: list[str] = []
    for _ in range(PROBES_PER_SEAT * seats):
        if len(found) == seats or not pool:
            break
        seed = int.from_bytes(keccak(encode(["uint256"], [seed])), "big")
        juror = pool[seed % len(pool)]
        if juror in busy:
            continue
        if juror in inactive:
            index = pool.index(juror)
            pool[index] = pool[-1]
            pool.pop()
            evicted.append(juror)
            continue
        if juror not in found:
            found.append(juror)
    return (tuple(found) if len(found) == seats else ()), evicted


def test_a_large_pool_does_not_make_a_review_dearer(pool):
    """The attack: 66 more enrolments used to add ~520k gas to each of request and draw (at a
    few thousand jurors no review fits in a block). Now both cost the same at 64 and 130."""
    world, jurors = pool
    _enroll(world, jurors[: SCAN_LIMIT + 1])
    key, small_request, small_whole = _request(world, 1)
    small, small_draw, _, _ = _draw(world, key)
    assert small.outcome == "drawn"
    _enroll(world, jurors[SCAN_LIMIT + 1 :])
    assert len(_committee(world, world.buyer).jurors_enrolled()) == POOL
    key, large_request, large_whole = _request(world, 3)
    large, large_draw, _, _ = _draw(world, key)
    assert large.outcome == "drawn"
    assert large_request == small_request  # a counter, not a scan (calldata aside)
    assert small_draw <= DRAW_GAS_BOUND and large_draw <= DRAW_GAS_BOUND, (small_draw, large_draw)
    print(f"request {small_request:,} / {large_request:,} ({small_whole:,} / {large_whole:,} with")
    print(f"its calldata), draw {small_draw:,} / {large_draw:,}")
    assert not set(small.jurors) & set(large.jurors)  # the first review's jurors are busy


def test_the_probe_draws_distinct_free_active_jurors_as_specified(pool):
    world, jurors = pool
    _enroll(world, jurors)
    committee = _committee(world, world.buyer)
    seats = committee.params().jurors
    busy: set[str] = set()
    for n in range(0, 40, 2):  # 20 reviews: 100 of the 130 jurors busy by the end
        key, _, _ = _request(world, n)
        try:
            outcome, _, before, _ = _draw(world, key)
        except errors.CommitteeTooSmall:  # reverted: nothing changed
            outcome, before = None, committee.jurors_enrolled()
        block_hash = world.chain.w3.eth.get_block(committee.review(key).draw_block)["hash"]
        expected, evicted = _expected_probe(bytes(block_hash), key, before, busy, set(), seats)
        assert evicted == []
        if expected:
            assert outcome is not None
            assert outcome.outcome == "drawn" and outcome.jurors == expected
            assert len(set(outcome.jurors)) == seats and not busy & set(outcome.jurors)
            busy |= set(outcome.jurors)
        else:  # the probes ran out among the busy: the review waits for them
            assert outcome is None
    assert len(busy) >= 15 * seats  # most reviews found their jurors even as the pool filled


def test_deregistered_esps_padding_the_pool_are_evicted_and_paid_back(pool):
    """A pool padded with ESPs that left (their juror bonds parked): each draw that probes one
    evicts it, its bond owed to it, and re-arms (the pool changed); once the pool is small enough
    to scan and too few active jurors are left the review is cancelled and its fee owed back (the
    rule decides, as with a small pool)."""
    world, jurors = pool
    _enroll(world, jurors[:70])
    gone = jurors[:67]  # only 3 of 70 stay ESPs: fewer than the 5 seats
    for esp in gone:
        world.esps(esp).deregister()
    committee = _committee(world, world.buyer)
    bond = committee.params().juror_bond
    fee = committee.params().review_fee
    key, _, _ = _request(world, 1)  # a large pool is not scanned: the draw finds out
    draw_block = committee.review(key).draw_block
    outcome, gas, before, receipt = _draw(world, key)
    assert outcome.outcome == "rearmed"  # it evicted: the pool changed
    assert gas <= EVICTING_DRAW_GAS_BOUND
    evicted = [
        str(log["args"]["juror"])
        for log in committee.contract.events.JurorEvicted().process_receipt(receipt, errors=DISCARD)
    ]
    block_hash = world.chain.w3.eth.get_block(draw_block)["hash"]
    inactive = {a.address for a in gone}
    _, expected_evicted = _expected_probe(bytes(block_hash), key, before, set(), inactive, 5)
    assert evicted == expected_evicted and evicted
    after = set(committee.jurors_enrolled())
    for address in evicted:
        assert address not in after
        assert committee.bond_of(address) == 0 and committee.owed(address) == bond
    for _ in range(10):  # each draw evicts more, until the pool is scanned: cancelled
        outcome, gas, _, _ = _draw(world, key)
        assert gas <= EVICTING_DRAW_GAS_BOUND
        if outcome.outcome != "rearmed":
            break
    assert outcome.outcome == "cancelled"
    assert committee.owed(world.buyer.address) == fee
    leaver = next(a for a in gone if a.address == evicted[0])
    balance = world.balance(leaver.address)
    _committee(world, leaver).claim()
    assert world.balance(leaver.address) > balance + bond - 10**15  # less its gas
