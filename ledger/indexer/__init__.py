"""The event indexer: contract events into SQL, resumable, idempotent and reorg-safe."""

from ledger.indexer.indexer import (
    DatabaseOfAnotherDeployment,
    Indexer,
    IndexerError,
    PollResult,
    ReorgTooDeep,
)
from ledger.indexer.schema import ChainEvent, Checkpoint, IndexedBlock, IndexerBase

__all__ = [
    "ChainEvent",
    "Checkpoint",
    "DatabaseOfAnotherDeployment",
    "IndexedBlock",
    "Indexer",
    "IndexerBase",
    "IndexerError",
    "PollResult",
    "ReorgTooDeep",
]
