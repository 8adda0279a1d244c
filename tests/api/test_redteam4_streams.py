"""Red team 4: task event streams are bounded per process, not only per account.

Each open ``GET /v1/tasks/{id}/events`` reads the task's row twice a second for up to ten
minutes. Red team 2 bounded them per signed-in address (32), but addresses are free (30
sign-ins a minute per IP) and so are tasks to listen to (a post costs nothing): every minute one
client could add 30 x 32 = 960 streams, 1,920 database reads a second, and keep them for ten
minutes (the test below held 40 Sybils' 32 streams each, 1,280 in all, and the next account's
stream was still served before the fix). Now the process holds at most
``max_streams_per_process`` (256) streams of all accounts together (429 ``rate_limited`` with
``Retry-After`` beyond; the studio waits and reconnects), and a stream's end gives its slot back.
"""

from __future__ import annotations

from eth_account import Account
from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from marketplace_api.routers import events
from tests.api.conftest import Api
from tests.contracts.helpers import register_esp


def test_sybils_cannot_open_streams_without_bound(embedded_world, tmp_path, monkeypatch):
    register_esp(embedded_world)
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        blob_dir=tmp_path / "b",
        indexer_interval_s=0,
        follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        rate_nonce_per_minute=1000,
    )
    assert settings.max_streams_per_account == 32 and settings.max_streams_per_process == 256
    app = create_app(settings, embedded_world.deployment)
    monkeypatch.setattr(events, "LIFETIME_S", 0.0)  # a stream here ends after its first frame
    with TestClient(app) as client:
        api = Api(client, embedded_world)
        headers = api.sign_in(embedded_world.producer)
        body = {"prompt": "a red circle", "seed": 1, "max_price": 10**15}
        task = client.post("/v1/tasks", json=body, headers=headers).json()
        path = f"/v1/tasks/{task['id']}/events"
        slots = events.StreamSlots()
        app.state.stream_slots = slots
        sybils = [Account.create().address for _ in range(40)]
        for sybil in sybils:  # each at its own per-account bound, as far as the process lets it
            for _ in range(32):
                try:
                    slots.take(sybil, 32, total=settings.max_streams_per_process)
                except Exception:
                    break
        assert slots.total == 256  # the Sybils' streams stop at the process's bound
        refused = client.get(path, headers=headers)
        assert refused.status_code == 429, refused.text  # failed before: 200, served
        assert refused.json()["error"]["code"] == "rate_limited"
        assert "at most 256" in refused.json()["error"]["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert slots.total == 256  # the refused request took nothing
        slots.give_back(sybils[0])  # one of them closed
        served = client.get(path, headers=headers)
        assert served.status_code == 200 and served.text.startswith("event: task\ndata: ")
        assert slots.total == 255  # the served stream ended and gave its slot back
