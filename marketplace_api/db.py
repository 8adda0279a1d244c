"""Database engine and sessions: SQLite by default, PostgreSQL by URL (same models)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """The marketplace's ORM models (Alembic owns their schema)."""


def make_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 10, pool_timeout_s: float = 10.0
) -> Engine:
    """An engine for ``url``; SQLite gets its folder created, WAL and foreign keys.

    The pool arguments apply to PostgreSQL and file SQLite alike: a request that cannot get a
    connection within ``pool_timeout_s`` raises SQLAlchemy's ``TimeoutError``, which the API
    answers 503 with Retry-After (``marketplace_api.errors``), not a bare 500.
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        pool: dict[str, Any] = {}
        if str(path) != ":memory:":  # an in-memory database keeps one connection per thread
            pool = {
                "pool_size": pool_size,
                "max_overflow": max_overflow,
                "pool_timeout": pool_timeout_s,
            }
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout_s,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
