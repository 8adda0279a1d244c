"""Errors of the blob stores; every one derives from :class:`StorageError`."""

from __future__ import annotations

from services.errors import ServiceError

__all__ = ["BlobNotFound", "InvalidBlobId", "StorageError"]


class StorageError(ServiceError):
    """Raised when a blob cannot be stored or read (root of this package's errors)."""


class InvalidBlobId(StorageError):
    """Raised when a blob id is not 64 lowercase hex characters (e.g. a path traversal)."""


class BlobNotFound(StorageError):
    """Raised when no blob has that id."""
