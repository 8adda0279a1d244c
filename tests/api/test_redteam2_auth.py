"""Red team, round 2: Sign-In with Ethereum under races and odd inputs.

* two first sign-ins of one account at once (two tabs, a retried request): the one that lost the
  insert of the account's key row answered 500;
"""

from __future__ import annotations

import pytest
from eth_account import Account
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from marketplace_api.models import AccountKey, AuthNonce
from tests.api.conftest import sign, siwe_text


def test_a_first_sign_in_racing_another_one_signs_in_not_a_500(api):
    engine = api.client.app.state.engine
    if engine.dialect.name == "sqlite":  # not a missing tool: SQLite has no such race
        pytest.skip("SQLite serialises the two sign-ins at the nonce update")
    newcomer = Account.create()
    raced = []

    def concurrent_insert(session, flush_context, instances):
        if raced or not any(isinstance(o, AccountKey) for o in session.new):
            return
        raced.append(True)  # the other sign-in's row lands first, in its own transaction
        with engine.begin() as conn:
            conn.execute(insert(AccountKey).values(address=newcomer.address, public_key=None))

    nonce = api.nonce()
    text = siwe_text(newcomer, nonce=nonce, chain_id=api.chain_id)
    event.listen(Session, "before_flush", concurrent_insert)
    try:
        r = api.client.post(
            "/v1/auth/verify", json={"message": text, "signature": sign(newcomer, text)}
        )
    finally:
        event.remove(Session, "before_flush", concurrent_insert)
    assert raced, "the race did not happen"
    assert r.status_code == 200, r.text
    with Session(engine) as session:
        row = session.get(AccountKey, newcomer.address)
        assert row is not None and row.public_key is not None  # the key sealing needs
        used = session.scalar(select(AuthNonce.used).where(AuthNonce.nonce == nonce))
    assert used is True
    again = api.client.post(
        "/v1/auth/verify", json={"message": text, "signature": sign(newcomer, text)}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (401, "siwe_nonce_invalid")


def test_signing_in_fresh_addresses_does_not_mint_more_nonces(embedded_world, tmp_path):
    """Nonces are what throttle sign-in (each verify may cost the node an eth_call). A caller
    holding a bearer token had a nonce bucket of its own, and addresses are free: sign in one
    throwaway address per nonce and every token brings a fresh bucket, without end."""
    from fastapi.testclient import TestClient

    from marketplace_api.config import ApiSettings
    from marketplace_api.main import create_app
    from tests.api.conftest import Api

    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp_path / 'n.db'}",
            rate_nonce_per_minute=3,
            indexer_interval_s=0,
            follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        ),
        embedded_world.deployment,
    )
    with TestClient(app) as client:
        api = Api(client, embedded_world)
        sybil = api.sign_in(Account.create())  # one nonce of the IP's three
        assert [client.post("/v1/auth/nonce").status_code for _ in range(3)] == [200, 200, 429]
        r = client.post("/v1/auth/nonce", headers=sybil)
        assert (r.status_code, r.json()["error"]["code"]) == (429, "rate_limited")
        with Session(app.state.engine) as session:
            assert len(list(session.scalars(select(AuthNonce.nonce)))) == 3
