"""Who writes the indexer's tables, and how everyone else keeps up.

One :class:`ChainFollower` runs per process. With ``index=True`` (``aigc index``, or ``aigc serve
--index``) it competes for the database's :class:`~ledger.indexer.lock.IndexerLock`: the holder
polls the chain into SQL; the others stand by, and the first to find the lock free after the
leader dies takes over from the stored checkpoint (the checkpoint moves in the same transaction as
the rows it covers, so nothing is missed or written twice). With ``index=False`` (an API replica)
it only follows: when the checkpoint moves it reloads what lives in memory (near-duplicate index,
reputation, rendered reads) from the database, and when another replica invalidated rendered
reads (:class:`SharedReadCache`) it drops its own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ledger.indexer.lock import IndexerLock
from marketplace_api.market import Market, ReadCache
from marketplace_api.models_shared import SharedCounter

log = logging.getLogger("aigc.indexer")


@dataclass
class Round:
    """What one round did: ``role`` is ``leader``, ``standby`` or ``follower``."""

    role: str
    events: int = 0
    reloaded: bool = False


class ChainFollower:
    """Leads (indexes) when it may and holds the lock; otherwise follows the leader's writes."""

    def __init__(self, market: Market, *, index: bool, lock: IndexerLock | None = None):
        self.market = market
        self.index = index
        self.lock = lock or (IndexerLock(market.indexer.engine) if index else None)
        self.leading = False
        self._seen = market.indexer.checkpoint()
        self._generation = self._cache_generation()

    def step(self) -> Round:
        """One round: take or confirm the lead and index, else reload if the leader moved."""
        if self.lock is not None:
            was_leading = self.leading
            self.leading = self.lock.try_acquire()
            if self.leading and not was_leading:
                log.warning("indexer: leading (%s) from block %d", self.lock.kind, self._cp()[0])
                self.market.reload()  # the previous leader's writes, before indexing on top
            elif was_leading and not self.leading:
                log.warning("indexer: lost the lock (%s); standing by", self.lock.kind)
        if self.leading:
            events = self.market.poll()
            self._seen = self._cp()
            return Round("leader", events=events)
        current = self._cp()
        reloaded = current != self._seen
        if reloaded:
            self.market.reload()
            self._seen = current
        generation = self._cache_generation()
        if generation != self._generation:  # another replica invalidated rendered reads
            cache = self.market.read_cache
            if isinstance(cache, SharedReadCache):
                cache.clear_local()
            self._generation = generation
        return Round("standby" if self.index else "follower", reloaded=reloaded)

    def _cp(self) -> tuple[int, str | None]:
        return self.market.indexer.checkpoint()

    def _cache_generation(self) -> int:
        cache = self.market.read_cache
        return cache.shared_generation() if isinstance(cache, SharedReadCache) else 0

    def run(self, stop: threading.Event, interval: float) -> None:
        """Rounds every ``interval`` seconds until ``stop``; a failed round is logged and the
        next one retries (the checkpoint is consistent at every batch boundary)."""
        failing: str | None = None  # the failure of the rounds failing in a row
        streak = 0
        try:
            while not stop.is_set():
                try:
                    self.step()
                except Exception as exc:  # the next round retries from the checkpoint
                    text = f"{type(exc).__name__}: {exc}"
                    streak = streak + 1 if text == failing else 1
                    if streak == 1:  # a new failure: loudly, with its traceback
                        log.exception("indexer round failed")
                    elif streak & (streak - 1) == 0:  # the same again: one line, then sparser
                        log.error("indexer round failed %d times in a row: %s", streak, text)
                    failing = text
                else:
                    if failing is not None:
                        log.warning("indexer rounds succeed again after %d failures", streak)
                    failing, streak = None, 0
                stop.wait(interval)
        finally:
            self.close()

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
        self.leading = False


READ_CACHE_COUNTER = "read_cache_generation"


READ_CACHE_MAX_BYTES = 64 * 1024 * 1024  # per process


class SharedReadCache(ReadCache):
    """The market's read cache, whose invalidations reach every replica on the database.

    ``clear()`` (an image upload, an indexed batch) drops this replica's entries and bumps a
    counter in the database; each replica's :class:`ChainFollower` sees the counter move and
    drops its own (``clear_local``)."""

    def __init__(
        self, engine: Engine, max_entries: int = 10_000, max_bytes: int = READ_CACHE_MAX_BYTES
    ):
        super().__init__(max_entries)
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # Entries are whole responses keyed by their URL, query included, and anyone may ask
        # for many distinct URLs (each page of 200 products, every offset, junk parameters):
        # 10,000 pages of 200 products held ~1.2 GB. The bytes held are bounded too.
        self.max_bytes = max_bytes
        self.held_bytes = 0

    def put(self, key: str, body: bytes, generation: int) -> None:
        with self._lock:
            if (
                generation != self.generation
                or key in self._entries
                or len(self._entries) >= self.max_entries
                or self.held_bytes + len(body) > self.max_bytes
            ):
                return
            self._entries[key] = body
            self.held_bytes += len(body)

    def _drop(self) -> None:
        """ReadCache.clear, and the bytes count with it (one lock: no put in between)."""
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self.held_bytes = 0

    def clear(self) -> None:
        self._drop()
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(SharedCounter)
                .values(name=READ_CACHE_COUNTER, value=1)
                .on_conflict_do_update(
                    index_elements=[SharedCounter.name],
                    set_={"value": SharedCounter.__table__.c.value + 1},
                )
            )

    def clear_local(self) -> None:
        self._drop()

    def shared_generation(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(SharedCounter.value).where(SharedCounter.name == READ_CACHE_COUNTER)
            ).scalar()
        return int(value or 0)
