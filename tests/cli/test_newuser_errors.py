"""A new user's mistakes with `aigc` end in one clear line on stderr and exit code 1, never a
traceback: a bad setting, a dev account that does not exist, an unreachable or refusing
marketplace API, a malformed ESP address, a file that is not a generation record.

Each case printed a Python traceback before (pydantic's ValidationError, IndexError, httpx's
ConnectError, MarketError, UnicodeDecodeError)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from aigc_cli.main import app
from ledger import accounts as ledger_accounts
from ledger.devnet import free_port
from services.market_client import MarketError

runner = CliRunner()
ESP = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
REGISTER = ["register", "--batch", "shots", "--dev-account", "1"]


def _clean_failure(result, *expected: str) -> str:
    """The command exited 1 on its own (no exception escaped) with every ``expected`` piece in
    its output, and no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    flat = result.output.replace("\n", "")  # the console wraps long lines (a long tmp path)
    for piece in expected:
        assert piece in flat, result.output
    return str(result.output)


@pytest.fixture
def fake_deployment(monkeypatch):
    """A deployment whose chain only lists the public dev accounts: what these commands read
    before they touch the chain."""
    deployment = SimpleNamespace(chain=SimpleNamespace(dev_accounts=ledger_accounts.dev_accounts))
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: deployment)
    return deployment


@pytest.fixture
def shots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "shots"
    folder.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / "x.png")
    return folder


def test_a_bad_setting_is_named(monkeypatch):
    from ledger.config import get_settings

    monkeypatch.setenv("AIGC_CHAIN", "bogus")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["devnet", "status"])
    finally:
        get_settings.cache_clear()
    _clean_failure(result, "AIGC_CHAIN")


@pytest.mark.parametrize(
    "command",
    [
        ["register", "--batch", "shots", "--dev-account", "99"],
        ["esp", "run", "--dev-account", "99"],
        ["defend", "--dev-account", "99", "--once"],
    ],
)
def test_a_dev_account_out_of_range(fake_deployment, shots, command):
    _clean_failure(runner.invoke(app, command), "--dev-account 99")


def test_register_with_an_unreachable_api(fake_deployment, shots):
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    result = runner.invoke(
        app, ["register", "--batch", "shots", "--dev-account", "1", "--api", api, "--esp", ESP]
    )
    _clean_failure(result, api)


def test_register_with_a_malformed_esp_address(fake_deployment, shots):
    result = runner.invoke(
        app,
        [*REGISTER, "--api", "http://127.0.0.1:8000", "--esp", "0x3C44..."],
    )
    _clean_failure(result, "--esp", "0x3C44...")


def test_register_when_the_api_refuses(fake_deployment, shots, monkeypatch):
    class Refusing:
        def post(self, path, json=None):
            raise MarketError(409, "not_delivered", f"1 images asked, 0 delivered by {ESP}")

    monkeypatch.setattr("aigc_cli.batch_cmds._market", lambda api, account: Refusing())
    result = runner.invoke(
        app,
        [*REGISTER, "--api", "http://127.0.0.1:8000", "--esp", ESP],
    )
    _clean_failure(result, "not_delivered")


