"""The defender's transitions (services/provenance/defender.py ``plan``), and what it does with
notifications it cannot trust: the chain decides every move, so a forged or garbled
notification makes it pay nothing and does not stop it."""

from __future__ import annotations

import pytest

from ledger.clients.registry import Dispute, DisputeState
from services.provenance.defender import ApiAccusations, DefenceCost, Defender, Plan, plan

ME, OTHER = "0x" + "aa" * 20, "0x" + "bb" * 20


def _dispute(state: DisputeState, *, deadline: int = 100, contester: str = "0x" + "00" * 20):
    return Dispute(1, 2, OTHER, deadline, state, contester)


@pytest.mark.parametrize(
    ("state", "head", "rejects", "expected"),
    [
        (DisputeState.OPEN, 50, True, Plan.CONTEST),
        (DisputeState.OPEN, 50, False, Plan.CONCEDE),
        (DisputeState.OPEN, 50, None, Plan.UNJUDGED),
        (DisputeState.OPEN, 99, True, Plan.CONTEST),  # mined at 100: the last block allowed
        (DisputeState.OPEN, 100, True, Plan.LATE),  # mined at 101: the contract refuses it
        (DisputeState.UPHELD, 50, True, Plan.DONE),
        (DisputeState.REJECTED, 50, True, Plan.DONE),
        (DisputeState.VOID, 50, True, Plan.DONE),
        (DisputeState.SETTLED, 50, True, Plan.DONE),  # the held win paid out
        (DisputeState.REVERSED, 50, True, Plan.DONE),  # the challenger's token fell meanwhile
        (DisputeState.NONE, 50, True, Plan.DONE),  # never opened (a stale or forged note)
    ],
)
def test_the_move_follows_the_chains_state(state, head, rejects, expected):
    assert plan(_dispute(state), me=ME, accused=ME, head=head, rejects=rejects) is expected


def test_a_contested_dispute_is_resolved_only_by_its_contester():
    mine = _dispute(DisputeState.CONTESTED, contester=ME.upper().replace("0X", "0x"))
    assert plan(mine, me=ME, accused=ME, head=500, rejects=None) is Plan.RESOLVE
    theirs = _dispute(DisputeState.CONTESTED, contester=OTHER)
    assert plan(theirs, me=ME, accused=ME, head=50, rejects=True) is Plan.WAIT


def test_someone_elses_token_is_never_contested():
    assert plan(_dispute(DisputeState.OPEN), me=ME, accused=OTHER, head=5, rejects=True) is (
        Plan.NOT_OURS
    )


class _ForgedApi:
    """An API that lies: notifications of challenges that do not exist, of someone else's
    dispute, and garbage."""

    def __init__(self, items):
        self.items = items

    def get(self, path, **params):
        assert path == "/v1/notifications"
        return {"items": self.items}


def test_forged_and_garbled_notifications_cost_the_defender_nothing(embedded_world, tmp_path):
    world = embedded_world
    items = [
        {"id": 1, "kind": "challenge_opened", "original": "5", "duplicate": "7", "deadline": "9"},
        {"id": 2, "kind": "challenge_opened", "original": "x"},
        {"id": 4, "kind": "challenge_opened", "original": 1, "duplicate": 2**256, "deadline": 3},
        {"id": 3, "kind": "challenge_opened", "original": 1, "duplicate": 2, "deadline": 3,
         "prepared_contest": {"endpoint": "/v1/tx/elsewhere/contest"}},
        {"id": "four"},
    ]  # fmt: skip
    registry = world.registry(world.producer)
    defender = Defender(
        registry, ApiAccusations(_ForgedApi(items)), state_path=tmp_path / "state.json"
    )
    sent = world.chain.w3.eth.get_transaction_count(world.producer.address)
    log = defender.step()
    assert world.chain.w3.eth.get_transaction_count(world.producer.address) == sent
    assert sum("unreadable notification skipped" in line for line in log) == 2
    assert any("not defended here" in line for line in log)  # an unknown contract: reported
    assert any("no such challenge on chain" in line for line in log)
    assert defender.state.cursor == 4
    assert defender.step() == []  # read once


