"""ORM models (SQLAlchemy 2.0, typed). Alembic migrations in ``marketplace_api/migrations``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace_api.db import Base


class AuthNonce(Base):
    """A one-time SIWE nonce; consumed by the sign-in that uses it."""

    __tablename__ = "auth_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)  # unix seconds
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class Product(Base):
    """A registered image: its token, provenance and stored blobs."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )  # registration order
    token_id: Mapped[str] = mapped_column(String(66), unique=True)  # 0x + content hash
    fingerprint: Mapped[str] = mapped_column(String(66), index=True)
    producer: Mapped[str] = mapped_column(String(42), index=True)
    owner: Mapped[str] = mapped_column(String(42), index=True)
    esp: Mapped[str] = mapped_column(String(42), index=True)
    task_id: Mapped[str] = mapped_column(String(66))
    model_id: Mapped[str] = mapped_column(String(66))
    seed: Mapped[str] = mapped_column(String(80))
    registered_block: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    image_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    metadata_uri: Mapped[str] = mapped_column(Text, default="")


class ProductEvent(Base):
    """A product's history (registered, transferred, challenged, revoked), from the indexer."""

    __tablename__ = "product_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[str] = mapped_column(String(66), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Notification(Base):
    """A message for an address (e.g. the plagiarism watch's prepared challenge)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(String(42), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
