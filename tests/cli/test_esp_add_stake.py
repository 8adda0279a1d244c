"""`aigc esp add-stake AMOUNT`: an ESP tops up its stake, and one a slash took out of service
comes back once at the minimum; a deregistered ESP is refused with the contract's error, and an
amount above the balance or past the Registry's 128-bit stake fails cleanly before the chain
(``services/esp_stake.py``). On each chain backend."""

from __future__ import annotations

from typer.testing import CliRunner

from aigc_cli.main import app
from tests.contracts.helpers import ESP_STAKE, register_esp
from tests.contracts.test_esp_add_stake import EXTRA, _slashed_out

runner = CliRunner()


class _Out:
    """A CLI run's exit code and its output with Rich's line wrapping undone."""

    def __init__(self, amount: int):
        result = runner.invoke(app, ["esp", "add-stake", str(amount), "--dev-account", "2"])
        self.exit_code = result.exit_code
        self.output = " ".join(result.output.split())


def _add(amount: int) -> _Out:
    return _Out(amount)


def _connect(world, monkeypatch):
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: world.deployment)
    assert world.chain.dev_accounts()[2].address == world.esp.address


def test_a_top_up_and_a_return_to_service(world, monkeypatch):
    _connect(world, monkeypatch)
    _slashed_out(world)  # EXTRA left: out of service
    short = _add(ESP_STAKE - EXTRA - 1)
    assert short.exit_code != 0 and "EspStakeTooLow" in short.output, short.output
    back = _add(ESP_STAKE - EXTRA)
    assert back.exit_code == 0, back.output
    assert f"stake {ESP_STAKE} wei, serving" in back.output
    more = _add(EXTRA)
    assert more.exit_code == 0 and f"stake {ESP_STAKE + EXTRA} wei" in more.output


def test_an_exiting_esp_and_bad_amounts_fail_cleanly(world, monkeypatch):
    _connect(world, monkeypatch)
    register_esp(world)
    balance = world.chain.w3.eth.get_balance(world.esp.address)
    poor = _add(balance + 1)
    assert poor.exit_code != 0 and "insufficient_funds" in poor.output, poor.output
    wraps = _add(2**128 - ESP_STAKE)
    assert wraps.exit_code != 0 and "stake_too_large" in wraps.output, wraps.output
    assert _add(0).exit_code != 0
    world.esps(world.esp).deregister()
    exiting = _add(ESP_STAKE)
    assert exiting.exit_code != 0 and "EspNotRegistered" in exiting.output, exiting.output
    assert "Traceback" not in exiting.output
    assert world.esps(world.buyer).esp_info(world.esp.address).stake == ESP_STAKE
