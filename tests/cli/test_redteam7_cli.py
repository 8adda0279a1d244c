"""Red team 7 (CLI): every `aigc` command fed bad input ends in a clear error (a non-zero exit
code, the problem named on one line, no Python traceback), leaves nothing half-written and sends
no transaction the user did not mean.

The walk covers every command and sub-command of the Typer app (an unknown option, a required
argument left out, each numeric option given 'abc', '0x', '1e3' or ''); the cases after it are
the ones the walk found (or that need a chain, a file or a deployment to reach).

Before the fixes these ended in a traceback or in silent success: a path or an ESP's refusal
holding ``[/...]`` (rich's MarkupError while printing the error itself); `bench reputation
--queries 0` (IndexError) and `--updates -1` (ValueError); `bench load --workdir FILE`
(FileExistsError); `esp attest-batch` of a JSON list (AttributeError) or a binary file
(UnicodeDecodeError); `register --batch` whose attestation is a folder (IsADirectoryError) or
whose batch-commit.json is corrupt (JSONDecodeError); `simulate reputation --seeds 0` (exit 0,
the robustness check silently skipped); `index --rounds -1` (exit 0, nothing indexed); `devnet up
--port 0` (started anvil on the default port 8545); `bench provenance --threshold 100` (ran the
whole benchmark at a threshold no fingerprint reaches); `generate --record DIR` (the image
written, then the error); `esp run --stake 0` (registered with the minimum stake, 0.1 ETH by
default, that the user had not named) and `esp run --stake` above the balance or `--price
2**256` (web3's traceback)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from aigc_cli.main import app
from ledger import accounts as ledger_accounts
from ledger.devnet import free_port

runner = CliRunner()
HUGE = str(2**256)


def _clean(result, *pieces: str, code: int | None = None) -> None:
    """Exited non-zero on its own (no exception escaped), no traceback, and every piece named
    on one line of the output."""
    assert result.exit_code != 0, (result.output, result.exception)
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert any(all(p in line for p in pieces) for line in lines), result.output


def _error(result, *pieces: str) -> None:
    """A command's own error: exit 1 and one ``error:`` line naming every piece."""
    _clean(result, "error:", *pieces, code=1)


# -- the walk: every command ----------------------------------------------------------------------


def _leaves(command=None, path=()):
    command = command or typer.main.get_command(app)
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, command


LEAVES = dict(_leaves())
NUMERIC = [
    (path, p.opts[0], p.bare_type())
    for path, command in LEAVES.items()
    for p in command.params
    if p.opts and p.opts[0].startswith("--") and p.bare_type() in ("int", "float")
]


def test_the_walk_sees_every_command():
    assert len(LEAVES) >= 30
    for path in (("esp", "run"), ("court", "claim-misattested"), ("bench", "corpus", "build")):
        assert path in LEAVES
    assert len(NUMERIC) >= 60


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_an_unknown_option_is_a_usage_error(path):
    _clean(runner.invoke(app, [*path, "--no-such-option"]), "--no-such-option", code=2)


@pytest.mark.parametrize(
    "path",
    [
        p
        for p, c in LEAVES.items()
        if any(x.required and not getattr(x, "prompt", None) for x in c.params)
    ],
    ids=" ".join,
)
def test_a_missing_argument_is_a_usage_error(path):
    _clean(runner.invoke(app, list(path)), "Missing", code=2)


@pytest.mark.parametrize(("path", "option", "kind"), NUMERIC, ids=lambda v: str(v))
def test_a_number_that_is_not_one_is_a_usage_error(path, option, kind):
    for bad in ("abc", "0x", "") + (("1e3", "1.5") if kind == "int" else ("1e999x",)):
        result = runner.invoke(app, [*path, option, bad])
        _clean(result, code=2)
        assert "Invalid value" in result.output, (bad, result.output)


