"""Blobs in the database: every API replica on one database reads every blob, whatever its
machine (``AIGC_BLOB_STORE=db``). Same interface and ids as :class:`~services.storage.BlobStore`.

A blob is written once under its sha256 (insert-if-absent), so concurrent writers of the same
bytes agree and no reader ever sees a half-written blob (the row appears with its commit).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, LargeBinary, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.storage.blobs import check_blob_id
from services.storage.errors import BlobNotFound, StorageError


class StorageBase(DeclarativeBase):
    """Metadata of the blob table (the API's Alembic migrations create it: 0006)."""


class StoredBlob(StorageBase):
    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DbBlobStore:
    """``put(bytes) -> id``, ``get(id) -> bytes``, ``id in store``; rows in table ``blobs``."""

    def __init__(self, engine: Engine):
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise StorageError(f"no database blob store for dialect {dialect}")
        self.engine = engine
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        StorageBase.metadata.create_all(engine)  # a no-op where the migrations made it

    def put(self, data: bytes) -> str:
        blob_id = hashlib.sha256(data).hexdigest()
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(StoredBlob).values(id=blob_id, data=data).on_conflict_do_nothing()
            )
        return blob_id

    def get(self, blob_id: str) -> bytes:
        check_blob_id(blob_id)
        with self.engine.connect() as conn:
            data = conn.execute(select(StoredBlob.data).where(StoredBlob.id == blob_id)).scalar()
        if data is None:
            raise BlobNotFound(f"no blob {blob_id}")
        return bytes(data)

    def __contains__(self, blob_id: object) -> bool:
        if not isinstance(blob_id, str):
            return False
        try:
            check_blob_id(blob_id)
        except StorageError:
            return False
        with self.engine.connect() as conn:
            found = conn.execute(select(StoredBlob.id).where(StoredBlob.id == blob_id)).scalar()
        return found is not None
