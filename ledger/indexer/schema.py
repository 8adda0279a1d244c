"""The indexer's tables: raw contract events, recent block hashes, and the checkpoint.

Rows are keyed by (block hash, tx hash, log index), so ingesting a log twice is a no-op; the
checkpoint is written in the same transaction as the rows it covers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class IndexerBase(DeclarativeBase):
    """Metadata of the indexer's tables (the API's Alembic migrations include it)."""


class ChainEvent(IndexerBase):
    __tablename__ = "chain_events"
    __table_args__ = (
        UniqueConstraint("block_hash", "tx_hash", "log_index", name="uq_event_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66), index=True)
    log_index: Mapped[int] = mapped_column(Integer)
    contract: Mapped[str] = mapped_column(String(32), index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON)


class IndexedBlock(IndexerBase):
    """Hashes of recently indexed blocks: what reorg detection compares with the chain."""

    __tablename__ = "indexed_blocks"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(66))


class Checkpoint(IndexerBase):
    """The last block fully indexed, per deployment (chain id + registry address)."""

    __tablename__ = "indexer_checkpoint"

    deployment: Mapped[str] = mapped_column(String(128), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
