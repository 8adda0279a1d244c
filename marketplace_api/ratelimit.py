"""Rate limits every API replica shares: one row per (bucket, client) in the database.

The rule is GCRA (the generic cell rate algorithm): ``limit`` hits per ``window_s`` seconds, as a
burst of up to ``limit`` and then one more every ``window_s / limit`` seconds. Each hit is ONE
atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (PostgreSQL and SQLite alike), so two
replicas hitting the same bucket at once serialise on the row and never both take the last slot.
A refusal raises :class:`RateLimited` with the seconds until the next slot (``Retry-After``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from sqlalchemy import Double, Engine, case, delete, literal
from sqlalchemy.dialects import postgresql, sqlite

from marketplace_api.errors import RateLimited
from marketplace_api.models_shared import RateLimitBucket

_KEY_MAX = 128
_SWEEP_EVERY = 1000  # hits between deletions of buckets that are full again


class RateLimiter:
    """Allows ``limit`` hits per ``window_s`` seconds for each (bucket, key), across replicas."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.clock = clock
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"no shared rate limiter for database dialect {dialect}")
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._hits = 0

    def hit(self, bucket: str, key: str, *, limit: int, window_s: float = 60.0) -> None:
        """Records one hit; raises :class:`RateLimited` when over the limit."""
        if limit <= 0:
            raise RateLimited(f"{bucket} requests are disabled", retry_after_s=window_s)
        if len(key) > _KEY_MAX:
            key = hashlib.sha256(key.encode()).hexdigest()
        now = self.clock()
        step = window_s / limit
        t = RateLimitBucket.__table__.c
        now_ = literal(now, Double)
        start = case((t.tat > now_, t.tat), else_=now_)  # the bucket's next slot, or now
        fits = start + step - now_ <= literal(window_s, Double)
        stmt = (
            self._insert(RateLimitBucket)
            .values(bucket=bucket, key=key, tat=now + step, allowed=True)
            .on_conflict_do_update(
                index_elements=[t.bucket, t.key],
                set_={"tat": case((fits, start + step), else_=t.tat), "allowed": fits},
            )
            .returning(t.tat, t.allowed)
        )
        with self.engine.begin() as conn:
            tat, allowed = conn.execute(stmt).one()
            self._hits += 1
            if self._hits % _SWEEP_EVERY == 0:
                conn.execute(delete(RateLimitBucket).where(t.tat < now))
        if not allowed:
            retry = tat + step - window_s - now
            raise RateLimited(
                f"too many {bucket} requests: retry in {max(retry, 0):.0f} s", retry_after_s=retry
            )