# -- rich markup in what the user typed ---------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["fingerprint", "[/]"],
        ["compare", "/tmp/[/x].png", "0x" + "00" * 32],
        ["verify-generation", "[/red]"],
    ],
)
def test_markup_in_a_path_is_printed_as_typed(tmp_path, monkeypatch, command):
    """Before: rich read the path as a closing tag and raised MarkupError printing the error."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, command)
    _clean(result, code=1)
    assert "[/" in result.output


def test_markup_in_an_image_name_is_printed_as_typed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    (tmp_path / "[").mkdir()  # "[/x].png" is the file "x].png" in the folder "["
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "[/x].png")
    result = runner.invoke(app, ["fingerprint", "[/x].png"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "[/x].png" in result.output


def test_an_error_is_one_line_however_long(tmp_path):
    long = tmp_path / ("d" * 300 + ".png")
    result = runner.invoke(app, ["fingerprint", str(long)])
    _error(result, str(long), "not a readable image")


# -- numbers a command accepted and then crashed or ignored --------------------------------------


@pytest.mark.parametrize(
    ("command", "piece"),
    [
        (["bench", "reputation", "--queries", "0"], "--queries"),
        (["bench", "reputation", "--updates", "-1"], "--updates"),
        (["bench", "reputation", "--updates", "0"], "--updates"),
        (["simulate", "reputation", "--seeds", "0"], "--seeds"),
        (["simulate", "reputation", "--seeds", "-1"], "--seeds"),
        (["index", "--rounds", "-1"], "--rounds"),
        (["devnet", "up", "--port", "0"], "--port"),
        (["devnet", "up", "--port", "70000"], "--port"),
        (["devnet", "up", "--port", HUGE], "--port"),
        (["bench", "provenance", "--threshold", "100"], "--threshold"),
        (["bench", "provenance", "--threshold", "-1"], "--threshold"),
        (["bench", "provenance", "--phash-threshold", "65"], "--phash-threshold"),
        (["bench", "provenance", "--evasion", "-1"], "--evasion"),
        (["bench", "search", "--corpus-queries", "0"], "--corpus-queries"),
        (["bench", "verdict", "--threshold", "-1"], "--threshold"),
        (["bench", "verdict", "--threshold", "65"], "--threshold"),
    ],
)
def test_a_number_out_of_range_is_refused_before_anything_runs(
    tmp_path, monkeypatch, command, piece
):
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "data"))

    def started(*_args, **_kwargs):
        raise AssertionError("anvil must not start")

    monkeypatch.setattr("ledger.devnet.start_anvil", started)
    result = runner.invoke(app, command)
    _clean(result, piece, code=2)


def test_bench_load_into_a_workdir_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(app, ["bench", "load", "--workdir", str(tmp_path / "afile")])
    _error(result, "--workdir", "afile")


def test_generate_refuses_a_record_path_before_writing_the_image(tmp_path):
    (tmp_path / "records").mkdir()
    out = tmp_path / "x.png"
    result = runner.invoke(
        app, ["generate", "a red circle", "-o", str(out), "--record", str(tmp_path / "records")]
    )
    _error(result, "--record")
    assert not out.exists()  # before: the image was written, then the record failed
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(
        app,
        ["generate", "a red circle", "-o", str(out), "--record", str(tmp_path / "afile/r.json")],
    )
    _error(result, "--record")
    assert not out.exists()


@pytest.mark.parametrize("kind", ["a folder with other files", "a file"])
def test_demo_deletes_nothing_it_did_not_write(tmp_path, monkeypatch, kind):
    """`aigc demo --out DIR` empties DIR first: before, whatever was there (`--out .`, a home
    folder) was deleted whole, and a file there was shutil's NotADirectoryError."""

    def no_model(*_args, **_kwargs):
        raise AssertionError("the demo must stop before loading its model")

    monkeypatch.setattr("generators.maker.image_maker", no_model)
    out = tmp_path / "out"
    if kind == "a file":
        out.write_text("keep me")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("keep me")
        (out / "summary.json").write_text("{}")
    result = runner.invoke(app, ["demo", "--out", str(out)])
    _error(result, "--out")
    kept = out if kind == "a file" else out / "notes.txt"
    assert kept.read_text() == "keep me"


def test_demo_runs_again_over_its_own_output(tmp_path, monkeypatch):
    from aigc_cli.demo_cmds import check_out

    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    for name in ("summary.json", "index.html", "reputation.png", "images/0x1.png"):
        (out / name).write_text("x")
    check_out(out)  # no exit: a previous demo's output is emptied as before


@pytest.mark.parametrize("host", ["", "  "])
def test_serve_on_an_empty_host_does_not_listen_everywhere(monkeypatch, host):
    """Before: uvicorn took --host '' for every interface and served the API there."""

    def served(*_args, **_kwargs):
        raise AssertionError("nothing may be served")

    monkeypatch.setattr("uvicorn.run", served)
    _error(runner.invoke(app, ["serve", "--host", host, "--port", str(free_port())]), "--host")


# -- files a command reads: not JSON, not text, not an object, a folder ---------------------------


@pytest.fixture
def fake_deployment(monkeypatch, tmp_path):
    """A deployment whose chain only lists the public dev accounts (what these commands read
    before they touch the chain)."""
    monkeypatch.chdir(tmp_path)
    chain = SimpleNamespace(dev_accounts=ledger_accounts.dev_accounts, chain_id=31337)
    deployment = SimpleNamespace(chain=chain)
    monkeypatch.setattr("ledger.connect.connect_deployment", lambda _settings: deployment)
    return deployment


BAD_JSON = {
    "list.json": b"[]",
    "number.json": b"7",
    "binary.json": b"\x89PNG\x00\xff",
    "broken.json": b"{",
}


