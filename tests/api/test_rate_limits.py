"""Rate limits on uploads and task creation answer 429 with a clear message."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from tests.api.conftest import Api
from tests.contracts.helpers import register_esp


def _app(world, tmp_path, **limits):
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'l.db'}",
        blob_dir=tmp_path / "b",
        indexer_interval_s=0,
        follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
        **limits,
    )
    return create_app(settings, world.deployment)


def test_upload_rate_limit(embedded_world, tmp_path):
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    with TestClient(_app(embedded_world, tmp_path, rate_upload_per_minute=2)) as client:
        codes = [
            client.post(
                "/v1/search/similar", files={"image": ("a.png", buf.getvalue(), "image/png")}
            )
            for _ in range(3)
        ]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[-1].json()["error"]["code"] == "rate_limited"
    retry = int(codes[-1].headers["Retry-After"])  # whole seconds until a slot frees
    assert 1 <= retry <= 60
    assert "retry-after" not in codes[0].headers


def test_task_creation_rate_limit(embedded_world, tmp_path):
    register_esp(embedded_world)
    with TestClient(_app(embedded_world, tmp_path, rate_tasks_per_minute=2)) as client:
        api = Api(client, embedded_world)
        headers = api.sign_in(embedded_world.producer)
        body = {"prompt": "a red circle", "seed": 1, "max_price": 10**15}
        answers = [client.post("/v1/tasks", json=body, headers=headers) for _ in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
