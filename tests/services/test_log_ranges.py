"""Log reads against a node that caps the blocks one ``eth_getLogs`` may span (ledger/logs.py).

The attack: a real node refuses a log query wider than its cap (10,000 blocks at many providers,
fewer at some). The juror read a batch item's ``ItemOpened`` (its contested descriptor) and the
BatchRegistry client its ``ChallengeContested``/``BatchRegistered`` in one query from the
deployment block to the head, and the juror its committee's events in 5,000-block chunks: once
the chain was longer than the cap the juror failed on every pass and the item's descriptor was
never found. Here the cap is a few blocks, so the committee world's chain is already too long.
"""

from __future__ import annotations

from typing import Any

import pytest
from web3.exceptions import Web3RPCError

from ledger.chain import Chain
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState
from ledger.logs import chunked, event_logs, latest_log
from services.exchange.collection import disputes_against
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.services.test_juror_batch import _duties, _png, _source, _squatted, _votes, unrelated

__all__ = ["unrelated"]  # the module fixture, shared with test_juror_batch

CAP = 6  # blocks one eth_getLogs may span here


def _block(value: Any, chain: Chain) -> int:
    if value is None or value in ("latest", "pending", "safe", "finalized"):
        return int(chain.w3.eth.block_number)
    if value == "earliest":
        return 0
    return int(value, 16) if isinstance(value, str) else int(value)


@pytest.fixture
def capped(embedded_chain, monkeypatch) -> list[tuple[int, int]]:
    """The embedded chain's provider answers an ``eth_getLogs`` wider than ``CAP`` blocks with a
    node's error (as a JSON-RPC node does); returns the (from, to) of every query it answered."""
    provider = embedded_chain.w3.provider
    make_request = provider.make_request
    answered: list[tuple[int, int]] = []

    def capped_request(method: Any, params: Any) -> Any:
        if method == "eth_getLogs":
            query = params[0]
            # a node's camelCase keys; web3 hands eth-tester snake_case ones
            frm = _block(query.get("fromBlock", query.get("from_block")), embedded_chain)
            to = _block(query.get("toBlock", query.get("to_block")), embedded_chain)
            if to - frm + 1 > CAP:
                error = {"code": -32005, "message": f"block range exceeds {CAP} blocks"}
                return {"jsonrpc": "2.0", "id": 0, "error": error}
            answered.append((frm, to))
        return make_request(method, params)

    monkeypatch.setattr(provider, "make_request", capped_request)
    monkeypatch.setattr(provider, "_request_func_cache", (None, None))  # web3 keeps the old one
    return answered


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
