"""One settings object: ledger, API and generator settings come from the same environment and the
same ``.env``, and what ``aigc serve`` derives (its SIWE domain and URI) never overrides either."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.cli.test_serve import serve_until


def _nonce_from_serve(cwd, env: dict[str, str]) -> dict[str, object]:
    """Starts `aigc serve` in ``cwd`` and returns its first sign-in nonce (what a wallet signs)."""

    def nonce(port: int) -> dict[str, object] | None:
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/auth/nonce")
        return dict(answer.json()) if answer.status_code == 200 else None

    code, answer = serve_until(env, cwd, nonce)
    assert code is None, f"aigc serve exited: {answer}"
    return answer


@pytest.fixture
def clean_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
    return env | {"AIGC_DATA_DIR": str(tmp_path / "data"), "TMPDIR": str(tmp_path)}


def test_serve_keeps_the_siwe_domain_and_uri_of_the_env_file(tmp_path, clean_env):
    """A public deployment names its domain in ``.env``; `aigc serve` used to replace it with
    its own host:port (it only looked at the process environment), so every wallet's sign-in
    for the real domain was refused as siwe_wrong_domain."""
    (tmp_path / ".env").write_text(
        "AIGC_CHAIN=embedded\n"
        "AIGC_SIWE_DOMAIN=market.example\n"
        "AIGC_SIWE_URI=https://market.example\n"
    )
    nonce = _nonce_from_serve(tmp_path, clean_env)
    assert (nonce["domain"], nonce["uri"]) == ("market.example", "https://market.example")


def test_serve_names_its_own_address_when_nothing_is_configured(tmp_path, clean_env):
    nonce = _nonce_from_serve(tmp_path, clean_env | {"AIGC_CHAIN": "embedded"})
    assert str(nonce["domain"]).startswith("127.0.0.1:")
    assert nonce["uri"] == f"http://{nonce['domain']}"


def _no_aigc_environment(monkeypatch) -> None:
    for name in [k for k in os.environ if k.startswith("AIGC_")]:
        monkeypatch.delenv(name)


def test_one_env_file_configures_the_ledger_the_api_and_the_generators(tmp_path, monkeypatch):
    """The generators used to ignore ``.env`` (only the ledger and the API read it), and the
    artifacts folder, anvil and public URL were raw environment reads that ignored it too."""
    from ledger._paths import artifacts_dir
    from ledger.deploy import public_url
    from ledger.devnet import anvil_binary
    from marketplace_api.config import load_settings

    _no_aigc_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "AIGC_CHAIN=devnet\n"
        f"AIGC_DATABASE_URL=sqlite:///{tmp_path / 'm.db'}\n"
        "AIGC_GENERATOR=diffusers\n"
        f"AIGC_ARTIFACTS_DIR={tmp_path / 'artifacts'}\n"
        f"AIGC_ANVIL={tmp_path / 'anvil'}\n"
        "AIGC_PUBLIC_URL=https://market.example/\n"
    )
    settings = load_settings()
    assert settings.ledger.chain == "devnet"
    assert settings.api.database_url == f"sqlite:///{tmp_path / 'm.db'}"
    assert settings.generator.generator == "diffusers"
    assert artifacts_dir() == tmp_path / "artifacts"
    assert anvil_binary() == tmp_path / "anvil"
    assert public_url() == "https://market.example"
    monkeypatch.setenv("AIGC_GENERATOR", "bundled")  # the environment wins over .env
    assert load_settings().generator.generator == "bundled"
    assert load_settings(env_file=None).ledger.chain == "embedded"


def test_served_at_derives_only_what_is_not_configured(tmp_path, monkeypatch):
    from marketplace_api.config import ApiSettings
    from marketplace_api.stack import served_at

    _no_aigc_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    derived = served_at(ApiSettings(), host="0.0.0.0", port=9000)
    assert (derived.siwe_domain, derived.siwe_uri) == ("0.0.0.0:9000", "http://0.0.0.0:9000")
    (tmp_path / ".env").write_text("AIGC_SIWE_DOMAIN=market.example\n")
    kept = served_at(ApiSettings(), host="0.0.0.0", port=9000)
    assert (kept.siwe_domain, kept.siwe_uri) == ("market.example", "http://0.0.0.0:9000")


NO_RAW_ENVIRONMENT = [
    "ledger/_paths.py",
    "ledger/devnet.py",
    "ledger/deploy.py",
    "ledger/config.py",
    "marketplace_api/config.py",
    "marketplace_api/db.py",
    "marketplace_api/deps.py",
    "marketplace_api/main.py",
    "marketplace_api/stack.py",
    "aigc_cli/market_cmds.py",
    "generators/settings.py",
]


@pytest.mark.parametrize("path", NO_RAW_ENVIRONMENT)
def test_settings_are_read_through_the_settings_classes(path):
    """``os.environ`` / ``os.getenv`` read outside the settings classes would miss ``.env``; the
    one use left builds the replicas' environment on purpose (``aigc serve --workers N``)."""
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / path).read_text()
    tree = ast.parse(source)
    writes = {  # os.environ.update(...) writes the children's environment, reads nothing
        id(node.func.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "update"
        and ast.unparse(node.func.value) == "os.environ"
    }
    uses = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv")
        and id(node) not in writes
    ]
    assert uses == []
