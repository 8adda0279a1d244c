"""`aigc devnet|deploy|account|bench gas|contracts` as a user runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aigc_cli.main import app
from ledger.config import get_settings
from ledger.devnet import free_port
from tests.conftest import require_anvil

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AIGC_DEVNET_PORT", str(free_port()))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.anvil
def test_devnet_up_deploys_persists_and_comes_back(data_dir, monkeypatch):
    require_anvil()
    result = runner.invoke(app, ["devnet", "up"])
    try:
        assert result.exit_code == 0, result.output
        assert "deployed" in result.output
        manifests = list((data_dir / "deployments").glob("*.json"))
        assert len(manifests) == 1
        manifest = json.loads(manifests[0].read_text())
        assert manifest["chain_id"] == 31337 and manifest["backend"] == "anvil"
        status = runner.invoke(app, ["devnet", "status"])
        assert status.exit_code == 0 and "block" in status.output
        again = runner.invoke(app, ["devnet", "up"])
        assert "already running" in again.output and "already deployed" in again.output
    finally:
        down = runner.invoke(app, ["devnet", "down"])
    assert down.exit_code == 0 and "stopped" in down.output
    # restart from the state file: the same deployment is still there
    result = runner.invoke(app, ["devnet", "up"])
    try:
        assert result.exit_code == 0, result.output
        assert "already deployed" in result.output
        monkeypatch.setenv("AIGC_CHAIN", "devnet")
        get_settings.cache_clear()
        deployed = runner.invoke(app, ["deploy"])
        assert deployed.exit_code == 0, deployed.output
    finally:
        runner.invoke(app, ["devnet", "down"])


def test_devnet_status_without_devnet_is_a_clean_error(data_dir):
    result = runner.invoke(app, ["devnet", "status"])
    assert result.exit_code == 1 and "no devnet is running" in result.output
    assert "Traceback" not in result.output


def test_deploy_on_the_embedded_chain_explains_why_not(data_dir):
    result = runner.invoke(app, ["deploy"])
    assert result.exit_code == 1 and "ephemeral" in result.output


def test_account_new_and_list(data_dir):
    result = runner.invoke(app, ["account", "new", "--password", "correct horse battery"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["account", "list"])
    assert "keystore" in listing.output and "dev (public key!)" in listing.output
    short = runner.invoke(app, ["account", "new", "--password", "short"])
    assert short.exit_code == 1 and "at least 8" in short.output


def test_bench_gas_json_has_the_required_keys(monkeypatch):
    """The command's plumbing, with the single-image paths measured for real. The batch rows
    (a 1,000-image batch on py-evm: minutes) come from their committed snapshot here; they are
    measured and checked against it by tests/contracts/test_batch_settlement.py."""
    from pathlib import Path

    import ledger.gas_batch

    snapshot = Path(__file__).parents[1] / "contracts" / "gas_batch_snapshot.json"
    batch_rows = json.loads(snapshot.read_text())
    monkeypatch.setattr(ledger.gas_batch, "measure_batches", lambda chain, accounts: batch_rows)
    result = runner.invoke(app, ["bench", "gas", "--json"])
    assert result.exit_code == 0, result.output
    gas = json.loads(result.output.strip().splitlines()[-1])
    assert {k: gas[k] for k in batch_rows} == batch_rows
    for key in (
        "htlc_lock_eth",
        "htlc_withdraw",
        "htlc_refund",
        "htlc_lock_erc721",
        "registry_commit",
        "registry_reveal",
        "registry_challenge",
        "feedback_submit",
    ):
        assert isinstance(gas[key], int) and gas[key] > 21_000
