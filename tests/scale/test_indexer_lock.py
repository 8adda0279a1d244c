"""The single-indexer lock: a second holder is refused while the first holds it, gets it once the
first lets go, and a holder whose PostgreSQL connection is cut knows it lost the lock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text

from ledger.indexer.lock import IndexerLock, IndexerLockError, advisory_key


def test_second_indexer_is_refused_until_the_first_lets_go(database_url):
    engine = create_engine(database_url)
    first, second = IndexerLock(engine), IndexerLock(engine)
    try:
        assert first.try_acquire() and first.held()
        assert first.try_acquire()  # re-entrant for its holder
        assert not second.try_acquire() and not second.held()
        first.release()
        assert not first.held()
        assert second.try_acquire() and second.held()
        assert not first.try_acquire()
        if engine.dialect.name == "postgresql":  # advisory keys by name: independent locks
            other = IndexerLock(engine, name="another-deployment")
            assert other.try_acquire()
            other.release()
    finally:
        first.release()
        second.release()
        engine.dispose()


def test_a_cut_connection_loses_the_postgres_lock(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's flock ends only with its process (tests/scale/test_scale_faults)")
    engine = create_engine(database_url)
    leader, standby = IndexerLock(engine), IndexerLock(engine)
    try:
        assert leader.try_acquire()
        assert not standby.try_acquire()
        with engine.connect() as admin:  # the leader's session dies (network cut, server kill)
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objid = (:k & 4294967295)::oid"
                ),
                {"k": advisory_key(leader.name)},
            )
            admin.commit()
        assert not leader.held()  # it finds out before its next round, and stops writing
        assert standby.try_acquire()
    finally:
        leader.release()
        standby.release()
        engine.dispose()


def test_lock_file_sits_beside_the_sqlite_database(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    lock = IndexerLock(engine)
    assert lock.try_acquire()
    assert (tmp_path / "x.db.indexer-lock").exists() and "flock" in lock.kind
    lock.release()
    engine.dispose()


def test_unsupported_database_is_refused():
    engine = SimpleNamespace(dialect=SimpleNamespace(name="mysql"))
    with pytest.raises(IndexerLockError):
        IndexerLock(engine)  # type: ignore[arg-type]
