"""API fixtures: the app on the embedded chain's deployment, a fresh SQLite DB per test, and a
helper that signs in with Ethereum exactly as a wallet would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from services.siwe import SiweMessage
from tests.api._databases import postgres_server_url


def siwe_text(
    account,
    *,
    nonce,
    domain="localhost:8000",
    uri="http://localhost:8000",
    chain_id,
    expires_in=600,
    issued_at=None,
) -> str:
    now = issued_at or datetime.now(UTC).replace(microsecond=0)
    return SiweMessage(
        domain=domain,
        address=account.address,
        statement="Sign in to the AIGC marketplace.",
        uri=uri,
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=now,
        expiration_time=now + timedelta(seconds=expires_in),
    ).to_text()


def sign(account, text: str) -> str:
    return "0x" + account.sign_message(encode_defunct(text=text)).signature.hex().removeprefix("0x")


class Api:
    def __init__(self, client: TestClient, world):
        self.client = client
        self.world = world
        self.chain_id = world.chain.chain_id

    def index(self) -> int:
        """Runs the indexer once (the background follower is off in tests)."""
        return self.client.app.state.market.poll()

    def nonce(self) -> str:
        r = self.client.post("/v1/auth/nonce")
        assert r.status_code == 200, r.text
        return r.json()["nonce"]

    def sign_in(self, account) -> dict[str, str]:
        text = siwe_text(account, nonce=self.nonce(), chain_id=self.chain_id)
        r = self.client.post(
            "/v1/auth/verify", json={"message": text, "signature": sign(account, text)}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A new, empty database: SQLite in a temp folder, or one made on the test PostgreSQL server
    (``AIGC_TEST_POSTGRES_URL``, started by ``scripts/pg-test-server``; required under CI).
    For tests that build the schema themselves (migrations); the ``api`` fixture uses
    ``api_database_url`` (tests/conftest.py), which has the schema already."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    base = postgres_server_url()
    name = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def api(embedded_world, tmp_path, api_database_url):
    """The app on ``embedded_world`` over an empty database of each kind (its schema built once
    per session: see tests/api/_databases.py)."""
    settings = ApiSettings(
        database_url=api_database_url,
        blob_dir=tmp_path / "blobs",
        rate_nonce_per_minute=1000,
        indexer_interval_s=0,
        # No follower thread either: it reloaded the market (clearing the read cache) a second
        # after each api.index(), from another thread on the embedded chain, which is not
        # thread-safe; tests index with api.index() and see exactly what they did.
        follow_interval_s=0,
    )
    app = create_app(settings, embedded_world.deployment)
    with TestClient(app) as client:
        yield Api(client, embedded_world)
    app.state.engine.dispose()
