"""State that API replicas share through the database (migration 0006).

- :class:`RateLimitBucket`: one row per (bucket, client), the GCRA "theoretical arrival time"
  moved by one atomic upsert per request (:mod:`marketplace_api.ratelimit`);
- :class:`SharedSecret`: the bearer-token secret when ``AIGC_TOKEN_SECRET`` is unset, created
  once by whichever replica starts first (insert-if-absent, then read);
- :class:`SharedCounter`: generations that tell replicas to drop rendered reads (an image upload
  on one replica invalidates the others' read caches).

Sign-in nonces were already a table (:class:`~marketplace_api.models.AuthNonce`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Double, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace_api.db import Base


class RateLimitBucket(Base):
    """The next free slot of one client's bucket (unix seconds, GCRA)."""

    __tablename__ = "rate_limit_buckets"

    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    tat: Mapped[float] = mapped_column(Double)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)  # the last hit's verdict


class SharedSecret(Base):
    """A server secret every replica must agree on; written once, never updated."""

    __tablename__ = "shared_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class SharedCounter(Base):
    """A monotonically increasing number replicas poll (e.g. the read-cache generation)."""

    __tablename__ = "shared_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
