"""Content-addressed blob storage (images, previews, sealed deliveries): a folder (default) or
the database (``DbBlobStore``, shared by every API replica on that database)."""

from services.storage.blobs import BlobNotFound, BlobStore, InvalidBlobId, StorageError
from services.storage.db_blobs import DbBlobStore, StorageBase

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "DbBlobStore",
    "InvalidBlobId",
    "StorageBase",
    "StorageError",
]
