"""Content-addressed blob storage (images, previews, sealed deliveries): a folder (default) or
the database (``DbBlobStore``, shared by every API replica on that database)."""

from services.storage.blobs import BlobStore
from services.storage.db_blobs import DbBlobStore, StorageBase
from services.storage.errors import BlobNotFound, InvalidBlobId, StorageError

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "DbBlobStore",
    "InvalidBlobId",
    "StorageBase",
    "StorageError",
]
