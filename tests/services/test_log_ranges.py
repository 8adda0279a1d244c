"""Log reads against a node that caps the blocks one ``eth_getLogs`` may span (ledger/logs.py).

The attack: a real node refuses a log query wider than its cap (10,000 blocks at many providers,
fewer at some). The juror read a batch item's ``ItemOpened`` (its contested descriptor) and the
BatchRegistry client its ``ChallengeContested``/``BatchRegistered`` in one query from the
deployment block to the head, and the juror its committee's events in 5,000-block chunks: once
the chain was longer than the cap the juror failed on every pass and the item's descriptor was
never found. Here the cap is a few blocks, so the committee world's chain is already too long.

The same single query from a start block to the head was in the HTLC client's
``revealed_preimage`` (a seller's or an ESP's secret, read to claim the other leg of a swap or a
fee), the batch reveal view's ``lock_used``, the reputation engine's ``FeedbackRecorded`` read,
and the defender's ``ChallengeOpened`` scan (fixed 5,000-block chunks, refused by a node with a
smaller cap): each is read here on a capped node.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from web3.exceptions import Web3RPCError

from ledger.chain import Chain
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState
from ledger.logs import chunked, event_logs, first_log, latest_log
from services.batch.attestation import reveal_view
from services.exchange.collection import disputes_against
from services.provenance.accusations import ChainAccusations
from services.reputation.onchain import interactions_from_events
from tests.contracts import batch_kit
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import lock_fee, paid_lock, register_esp
from tests.services.test_juror_batch import _duties, _png, _source, _squatted, _votes, unrelated

__all__ = ["unrelated"]  # the module fixture, shared with test_juror_batch

CAP = 6  # blocks one eth_getLogs may span here


def _block(value: Any, chain: Chain) -> int:
    if value is None or value in ("latest", "pending", "safe", "finalized"):
        return int(chain.w3.eth.block_number)
    if value == "earliest":
        return 0
    return int(value, 16) if isinstance(value, str) else int(value)


def _cap(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """``chain``'s provider answers an ``eth_getLogs`` wider than ``CAP`` blocks with a node's
    error (as a JSON-RPC node does); returns the (from, to) of every query it answered."""
    provider = chain.w3.provider
    make_request = provider.make_request
    answered: list[tuple[int, int]] = []

    def capped_request(method: Any, params: Any) -> Any:
        if method == "eth_getLogs":
            query = params[0]
            # a node's camelCase keys; web3 hands eth-tester snake_case ones
            frm = _block(query.get("fromBlock", query.get("from_block")), chain)
            to = _block(query.get("toBlock", query.get("to_block")), chain)
            if to - frm + 1 > CAP:
                error = {"code": -32005, "message": f"block range exceeds {CAP} blocks"}
                return {"jsonrpc": "2.0", "id": 0, "error": error}
            answered.append((frm, to))
        return make_request(method, params)

    monkeypatch.setattr(provider, "make_request", capped_request)
    monkeypatch.setattr(provider, "_request_func_cache", (None, None))  # web3 keeps the old one
    return answered


@pytest.fixture
def capped(embedded_chain, monkeypatch) -> list[tuple[int, int]]:
    """The embedded chain, capped (:func:`_cap`)."""
    return _cap(embedded_chain, monkeypatch)


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


def test_chunks_cover_the_range_in_order_and_halve_a_refused_chunk() -> None:
    asked: list[tuple[int, int]] = []

    def fetch(frm: int, to: int) -> list[int]:
        asked.append((frm, to))
        if to - frm + 1 > 3:
            raise Web3RPCError("range too wide")
        return list(range(frm, to + 1))

    assert [b for part in chunked(fetch, 10, 29, chunk=8) for b in part] == list(range(10, 30))
    answered = [(f, t) for f, t in asked if t - f + 1 <= 3]
    assert answered == sorted(answered) and max(t - f + 1 for f, t in answered) <= 3
    assert len(asked) < 20  # the smaller size is kept: not every chunk is refused first
    down = [b for part in chunked(fetch, 10, 29, chunk=8, newest_first=True) for b in part[::-1]]
    assert down == list(range(29, 9, -1))
    with pytest.raises(Web3RPCError):  # a refused single block is the node's answer
        list(chunked(lambda f, t: (_ for _ in ()).throw(Web3RPCError("down")), 1, 5))
    with pytest.raises(ValueError):
        list(chunked(fetch, 1, 5, chunk=0))


def test_a_juror_finds_a_contested_items_descriptor_on_a_capped_node(
    committee, unrelated, tmp_path, capped
):
    """The squatter drew the jurors; the victim contests (``ItemOpened``); the jurors find its
    descriptor and vote "no". Before: every pass failed on the node's refusal (Web3RPCError)."""
    world = committee.world
    squatter, victim = unrelated
    jurors = committee.enroll(5)
    squat, item, detail, opening, key = _squatted(committee, squatter, victim)
    committee.draw(key, by=world.attacker)
    assert world.chain.w3.eth.block_number - world.deployment.manifest.block > 5 * CAP
    duties = _duties(committee, jurors, _source({squat: _png(squatter)}), tmp_path)
    log = [line for d in duties for line in d.step()]
    assert any("waits" in line for line in log), log
    batches = BatchRegistryClient(world.deployment, world.tx(world.producer))
    assert batches.opened_item(squat, item) is None
    batches.contest(squat, item, detail=detail, opening=opening)
    log = [line for d in duties for line in d.step()]
    # the descriptor found on the capped node, the victim's image not published: they wait out
    # the first quarter of the commit phase for the image (2a8719e), then the rule decides
    assert all("for an image" in line for line in log), log
    world.chain.mine(committee.committee().params().commit_blocks // 4)
    log = [line for d in duties for line in d.step()]
    assert _votes(duties, key) == [False] * 5, log
    assert duties[0]._opened(item) == detail
    assert bytes(batches.opened_item(squat, item)["detail"]) == detail
    assert capped and max(to - frm + 1 for frm, to in capped) <= CAP, capped


def test_batch_registry_reads_on_a_capped_node(committee, unrelated, capped):
    """A batch's ``BatchRegistered`` and the latest of several logs, newest first."""
    world = committee.world
    squatter, victim = unrelated
    committee.enroll(5)
    _, item, _, _, _ = _squatted(committee, squatter, victim)
    batches = BatchRegistryClient(world.deployment)
    batch_id = item >> 32
    assert int(batches.registered(batch_id)["batchId"]) == batch_id
    start = world.deployment.manifest.block
    contract = batches.contract
    everything = event_logs(contract, "BatchRegistered", start)
    assert [int(log["args"]["batchId"]) for log in everything][-1] == batch_id
    newest = latest_log(contract, "BatchRegistered", start)
    assert newest is not None and newest["blockNumber"] == everything[-1]["blockNumber"]
    assert latest_log(contract, "ItemOpened", start, argument_filters={"tokenId": item}) is None
    world.chain.mine(3 * CAP)  # the newest-first read walks back over empty chunks
    assert latest_log(contract, "BatchRegistered", start)["blockNumber"] == newest["blockNumber"]


def test_the_swap_clients_dispute_check_on_a_capped_node(committee, unrelated, capped):
    """``disputes_against`` (the swap client's check that no challenge is pending) read the
    ``ChallengeOpened`` logs from block 0 in one query; before: Web3RPCError on a capped node."""
    world = committee.world
    committee.enroll(5)
    squat, item, _, _, _ = _squatted(committee, *unrelated)
    batches = BatchRegistryClient(world.deployment)
    assert disputes_against(batches, item) == (DisputeState.OPEN,)
    assert disputes_against(batches, squat) == ()


def _narrow(capped: list[tuple[int, int]]) -> bool:
    """Every query the node answered spanned at most ``CAP`` blocks (and there were some)."""
    return bool(capped) and max(to - frm + 1 for frm, to in capped) <= CAP


def test_first_log_reads_forward_over_empty_chunks(committee, unrelated, capped):
    world = committee.world
    committee.enroll(5)
    _squatted(committee, *unrelated)
    contract = BatchRegistryClient(world.deployment).contract
    start = world.deployment.manifest.block
    everything = event_logs(contract, "BatchRegistered", start)
    world.chain.mine(3 * CAP)  # the oldest-first read walks on over empty chunks
    oldest = first_log(contract, "BatchRegistered", start)
    assert (oldest["blockNumber"], oldest["logIndex"]) == (
        everything[0]["blockNumber"],
        everything[0]["logIndex"],
    )
    last = int(everything[-1]["blockNumber"])
    assert first_log(contract, "BatchRegistered", last)["blockNumber"] == last
    assert first_log(contract, "BatchRegistered", last + 1) is None
    assert first_log(contract, "ItemOpened", start) is None
    assert _narrow(capped), capped


def test_a_revealed_preimage_is_read_on_a_capped_node(embedded_world, capped):
    """The seller's (or ESP's) secret, published by the withdrawal of its lock well after the
    lock, read by the other party well after that. Before: one ``Withdrawn`` query from the
    lock's block to the head, refused (Web3RPCError): the party never learnt the secret."""
    world = embedded_world
    lock, preimage = lock_fee(world)
    idle, _ = lock_fee(world)
    world.chain.mine(2 * CAP)
    world.htlc(world.esp).withdraw(lock, preimage)
    world.chain.mine(3 * CAP)
    htlc = world.htlc(world.producer)
    made = htlc.lock_info(lock.id)[1]
    assert world.chain.w3.eth.block_number - made > 4 * CAP
    assert htlc.revealed_preimage(lock) == preimage
    assert htlc.revealed_preimage(lock, from_block=made) == preimage
    assert htlc.revealed_preimage(idle) is None  # never withdrawn: read up to the head
    assert _narrow(capped), capped
    queries = len(capped)
    never = dataclasses.replace(idle, hashlock=b"\x07" * 32)  # no such lock: nothing to read
    assert htlc.lock_info(never.id)[1] == 0 and htlc.revealed_preimage(never) is None
    assert len(capped) == queries


def test_the_reveal_views_used_lock_is_read_on_a_capped_node(embedded_world, capped):
    """A lock whose batch registered a few chunks after it reads used; a paid lock no batch
    named does not. Before: one ``BatchRegistered`` query from the lock's block to the head,
    refused (Web3RPCError): the ESP's worker could not answer a batch request."""
    world = embedded_world
    register_esp(world)
    producer, esp = world.producer, world.esp
    batches = BatchRegistryClient(world.deployment)
    fresh, used = paid_lock(world, producer, esp), paid_lock(world, producer, esp)
    made = {x.id: world.htlc(producer).lock_info(x.id)[1] for x in (fresh, used)}
    world.chain.mine(2 * CAP)
    batch_kit.register_batch(world, producer, lock=used, esp=esp)
    world.chain.mine(2 * CAP)
    assert world.chain.w3.eth.block_number - made[used.id] > 4 * CAP
    view = reveal_view(batches, producer.address)
    assert view.lock_used(used.id, made[used.id])
    assert not view.lock_used(fresh.id, made[fresh.id])
    assert getattr(view.refusal(used.id, made[used.id]), "code", None) == "lock_used"
    assert view.refusal(fresh.id, made[fresh.id]) is None  # still inside its window
    assert _narrow(capped), capped


def test_feedback_interactions_are_read_on_a_capped_node(embedded_world, capped):
    """``interactions_from_events`` (the off-chain reputation engine's evidence), all of it in
    chain order, and up to a block. Before: one query from block 0 to the head, refused."""
    from tests.contracts.test_reputation_view import interact

    world = embedded_world
    register_esp(world)
    producer, esp = world.producer, world.esp
    interact(world, producer, esp, "positive", 10**15)
    world.chain.mine(2 * CAP)
    interact(world, producer, esp, "negative", 2 * 10**15)
    first_two = int(world.chain.w3.eth.block_number)
    world.chain.mine(2 * CAP)
    interact(world, producer, esp, "positive", 3 * 10**15)
    world.chain.mine(2 * CAP)
    registry = world.deployment.esp_registry
    records = interactions_from_events(registry)
    assert [(r.producer, r.esp, r.positive) for r in records] == [
        (producer.address, esp.address, True),
        (producer.address, esp.address, False),
        (producer.address, esp.address, True),
    ]
    assert [r.time for r in records] == sorted(r.time for r in records)
    assert interactions_from_events(registry, to_block="latest") == records
    assert interactions_from_events(registry, to_block=first_two) == records[:2]
    assert _narrow(capped), capped


def test_the_defenders_chain_accusations_on_a_capped_node(embedded_world, capped):
    """The defender's ``ChallengeOpened`` scan (the chain source, ``aigc defend`` without an
    API): the producer finds the challenge of its token. Before: the scan's fixed 5,000-block
    chunks were refused (Web3RPCError) on every pass, and the token was never defended."""
    from tests.api.test_defend import squatted

    world = embedded_world
    squat, victim = squatted(world)
    world.chain.mine(2 * CAP)
    world.registry(world.attacker).challenge(squat, victim)
    world.chain.mine(2 * CAP)
    registry = world.registry(world.producer)
    head = int(world.chain.w3.eth.block_number)
    assert head - world.deployment.manifest.block > 4 * CAP
    found, cursor, notes = ChainAccusations(registry, world.producer.address).poll(0)
    assert [(a.original, a.duplicate) for a in found] == [(squat, victim)]
    assert cursor == head + 1 and notes == []
    attacker = world.registry(world.attacker)
    assert ChainAccusations(attacker, world.attacker.address).poll(0)[0] == []
    assert ChainAccusations(registry, world.producer.address).poll(cursor)[0] == []
    assert _narrow(capped), capped


def test_the_indexer_halves_its_batches_on_a_capped_node(embedded_world, capped, tmp_path):
    """The indexer's 500-block batches, refused by a node with a smaller cap: each batch is
    halved until the node answers, and the smaller size kept. Before: every poll raised the
    node's refusal and the market's index never moved past the deployment."""
    from sqlalchemy import create_engine

    from ledger.indexer import Indexer

    world = embedded_world
    register_esp(world)
    lock, _ = lock_fee(world)
    world.chain.mine(4 * CAP)
    indexer = Indexer(world.deployment, create_engine(f"sqlite:///{tmp_path / 'index.db'}"))
    result = indexer.poll()
    head = int(world.chain.w3.eth.block_number)
    assert head - world.deployment.manifest.block > 4 * CAP
    assert (result.to_block, indexer.checkpoint()[0]) == (head, head)
    assert result.events >= 2 and indexer.batch_blocks <= CAP
    locked = indexer.events("Locked")
    assert [e.args["id"] for e in locked] == ["0x" + lock.id.hex()]
    assert len(indexer.events("EspRegistered")) == 1
    assert _narrow(capped), capped


def test_the_indexer_on_a_capped_json_rpc_node(world, monkeypatch, tmp_path):
    """The same on the suite's default backend (anvil: the indexer's raw JSON-RPC read, whose
    error answer it raised as IndexerError on every poll before)."""
    from sqlalchemy import create_engine

    from ledger.indexer import Indexer

    register_esp(world)
    lock, _ = lock_fee(world)
    world.chain.mine(4 * CAP)
    capped = _cap(world.chain, monkeypatch)
    indexer = Indexer(world.deployment, create_engine(f"sqlite:///{tmp_path / 'index.db'}"))
    indexer.poll()
    head = int(world.chain.w3.eth.block_number)
    assert indexer.checkpoint()[0] == head and indexer.batch_blocks <= CAP
    assert [e.args["id"] for e in indexer.events("Locked")] == ["0x" + lock.id.hex()]
    assert len(indexer.events("EspRegistered")) == 1
    assert _narrow(capped), capped
