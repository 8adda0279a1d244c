"""`aigc defend --once` on the embedded chain: the squatter's challenge of an unrelated token is
contested and resolved from the command line (the chain's logs alone tell it), a second run does
nothing, and a damaged state file is refused cleanly. The flow through the API, the real copy
and the restart are tests/api/test_defend.py."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aigc_cli.main import app
from ledger import TokenStatus
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import DisputeState
from services.provenance.defender import CONTEST_GAS, RESOLVE_GAS, DefenceCost
from tests.api.test_defend import squatted
from tests.api.test_defend_batch import squatted_item

runner = CliRunner()


def _defend(state, *extra):
    """Runs the command; returns its exit code and its output with rich's line wrapping undone."""
    args = ["defend", "--dev-account", "1", "--once", "--state", str(state), *extra]
    out = runner.invoke(app, args)
    return out.exit_code, " ".join(out.output.split())


def test_defend_once_contests_and_resolves_a_squatters_challenge(
    embedded_world, tmp_path, monkeypatch
):
    world = embedded_world
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: world.deployment)
    squat, victim = squatted(world)
    world.registry(world.attacker).challenge(squat, victim)
    state = tmp_path / "defend.json"
    code, out = _defend(state)
    assert code == 0, out
    assert "the detail rule rejects the pair" in out
    assert "decided: rejected, the token stays" in out
    registry = world.registry(world.producer)
    assert registry.dispute(squat, victim).state is DisputeState.REJECTED
    assert registry.record(victim).status is TokenStatus.ACTIVE
    sent = world.chain.w3.eth.get_transaction_count(world.producer.address)
    code, again = _defend(state)
    assert code == 0 and "contested" not in again
    assert world.chain.w3.eth.get_transaction_count(world.producer.address) == sent


def test_a_damaged_state_file_is_refused_without_a_traceback(embedded_world, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "ledger.connect.connect_deployment", lambda _settings: embedded_world.deployment
    )
    state = tmp_path / "defend.json"
    state.write_text('{"cursor": "x"}')
    code, out = _defend(state)
    assert code == 1
    assert "not a defender state file" in out
    assert "Traceback" not in out


def test_a_defence_costs_more_than_the_deposit_above_about_4_5_gwei():
    """Contest + resolve (~2.21M gas) against the 0.01 ETH deposit won: a gain at 1 gwei, a
    loss at 20 gwei (the defender still defends unless told --only-if-profitable)."""
    deposit = 10**16
    assert DefenceCost(deposit, 10**9).net == deposit - (CONTEST_GAS + RESOLVE_GAS) * 10**9 > 0
    assert DefenceCost(deposit, 20 * 10**9).net < 0
    assert 4.5e9 < deposit / (CONTEST_GAS + RESOLVE_GAS) < 4.6e9


def test_defend_opens_a_challenged_batch_item_from_the_owners_manifest_file(
    embedded_world, tmp_path, monkeypatch
):
    """No API: the chain's logs find the challenge of the owner's batch item, and the manifest
    `aigc register --batch` wrote opens it for the contest."""
    world = embedded_world
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: world.deployment)
    squat, item, manifest = squatted_item(world)
    state = tmp_path / "defend.json"
    code, out = _defend(state)  # without the manifest the item cannot be opened
    assert code == 0 and "not published" in out
    batches = BatchRegistryClient(world.deployment)
    assert batches.dispute(squat, item).state is DisputeState.OPEN
    path = tmp_path / "batch-manifest.json"
    path.write_text(json.dumps(manifest.to_json()))
    code, out = _defend(state, "--manifest", str(path))
    assert code == 0, out
    assert "the detail rule rejects the pair" in out and "contested" in out
    assert batches.dispute(squat, item).state is DisputeState.CONTESTED
    path.write_text("{}")
    code, out = _defend(state, "--manifest", str(path))
    assert code == 1 and "not a batch manifest" in out