@pytest.mark.parametrize("name", list(BAD_JSON))
def test_attest_batch_of_a_request_that_is_not_one(fake_deployment, tmp_path, name):
    (tmp_path / "state.json").write_text("{}")
    (tmp_path / name).write_bytes(BAD_JSON[name])
    result = runner.invoke(
        app, ["esp", "attest-batch", name, "--state", "state.json", "--dev-account", "2"]
    )
    _error(result, name)
    assert not (tmp_path / "batch-attestation.json").exists()


def _shots(tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / "x.png")
    return folder


@pytest.mark.parametrize("name", [*BAD_JSON, "folder"])
def test_register_with_an_attestation_that_is_not_one(fake_deployment, tmp_path, name):
    folder = _shots(tmp_path)
    if name == "folder":
        (folder / "batch-attestation.json").mkdir()
    else:
        (folder / "batch-attestation.json").write_bytes(BAD_JSON[name])
    result = runner.invoke(app, ["register", "--batch", "shots", "--dev-account", "1"])
    _error(result, "batch-attestation.json")
    assert not (folder / "batch-commit.json").exists()


# -- on a chain: what is sent -------------------------------------------------------------------


@pytest.fixture
def on_chain(embedded_world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "ledger.connect.connect_deployment", lambda _settings: embedded_world.deployment
    )
    return embedded_world


@pytest.mark.parametrize(
    ("options", "piece"),
    [
        (["--stake", "0"], "--stake"),
        (["--stake", "1"], "--stake"),
        (["--stake", HUGE], "--stake"),
        (["--stake", str(2**127)], "--stake"),  # fits the Registry's 128 bits, not the balance
        (["--price", HUGE], "--price"),
        (["--endpoint", ""], "--endpoint"),
        (["--endpoint", "x" * 5000], "--endpoint"),
        (["--api", "notaurl"], "--api"),  # before: registered (stake sent), then the URL failed
        (["--api", ""], "--api"),
        (["--api", "http://127.0.0.1:port"], "--api"),
    ],
)
def test_esp_run_sends_only_the_stake_and_terms_named(on_chain, options, piece):
    """Before: --stake 0 registered with the minimum stake (0.1 ETH by default, not named); --api
    notaurl registered, then failed on the URL; a stake above the balance or a price past
    uint256 died in web3 with a traceback."""
    from ledger import EspRegistryClient

    account = on_chain.deployment.chain.dev_accounts()[6]
    balance = on_chain.balance(account.address)
    api = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(
        app, ["esp", "run", "--dev-account", "6", "--rounds", "1", "--api", api, *options]
    )
    _error(result, piece)
    assert not EspRegistryClient(on_chain.deployment).is_active(account.address)
    assert on_chain.balance(account.address) == balance  # nothing sent, not even gas


def test_defend_with_a_state_that_is_a_folder(on_chain, tmp_path):
    """Before: IsADirectoryError's traceback from the defender's first read."""
    (tmp_path / "adir").mkdir()
    result = runner.invoke(app, ["defend", "--dev-account", "1", "--once", "--state", "adir"])
    _error(result, "--state", "adir")


@pytest.mark.parametrize("content", [b"\x89{", b"[]", b'{"items_root": 1, "producer": 2}'])
def test_a_corrupt_commit_file_is_named_and_kept(on_chain, tmp_path, content):
    """batch-commit.json holds the salt of a commit that may be on chain: before, a corrupt one
    was a traceback (JSONDecodeError, AttributeError); now it is named and left as it is (a new
    salt in its place would leave an on-chain commit unrevealable, its bond to forfeit), and
    nothing is sent."""
    from tests.cli.test_register_batch import _attest, _paint, _register
    from tests.contracts.helpers import lock_fee, register_esp

    world = on_chain
    register_esp(world)
    folder, state = tmp_path / "batch", tmp_path / "esp-state.json"
    folder.mkdir()
    lock, preimage = lock_fee(world)
    world.htlc(world.esp).withdraw(lock, preimage)
    image = _paint(5)
    image.save(folder / "image-5.png")
    from eth_utils import keccak

    from services.content import canonical_hash
    from services.provenance import detail_descriptor, fingerprint

    state.write_text(
        json.dumps(
            {
                "0x" + "05" * 32: {
                    "stage": "claimed",
                    "content_hash": "0x" + canonical_hash(image).hex(),
                    "producer": world.producer.address,
                    "fingerprint": "0x" + fingerprint(image).to_bytes32().hex(),
                    "detail_hash": "0x" + keccak(detail_descriptor(image)).hex(),
                    "seed": 5,
                    "model_id": "0x" + "ab" * 32,
                    "lock": lock.to_json(),
                }
            }
        )
    )
    assert _register(folder).exit_code == 0
    assert _attest(folder, state).exit_code == 0
    (folder / "batch-commit.json").write_bytes(content)
    balance = world.balance(world.producer.address)
    result = _register(folder)
    _error(result, "batch-commit.json")
    assert (folder / "batch-commit.json").read_bytes() == content
    assert world.balance(world.producer.address) == balance
