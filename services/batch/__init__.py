"""Batch registration (issue 16): many images in one commit and one reveal.

* :mod:`~services.batch.layout`: the token order and the two Merkle roots (one home for both);
* :mod:`~services.batch.attestation`: what an ESP checks before it signs a batch, and the
  attestation file it hands the producer;
* :mod:`~services.batch.register`: the producer's side (commit, reveal, manifest);
* :mod:`~services.batch.manifest`: the published manifest and its check against the chain.

docs/batches.md walks through the flow and the trust model.
"""

from services.batch.attestation import (
    BatchRequest,
    Delivery,
    RequestItem,
    SignedBatch,
    attest_batch,
    batch_domain,
)
from services.batch.errors import BatchError, BatchRefused, ManifestMismatch
from services.batch.layout import BatchItem, BatchLayout
from services.batch.requests import RequestNotPending, RequestState

__all__ = [
    "BatchError",
    "BatchItem",
    "BatchLayout",
    "BatchRefused",
    "BatchRequest",
    "Delivery",
    "ManifestMismatch",
    "RequestItem",
    "RequestNotPending",
    "RequestState",
    "SignedBatch",
    "attest_batch",
    "batch_domain",
]
