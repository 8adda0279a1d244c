"""Errors of batch registration; every one derives from :class:`BatchError`.

Each carries a stable ``code`` (the API's error code and the CLI's message key), so a refused
batch reads the same wherever it is refused: at the ESP, at the producer, or at the API.
"""

from __future__ import annotations

from services.errors import ServiceError

__all__ = [
    "BatchError",
    "BatchRefused",
    "ManifestMismatch",
]


class BatchError(ServiceError):
    """Raised when a batch step is refused (root of this package's errors)."""

    code = "batch_error"

    def __init__(self, message: str, *, code: str | None = None, index: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.index = index  # the offending item's position in the request, when one is


class BatchRefused(BatchError):
    """Raised when the ESP refuses to attest a batch (``code`` says which rule it broke)."""

    code = "batch_refused"


class ManifestMismatch(BatchError):
    """Raised when a batch manifest disagrees with its images, its attestation or the chain."""

    code = "manifest_mismatch"
