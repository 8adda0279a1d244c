"""The API tests' databases (tests/api/_databases.py) start as a fresh database would.

The schema is built once per session for speed; these tests show that costs nothing in
isolation: the SQLite template is exactly the schema ``create_app`` builds in an empty file, and
the reused PostgreSQL database comes back empty, with ids from 1, even when a test left rows, a
connection holding a lock, or a table of its own behind.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text

from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from tests.api._databases import (
    empty_postgres,
    expected_tables,
    postgres_server_url,
    postgres_session_database,
    sqlite_copy,
    sqlite_template,
)


def _schema(path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        return [tuple(row) for row in rows]


def _app(url, embedded_world, tmp_path):
    settings = ApiSettings(
        database_url=url, blob_dir=tmp_path / "blobs", indexer_interval_s=0, follow_interval_s=0
    )
    return create_app(settings, embedded_world.deployment)


def test_sqlite_template_is_the_schema_create_app_builds(embedded_world, tmp_path):
    fresh = tmp_path / "fresh.db"
    _app(f"sqlite:///{fresh}", embedded_world, tmp_path).state.engine.dispose()
    template = sqlite_template(tmp_path)
    assert _schema(template) == _schema(fresh)
    copy = tmp_path / "copy.db"
    sqlite_copy(template, copy)
    with sqlite3.connect(copy) as con:
        for table in expected_tables():
            assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (0,), table


def _counts(conn) -> dict[str, int]:
    return {
        t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in expected_tables()
    }


@pytest.mark.postgres
def test_reused_postgres_database_comes_back_empty(embedded_world, tmp_path):
    with postgres_session_database(postgres_server_url()) as (url, engine):
        app = _app(url, embedded_world, tmp_path)  # writes its secret and its indexer claim
        app.state.engine.dispose()
        with engine.connect() as conn:
            assert sum(_counts(conn).values()) > 0
            conn.execute(
                text(
                    "INSERT INTO chain_events (block_number, block_hash, block_time, tx_hash, "
                    "log_index, contract, event, args) VALUES (1, 'h', 1, 't', 0, 'c', 'e', '{}')"
                )
            )
        # A connection a test left open, in a transaction holding a lock TRUNCATE waits for.
        leftover = create_engine(url).connect()
        leftover.execute(text("LOCK TABLE chain_events IN ACCESS SHARE MODE"))

        empty_postgres(engine)
        with engine.connect() as conn:
            assert set(_counts(conn).values()) == {0}
            new_id = conn.execute(
                text(
                    "INSERT INTO chain_events (block_number, block_hash, block_time, tx_hash, "
                    "log_index, contract, event, args) VALUES (1, 'h', 1, 't', 0, 'c', 'e', '{}') "
                    "RETURNING id"
                )
            ).scalar()
            assert new_id == 1  # identities restarted
            conn.execute(text("CREATE TABLE left_by_a_test (x int)"))
        leftover.invalidate()

        empty_postgres(engine)
        with engine.connect() as conn:
            tables = set(
                conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            )
            assert tables == expected_tables()
            assert set(_counts(conn).values()) == {0}
