"""Content-addressed blobs: round trip, dedup, traversal refused, no partial files."""

from __future__ import annotations

import hashlib

import pytest

from services.storage import BlobNotFound, BlobStore, InvalidBlobId


def test_put_get_and_dedup(tmp_path):
    store = BlobStore(tmp_path)
    blob_id = store.put(b"hello")
    assert blob_id == hashlib.sha256(b"hello").hexdigest()
    assert store.get(blob_id) == b"hello" and blob_id in store
    assert store.put(b"hello") == blob_id
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "..", "/etc/passwd", "A" * 64, "0" * 63, "", "0" * 64 + "/x"]
)
def test_path_traversal_and_malformed_ids_are_refused(tmp_path, bad):
    store = BlobStore(tmp_path)
    with pytest.raises(InvalidBlobId):
        store.get(bad)
    assert bad not in store


def test_missing_blob(tmp_path):
    with pytest.raises(BlobNotFound):
        BlobStore(tmp_path).get("0" * 64)
