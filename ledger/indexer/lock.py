"""One writer per database: the lock an indexer holds while it follows the chain.

Several ``aigc index`` processes (or API workers started with ``--index``) may run against one
database; the one holding this lock writes, the others stand by and try again every round. The
lock dies with its holder, so a standby takes over when the leader is killed, and resumes from the
checkpoint the leader committed with its last batch.

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
  connection. The server releases it when that connection ends (the process died, the network
  dropped); the holder checks the connection before each round and steps down when it is gone.
- **SQLite**: an exclusive ``flock`` on ``<database file>.indexer-lock`` next to the database
  file (SQLite databases are local files, so every indexer of one runs on this machine). The
  kernel releases it when the holder's process ends, however it ends. An in-memory database
  has one process by construction; its lock is always granted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from ledger.errors import LedgerError


class IndexerLockError(LedgerError):
    """Raised when the database offers no way to elect a single indexer."""


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class IndexerLock:
    """``try_acquire()`` without waiting, ``held()`` to confirm before each round, ``release()``."""

    def __init__(self, engine: Engine, name: str = "aigc-indexer"):
        self.engine = engine
        self.name = name
        self.dialect = engine.dialect.name
        if self.dialect not in ("postgresql", "sqlite"):
            raise IndexerLockError(f"no single-indexer lock for database dialect {self.dialect}")
        self._conn: Connection | None = None
        self._fd: int | None = None
        self._memory = False

    @property
    def kind(self) -> str:
        """What the lock is, for logs: the advisory key or the lock file."""
        if self.dialect == "postgresql":
            return f"pg_advisory_lock({advisory_key(self.name)})"
        path = self._lock_path()
        return f"flock {path}" if path is not None else "in-memory database (one process)"

    def _lock_path(self) -> Path | None:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return None
        return Path(f"{database}.indexer-lock")

    def try_acquire(self) -> bool:
        """Takes the lock if it is free; True when this instance holds it (also when it did)."""
        if self.held():
            return True
        if self.dialect == "postgresql":
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = bool(
                    conn.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(self.name)}
                    ).scalar()
                )
            except DBAPIError:
                conn.close()
                raise
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        path = self._lock_path()
        if path is None:
            self._memory = True
            return True
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for an operator
        self._fd = fd
        return True

    def held(self) -> bool:
        """Whether this instance still holds the lock (PostgreSQL: its connection is alive)."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                self._drop_connection()
                return False
        return self._fd is not None or self._memory

    def release(self) -> None:
        """Gives the lock up (a standby takes it on its next round)."""
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):  # a lost connection took the lock with it
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(self.name)}
                )
            self._drop_connection()
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._memory = False

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(DBAPIError):
                conn.close()
