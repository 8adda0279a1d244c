"""A folder of blobs named by the sha256 of their bytes.

Names are validated as 64 lowercase hex characters before they touch the filesystem, so no id
can traverse out of the folder; writes go to a temporary file and are renamed into place, so a
crash never leaves a half-written blob under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from services.storage.errors import BlobNotFound, InvalidBlobId

_ID = re.compile(r"^[0-9a-f]{64}$")


def check_blob_id(blob_id: object) -> None:
    """Raises :class:`InvalidBlobId` unless ``blob_id`` is 64 lowercase hex characters."""
    if not isinstance(blob_id, str) or not _ID.fullmatch(blob_id):
        raise InvalidBlobId(f"not a blob id: {str(blob_id)[:80]!r}")


class BlobStore:
    """``put(bytes) -> id``, ``get(id) -> bytes``; ids are sha256 hex digests."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, blob_id: str) -> Path:
        check_blob_id(blob_id)
        return self.root / blob_id[:2] / blob_id

    def put(self, data: bytes) -> str:
        blob_id = hashlib.sha256(data).hexdigest()
        path = self._path(blob_id)
        if path.exists():
            return blob_id
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return blob_id

    def get(self, blob_id: str) -> bytes:
        path = self._path(blob_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {blob_id}") from None

    def __contains__(self, blob_id: object) -> bool:
        try:
            return isinstance(blob_id, str) and self._path(blob_id).exists()
        except InvalidBlobId:
            return False
