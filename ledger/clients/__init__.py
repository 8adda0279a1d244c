"""Typed clients, one per contract: each method is one transaction or one read."""

from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.batch_registry import BatchParams, BatchRecord, BatchRegistryClient
from ledger.clients.committee import CommitteeClient, vote_commitment
from ledger.clients.esp_registry import EspInfo, EspRegistryClient, Evidence
from ledger.clients.htlc import Asset, HtlcClient, LockStatus, LockTerms, new_secret
from ledger.clients.registry import (
    Record,
    Registration,
    RegistryClient,
    RegistryParams,
    TokenStatus,
)

__all__ = [
    "Asset",
    "BatchCourtClient",
    "BatchParams",
    "BatchRecord",
    "BatchRegistryClient",
    "CommitteeClient",
    "EspInfo",
    "EspRegistryClient",
    "Evidence",
    "HtlcClient",
    "LockStatus",
    "LockTerms",
    "Record",
    "Registration",
    "RegistryClient",
    "RegistryParams",
    "TokenStatus",
    "new_secret",
    "vote_commitment",
]