def test_only_if_profitable_waits_for_cheaper_gas_within_the_window(embedded_world, tmp_path):
    """At 20 gwei a defence (~2.21M gas) costs more than the 0.01 ETH deposit it wins: told
    --only-if-profitable, the defender does not contest, and looks again each pass; when the
    price falls before the deadline it contests and resolves."""
    from services.provenance.defender import ChainAccusations, DefenceCost
    from tests.api.test_defend import squatted

    world = embedded_world
    squat, victim = squatted(world)
    world.registry(world.attacker).challenge(squat, victim)
    registry = world.registry(world.producer)
    defender = Defender(
        registry,
        ChainAccusations(registry, world.producer.address),
        state_path=tmp_path / "state.json",
        profitable_only=True,
    )
    deposit = registry.params().challenge_deposit
    defender.cost = lambda gas: DefenceCost(deposit, 20 * 10**9, gas)  # type: ignore[method-assign]
    sent = world.chain.w3.eth.get_transaction_count(world.producer.address)
    log = defender.step()
    assert any("not contested (--only-if-profitable)" in line for line in log)
    assert world.chain.w3.eth.get_transaction_count(world.producer.address) == sent
    assert defender.step() == []  # said once, still watched
    defender.cost = lambda gas: DefenceCost(deposit, 10**9, gas)  # type: ignore[method-assign]
    log = defender.step()
    assert any("decided: rejected, the token stays" in line for line in log)
    assert registry.dispute(squat, victim).state is DisputeState.REJECTED


def test_a_token_listed_in_the_swap_escrow_is_defended_by_its_producer(embedded_world, tmp_path):
    """While the token sits in the hash-time-lock escrow (listed for a buyer), the contract lets
    its producer contest: the defender finds it the accused and defends it."""
    from services.provenance.defender import ChainAccusations
    from tests.api.test_defend import squatted
    from tests.contracts.test_attacks_challenge import _escrow

    world = embedded_world
    squat, victim = squatted(world)
    _escrow(world, victim, world.producer)
    registry = world.registry(world.producer)
    assert registry.owner_of(victim) == world.deployment.htlc.address
    world.registry(world.attacker).challenge(squat, victim)
    defender = Defender(
        registry,
        ChainAccusations(registry, world.producer.address),
        state_path=tmp_path / "state.json",
    )
    log = defender.step()
    assert any("decided: rejected, the token stays" in line for line in log)
    assert registry.dispute(squat, victim).state is DisputeState.REJECTED


def test_the_forums_price_a_defence_with_the_gas_snapshots_figures():
    """What the defender compares with the deposit it wins: `registry_contest` and
    `registry_resolve` (tests/contracts/gas_snapshot.json), `court_finalize` and
    `batch_finalize` (gas_batch_snapshot.json). The court's and the batch path's had drifted
    (114,111 and 64,813) once their wins were held until `settle`."""
    import json
    from pathlib import Path

    from services.provenance._forums import (
        BATCH_FINALIZE_GAS,
        CONTEST_GAS,
        COURT_FINALIZE_GAS,
        RESOLVE_GAS,
        BatchForum,
        CourtForum,
    )

    snapshots = Path(__file__).parents[2] / "contracts"
    single = json.loads((snapshots / "gas_snapshot.json").read_text())
    batch = json.loads((snapshots / "gas_batch_snapshot.json").read_text())
    assert (single["registry_contest"], single["registry_resolve"]) == (CONTEST_GAS, RESOLVE_GAS)
    assert batch["court_finalize"] == COURT_FINALIZE_GAS
    assert batch["batch_finalize"] == BATCH_FINALIZE_GAS
    assert CourtForum.gas == CONTEST_GAS + COURT_FINALIZE_GAS
    assert BatchForum.gas == CONTEST_GAS + BATCH_FINALIZE_GAS


def test_a_committee_review_fee_counts_in_a_defences_cost() -> None:
    cost = DefenceCost(10**16, 10**9, 100_000, review_fee=10**16)
    assert cost.cost == 100_000 * 10**9 + 10**16 and cost.net == -(10**14)
    assert "and a 0.0100 ETH review fee" in cost.describe()
    assert "review fee" not in DefenceCost(10**16, 10**9, 100_000).describe()
