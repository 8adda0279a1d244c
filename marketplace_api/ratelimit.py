"""A small in-process rate limiter: a sliding window per (bucket, client)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from marketplace_api.errors import RateLimited


class RateLimiter:
    """Allows ``limit`` hits per ``window_s`` seconds for each (bucket, key)."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, bucket: str, key: str, *, limit: int, window_s: float = 60.0) -> None:
        """Records one hit; raises :class:`RateLimited` when over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[(bucket, key)]
            while hits and now - hits[0] >= window_s:
                hits.popleft()
            if len(hits) >= limit:
                retry = window_s - (now - hits[0])
                raise RateLimited(
                    f"too many {bucket} requests: retry in {retry:.0f} s", retry_after_s=retry
                )
            hits.append(now)
