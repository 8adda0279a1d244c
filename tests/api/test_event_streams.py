"""Task event streams are bounded per account: each open stream reads the database twice a
second for up to ten minutes, and one signed-in address could open them until the server's
connections and database pool ran out (red team 2's note). Now at most
``max_streams_per_account`` per address and process (429 ``rate_limited`` beyond), and a stream
gives its slot back when it ends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from marketplace_api.routers import events
from tests.api.conftest import Api
from tests.contracts.helpers import register_esp


def test_an_account_holds_a_bounded_number_of_open_task_streams(
    embedded_world, tmp_path, monkeypatch
):
    register_esp(embedded_world)
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        blob_dir=tmp_path / "b",
        indexer_interval_s=0,
        follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        max_streams_per_account=2,
    )
    app = create_app(settings, embedded_world.deployment)
    monkeypatch.setattr(events, "LIFETIME_S", 0.0)  # a stream here ends after its first frame
    with TestClient(app) as client:
        api = Api(client, embedded_world)
        producer = embedded_world.producer.address
        headers = api.sign_in(embedded_world.producer)
        body = {"prompt": "a red circle", "seed": 1, "max_price": 10**15}
        task = client.post("/v1/tasks", json=body, headers=headers).json()
        path = f"/v1/tasks/{task['id']}/events"
        slots = events.StreamSlots()
        app.state.stream_slots = slots
        slots.take(producer, 2)  # two streams of this account still open
        slots.take(producer, 2)
        refused = client.get(path, headers=headers)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "rate_limited"
        assert "at most 2" in refused.json()["error"]["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert slots.held(producer) == 2  # the refused request took nothing

        slots.give_back(producer)  # one of them closed
        served = client.get(path, headers=headers)
        assert served.status_code == 200
        assert served.text.startswith("event: task\ndata: ")
        assert slots.held(producer) == 1  # the served stream ended and gave its slot back
