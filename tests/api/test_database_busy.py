"""A load peak that exhausts the database pool is a 503 with Retry-After, never a bare 500.

Found by `aigc bench load` at the issue's full size: four replicas under 70 client threads hit
SQLAlchemy's "QueuePool limit ... reached" and answered 500. The pool is now sized by settings
(``AIGC_DB_POOL_SIZE`` / ``AIGC_DB_MAX_OVERFLOW`` / ``AIGC_DB_POOL_TIMEOUT_S``) and a request that
cannot get a connection in time is told to come back.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app


def test_an_exhausted_pool_answers_503_with_retry_after(embedded_world, tmp_path, api_database_url):
    settings = ApiSettings(
        database_url=api_database_url,
        blob_dir=tmp_path / "blobs",
        indexer_interval_s=0,
        rate_nonce_per_minute=1000,
        follow_interval_s=0,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=0.2,
    )
    app = create_app(settings, embedded_world.deployment)
    with TestClient(app) as client:
        assert client.post("/v1/auth/nonce").status_code == 200
        held = app.state.engine.connect()  # the pool's only connection, busy elsewhere
        try:
            r = client.post("/v1/auth/nonce")
        finally:
            held.close()
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "database_busy"
        assert r.headers["Retry-After"] == "1"
        assert client.post("/v1/auth/nonce").status_code == 200  # and it recovers
    app.state.engine.dispose()
