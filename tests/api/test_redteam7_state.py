"""Red team 7: the chain's node failing under a request, at every one of its chain calls.

* A node that does not answer (refused, reset, timed out: what ``Web3.HTTPProvider`` raises,
  ``requests.exceptions.ConnectionError`` and kin) escaped the error table: every route that
  asks the chain answered a bare ``500 Internal Server Error`` in text/plain, no envelope, no
  code (the tests failed before: the exception reached the test client). Now 502
  ``chain_unavailable`` with ``Retry-After``, and a message that names the exception's class
  only: the exception's text names the node's URL, which for an RPC provider carries its key.
* No half-written state: each route that writes the database and asks the chain (a task's
  post, a listing, a trade request, an image upload) is sent again and again with the node
  failing at its first chain call, then its second, ... until it runs through; after each
  failure every table but the rate limits, nonces, blobs and shared counters is exactly as
  before the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import inspect, text

from services.listing import Offer, sign_offer
from tests.api.test_products import _picture, _png, _register_picture
from tests.contracts.helpers import past_reclaim, register_esp

NODE_URL_SECRET = "https://mainnet.example/v3/SECRET-KEY"
# Written by any request whatever its outcome (counted, or content-addressed and shared).
UNTRACKED = {"rate_limit_buckets", "auth_nonces", "blobs", "shared_counters", "shared_secrets"}


class FailingNode:
    """The app's web3 manager with the node failing at the ``at``-th request (0-based), or
    never (``at`` None)."""

    def __init__(self, w3: Any, monkeypatch: pytest.MonkeyPatch):
        self.real = w3.manager.request_blocking
        self.at: int | None = None
        self.calls = 0
        self.failed = False
        monkeypatch.setattr(w3.manager, "request_blocking", self)

    def arm(self, at: int | None) -> None:
        self.at, self.calls, self.failed = at, 0, False

    def __call__(self, method: Any, params: Any, *args: Any, **kwargs: Any) -> Any:
        if method == "eth_getBlockByNumber" and params and params[0] == "pending":
            # Chain.timestamp() falls back to the head when the pending block cannot be read
            # (a node without one): a failure here is absorbed by design, not counted
            return self.real(method, params, *args, **kwargs)
        n, self.calls = self.calls, self.calls + 1
        if self.at is not None and n == self.at:
            self.failed = True
            raise requests.exceptions.ConnectionError(
                f"HTTPSConnectionPool: Max retries exceeded with url: {NODE_URL_SECRET}"
            )
        return self.real(method, params, *args, **kwargs)


def _snapshot(engine) -> dict[str, list[str]]:
    tables = sorted(set(inspect(engine).get_table_names()) - UNTRACKED)
    with engine.connect() as conn:
        return {
            t: sorted(repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{t}"')))
            for t in tables
        }


def _unavailable(r) -> None:
    assert r.status_code == 502, r.text
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert error["code"] == "chain_unavailable", error
    assert "SECRET" not in r.text and "mainnet.example" not in r.text
    assert r.headers["retry-after"] == "1"


def _every_failure(api, node: FailingNode, send: Callable[[], Any]) -> Any:
    """Sends the request with the node failing at each of its chain calls in turn: each is a
    502 ``chain_unavailable`` that wrote nothing; returns the answer of the run with none."""
    engine = api.client.app.state.engine
    at = 0
    while True:
        before = _snapshot(engine)
        node.arm(at)
        r = send()
        if not node.failed:
            node.arm(None)
            return r
        _unavailable(r)
        assert _snapshot(engine) == before, f"half-written after a failure at chain call {at}"
        at += 1
        assert at < 200


@pytest.fixture
def node(api, monkeypatch):
    state = api.client.app.state
    limits = {k: 10**9 for k in type(state.settings).model_fields if k.startswith("rate_")}
    state.settings = state.settings.model_copy(update=limits)
    return FailingNode(api.world.chain.w3, monkeypatch)


READS = [
    ("GET", "/healthz", None),
    ("GET", "/v1/esps", None),
    ("GET", f"/v1/tx/0x{'11' * 32}", None),
    ("POST", "/v1/tx/registry/commit", {"commitment": "0x" + "11" * 32}),
    ("POST", "/v1/tasks", {"prompt": "a red circle", "max_price": "1"}),
    ("GET", f"/v1/esps/0x{'22' * 20}/dashboard", None),
]


@pytest.mark.parametrize(
    ("method", "url", "body"), READS, ids=[f"{m} {u[:24]}" for m, u, _ in READS]
)
def test_a_node_that_does_not_answer_is_502_chain_unavailable(api, node, method, url, body):
    headers = api.sign_in(api.world.producer)
    node.arm(0)
    r = api.client.request(method, url, json=body, headers=headers)
    assert node.failed
    _unavailable(r)  # failed before: ConnectionError raised through the app (a bare 500)


def test_a_task_post_is_written_whole_or_not_at_all(api, node):
    world = api.world
    register_esp(world)
    headers = api.sign_in(world.producer)
    for body in (
        {"prompt": "a red circle", "max_price": "10000000000000000", "esp": world.esp.address},
        {"prompt": "a blue square", "max_price": "10000000000000000"},  # drawn by reputation
    ):
        r = _every_failure(
            api, node, lambda b=body: api.client.post("/v1/tasks", json=b, headers=headers)
        )
        assert r.status_code == 201, r.text


def test_an_image_a_listing_and_a_trade_are_written_whole_or_not_at_all(api, node):
    world = api.world
    register_esp(world)
    img = _picture(7)
    token = _register_picture(world, world.producer, img)
    api.index()
    past_reclaim(world)
    seller, buyer = api.sign_in(world.producer), api.sign_in(world.buyer)

    files = {"image": ("x.png", _png(img), "image/png")}
    r = _every_failure(
        api,
        node,
        lambda: api.client.put(f"/v1/products/{token}/image", files=files, headers=seller),
    )
    assert r.status_code == 200, r.text

    offer = Offer(
        int(token, 16), world.producer.address, 10**16, world.chain.timestamp() + 86400, 1
    )
    signature = sign_offer(
        world.producer,
        offer,
        chain_id=world.chain.chain_id,
        registry=world.deployment.registry.address,
    )
    listing = {
        "token_id": str(offer.token_id),
        "price": str(offer.price),
        "expiry": offer.expiry,
        "nonce": "1",
        "signature": "0x" + signature.hex(),
    }
    r = _every_failure(
        api, node, lambda: api.client.post("/v1/listings", json=listing, headers=seller)
    )
    assert r.status_code == 201, r.text
    trade = {"listing_id": r.json()["id"]}
    r = _every_failure(api, node, lambda: api.client.post("/v1/trades", json=trade, headers=buyer))
    assert r.status_code == 201, r.text


# --- the database ------------------------------------------------------------------------------

DB_ROUTES = [
    ("GET", "/v1/products", None),
    ("GET", "/v1/listings", None),
    ("GET", "/v1/notifications", None),
    ("GET", "/v1/tasks", None),
    ("POST", "/v1/auth/nonce", None),
    ("GET", f"/v1/accounts/0x{'22' * 20}", None),
]


@pytest.mark.parametrize(
    ("method", "url", "body"), DB_ROUTES, ids=[f"{m} {u[:24]}" for m, u, _ in DB_ROUTES]
)
def test_a_database_that_drops_the_connection_is_503_database_unavailable(
    api, monkeypatch, method, url, body
):
    """The database server restarted, or dropped the connection: SQLAlchemy raises
    OperationalError (``connection_invalidated``; SQLite's "database is locked" is one too).
    Only an exhausted pool was answered (503 ``database_busy``); this was a bare 500 in
    text/plain (the test failed before: the exception reached the client). Now 503
    ``database_unavailable`` with ``Retry-After``, and no text of the driver's (it names the
    server's host and port)."""
    import sqlalchemy.exc
    from sqlalchemy.engine import Connection

    headers = api.sign_in(api.world.producer)

    def dropped(*args: Any, **kwargs: Any) -> Any:
        raise sqlalchemy.exc.OperationalError(
            "SELECT 1",
            {},
            Exception('connection to server at "db.internal" (10.0.0.5), port 5432 failed'),
            connection_invalidated=True,
        )

    with monkeypatch.context() as patch:
        patch.setattr(Connection, "execute", dropped)
        try:
            r = api.client.request(method, url, json=body, headers=headers)
        except sqlalchemy.exc.OperationalError as exc:  # the app raised: a 500 under a server
            raise AssertionError(f"500: {type(exc).__name__} reached the client") from None
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "database_unavailable"
    assert r.headers["retry-after"] == "1"
    assert "db.internal" not in r.text and "10.0.0.5" not in r.text