def test_esp_run_with_an_unreachable_api(embedded_world, tmp_path, monkeypatch):
    """Counted rounds end at an API that does not answer (run until stopped, the worker waits
    for it: test_esp_run_outlives_an_api_restart)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "ledger.connect.connect_deployment", lambda _settings: embedded_world.deployment
    )
    api = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["esp", "run", "--dev-account", "2", "--api", api, "--rounds", "1"])
    _clean_failure(result, api)


def test_verify_generation_of_a_file_that_is_no_record(tmp_path):
    image = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(image)
    _clean_failure(runner.invoke(app, ["verify-generation", str(image)]), "x.png")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"prompt": "a red circle"}))
    _clean_failure(runner.invoke(app, ["verify-generation", str(wrong)]), "wrong.json")


@pytest.mark.parametrize(
    "command",
    [
        ["esp", "run", "--dev-account", "4", "--price", "-1"],
        ["esp", "run", "--dev-account", "4", "--stake", "-1"],
        ["esp", "run", "--dev-account", "4", "--interval", "0"],
        ["serve", "--port", "99999"],
    ],
)
def test_a_bad_number_is_a_usage_error(fake_deployment, command):
    """Refused by the option's range before anything runs (before: web3's validation
    traceback for a negative price, uvicorn's OverflowError for the port, a busy loop for a
    zero interval)."""
    result = runner.invoke(app, command)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert command[-2] in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["register", "--batch", "shots"],
        ["esp", "run"],
        ["defend", "--once"],
    ],
)
def test_a_file_that_is_no_keystore(fake_deployment, shots, command):
    (shots.parent / "notkeystore.json").write_text("{}")
    result = runner.invoke(app, [*command, "--keystore", "notkeystore.json", "--password", "x"])
    _clean_failure(result, "notkeystore.json", "not an encrypted keystore")


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_a_device_this_torch_cannot_use(tmp_path, device):
    """On a CPU-only torch (this machine, CI), a well-formed --device that torch cannot use was
    torch's AssertionError / RuntimeError traceback."""
    from generators.registry import get_generator

    try:
        get_generator("bundled", device=device)
    except Exception:
        pass
    else:
        pytest.skip(f"this torch runs on {device}")
    result = runner.invoke(
        app, ["generate", "hi", "-o", str(tmp_path / "x.png"), "--device", device]
    )
    _clean_failure(result, device)


@pytest.mark.parametrize(
    ("variable", "value"), [("AIGC_GENERATOR", "foo"), ("AIGC_GENERATOR_DEVICE", "cuda")]
)
def test_esp_run_with_a_generator_it_cannot_load(
    embedded_world, tmp_path, monkeypatch, variable, value
):
    """Checked before the ESP registers (and stakes): before, `aigc esp run` registered, then
    died with a traceback (GeneratorError, or torch's AssertionError on the CPU wheel)."""
    from generators import get_settings
    from ledger import EspRegistryClient

    if value == "cuda":
        try:
            from generators.registry import get_generator

            get_generator("bundled", device="cuda")
        except Exception:
            pass
        else:
            pytest.skip("this torch runs on cuda")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    monkeypatch.setattr(
        "ledger.connect.connect_deployment", lambda _settings: embedded_world.deployment
    )
    try:
        result = runner.invoke(app, ["esp", "run", "--dev-account", "7", "--rounds", "1"])
    finally:
        get_settings.cache_clear()
    _clean_failure(result, value)
    address = embedded_world.deployment.chain.dev_accounts()[7].address
    assert not EspRegistryClient(embedded_world.deployment).is_active(address)


def test_esp_run_outlives_an_api_restart(embedded_world, tmp_path, monkeypatch):
    """`aigc esp run` in the background while its API restarts: before, the worker's first
    round that met the closed port ended the process with httpx's ConnectError traceback (the
    worker retries only the API's and the chain's errors); now it says so and keeps serving."""
    import httpx

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "ledger.connect.connect_deployment", lambda _settings: embedded_world.deployment
    )
    monkeypatch.setattr("aigc_cli.market_cmds.API_RETRY_S", 0.0, raising=False)
    calls = []

    def run(self, stop, interval):
        calls.append(interval)
        if len(calls) == 1:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        raise KeyboardInterrupt  # Ctrl-C: the usual way out

    monkeypatch.setattr("services.esp_worker.EspWorker.run", run)
    result = runner.invoke(app, ["esp", "run", "--dev-account", "2"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert len(calls) == 2
    assert "does not answer" in result.output
    assert "Traceback" not in result.output


def test_esp_run_with_a_state_file_that_is_not_one(embedded_world, tmp_path, monkeypatch):
    """Before: json.JSONDecodeError's traceback (after the ESP had registered)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "ledger.connect.connect_deployment", lambda _settings: embedded_world.deployment
    )
    (tmp_path / "bad.txt").write_text("not json")
    result = runner.invoke(
        app, ["esp", "run", "--dev-account", "2", "--rounds", "1", "--state", "bad.txt"]
    )
    _clean_failure(result, "bad.txt", "not an ESP state file")


def test_defend_with_an_images_folder_that_does_not_exist(fake_deployment, shots):
    """Before: accepted without a word, and the committee's vote predicted from nothing."""
    result = runner.invoke(app, ["defend", "--dev-account", "1", "--once", "--images", "nothere"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "nothere" in result.output and "Traceback" not in result.output
