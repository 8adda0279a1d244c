"""Empty API databases, fast: the schema is built once per session, not once per test.

Building the schema (``create_all`` of the API's and the indexer's tables, about 45 DDL
statements) cost 0.3 s a test on SQLite and, with ``CREATE DATABASE``, 1.2 s on PostgreSQL: most
of the API suite's set-up. Instead:

- SQLite: each test gets a copy of a template file made once (an empty file plus the schema);
- PostgreSQL: one database per session (per xdist worker), emptied before each test: the
  connections a previous test left open are terminated (as ``DROP DATABASE ... WITH (FORCE)``
  did), every table is truncated with its identity sequences restarted, and if a test changed
  the set of tables the schema is dropped and built again.

Either way a test starts from what a fresh database gives ``create_app``: the same tables, no
rows, ids from 1 (``tests/api/test_databases.py`` checks both).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from ledger.indexer.schema import IndexerBase
from marketplace_api.db import Base, make_engine
from tests.conftest import IN_CI

#: What ``create_app`` creates in an empty database with the default (file) blob store.
SCHEMAS = (Base.metadata, IndexerBase.metadata)


def build_schema(engine: Engine) -> None:
    for metadata in SCHEMAS:
        metadata.create_all(engine)


def sqlite_template(folder: Path) -> Path:
    """An SQLite file holding the empty schema, to copy for each test."""
    path = folder / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    build_schema(engine)
    engine.dispose()  # the last connection closing folds the WAL back into the file
    assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not folded"
    return path


def sqlite_copy(template: Path, path: Path) -> str:
    """A fresh database at ``path`` (a copy of ``template``), as an SQLAlchemy URL."""
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def postgres_server_url() -> str:
    """The test PostgreSQL server (``AIGC_TEST_POSTGRES_URL``, started by
    ``scripts/pg-test-server``): required under CI, else the PostgreSQL variants skip."""
    base = os.environ.get("AIGC_TEST_POSTGRES_URL")
    if not base:
        if IN_CI:
            pytest.fail("CI must test PostgreSQL: AIGC_TEST_POSTGRES_URL is not set")
        pytest.skip("no AIGC_TEST_POSTGRES_URL (start one with scripts/pg-test-server)")
    return base


@contextmanager
def postgres_session_database(server_url: str) -> Iterator[tuple[str, Engine]]:
    """A database on the test server for this session, with the schema, and an engine on it
    for ``empty_postgres``; dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url.rsplit("/", 1)[0] + "/" + name
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        build_schema(engine)
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def expected_tables() -> set[str]:
    return {name for metadata in SCHEMAS for name in metadata.tables}


def empty_postgres(engine: Engine) -> None:
    """Brings the database of ``engine`` (an AUTOCOMMIT engine from
    ``postgres_session_database``) back to the empty schema: see the module's docstring."""
    with engine.connect() as conn:
        # Terminated backends let go of their locks as they exit; should one not, TRUNCATE
        # fails with an error naming the lock instead of waiting for ever.
        conn.execute(text("SET lock_timeout = '20s'"))
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        tables = set(
            conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        )
        if tables == expected_tables():
            names = ", ".join(f'"{t}"' for t in sorted(tables))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    build_schema(engine)
