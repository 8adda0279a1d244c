"""Content-addressed blob storage (images, previews, sealed deliveries)."""

from services.storage.blobs import BlobNotFound, BlobStore, InvalidBlobId, StorageError

__all__ = ["BlobNotFound", "BlobStore", "InvalidBlobId", "StorageError"]
