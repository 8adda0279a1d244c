"""Near-duplicate index: every registered fingerprint within the match rule of a query.

Layout: a static part (multi-index hashing tables over all four words of every fingerprint, see
:mod:`services.provenance._mih`) plus a small append buffer that is scanned linearly and merged
into the static part once it reaches ``merge_every`` entries. Revoked registrations are
tombstoned with :meth:`NearDuplicateIndex.remove`. Answers are exact: the same set a linear scan
with :meth:`Fingerprint.distance` returns.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.provenance._mih import ChunkTables
from services.provenance.errors import IndexEntryError, IndexFileError
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

__all__ = ["NearDuplicateIndex", "min_pair_distances"]

_FORMAT = "aigc-provenance-index/1"
_MAX_ID = 2**63 - 1


def min_pair_distances(stored: NDArray[np.uint64], query: NDArray[np.uint64]) -> NDArray[np.int64]:
    """The rule's distance from ``query`` (4 words) to each row of ``stored`` (n x 4 words)."""
    pairs = np.bitwise_count(stored[:, :, None] ^ query[None, None, :])
    return np.asarray(pairs.reshape(stored.shape[0], 16).min(axis=1), dtype=np.int64)


class NearDuplicateIndex:
    """Exact range search under the near-duplicate rule over (id, fingerprint) registrations."""

    def __init__(self, *, threshold: int = MATCH_THRESHOLD, merge_every: int = 4096) -> None:
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int)
            or not 0 <= threshold <= 64
        ):
            raise ValueError(f"threshold must be an int in 0..64, got {threshold!r}")
        if merge_every < 1:
            raise ValueError(f"merge_every must be >= 1, got {merge_every}")
        self.threshold = threshold
        self._merge_every = merge_every
        self._ids = np.empty(0, dtype=np.int64)
        self._words = np.empty((0, 4), dtype=np.uint64)
        self._alive = np.empty(0, dtype=bool)
        self._tables = ChunkTables(np.empty(0, dtype=np.uint64))
        self._pending_ids: list[int] = []
        self._pending_words: list[tuple[int, int, int, int]] = []
        self._id_order = np.empty(0, dtype=np.int64)
        self._sorted_ids = np.empty(0, dtype=np.int64)

    @classmethod
    def build(
        cls,
        ids: Iterable[int] | NDArray[np.int64],
        fingerprints: Iterable[Fingerprint] | NDArray[np.uint64],
        *,
        threshold: int = MATCH_THRESHOLD,
    ) -> NearDuplicateIndex:
        """Bulk-build from ids and fingerprints (or an ``n x 4`` uint64 array of words)."""
        index = cls(threshold=threshold)
        id_array = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        if isinstance(fingerprints, np.ndarray):
            words = np.asarray(fingerprints, dtype=np.uint64)
        else:
            words = np.array([fp.words for fp in fingerprints], dtype=np.uint64).reshape(-1, 4)
        index._load_arrays(id_array, words, np.ones(id_array.shape[0], dtype=bool))
        return index

    def _load_arrays(
        self, ids: NDArray[np.int64], words: NDArray[np.uint64], alive: NDArray[np.bool_]
    ) -> None:
        if words.ndim != 2 or words.shape[1] != 4:
            raise IndexEntryError(
                f"fingerprint words must be an n x 4 array, got shape {words.shape}"
            )
        if ids.ndim != 1 or ids.shape[0] != words.shape[0]:
            raise IndexEntryError(f"{ids.shape[0]} ids for {words.shape[0]} fingerprints")
        if ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() > _MAX_ID):
            raise IndexEntryError("ids must be integers in 0..2**63-1")
        ids = ids.astype(np.int64)
        id_order = np.argsort(ids, kind="stable")
        sorted_ids = ids[id_order]
        if sorted_ids.size > 1 and bool(np.any(sorted_ids[1:] == sorted_ids[:-1])):
            raise IndexEntryError("ids must be unique")
        flat = words.astype(np.uint64)
        if bool(np.any((flat == 0) | (flat == np.uint64(2**64 - 1)))):
            raise IndexEntryError(
                "degenerate fingerprints (a word of all zeros or ones) cannot register"
            )
        self._ids, self._words, self._alive = ids, np.ascontiguousarray(words), alive.astype(bool)
        self._tables = ChunkTables(self._words.ravel())
        self._id_order, self._sorted_ids = id_order, sorted_ids
        self._pending_ids, self._pending_words = [], []

    def __len__(self) -> int:
        return int(self._alive.sum()) + len(self._pending_ids)

    def __contains__(self, registration_id: object) -> bool:
        """True for an active (added and not removed) registration id."""
        if isinstance(registration_id, bool) or not isinstance(registration_id, int):
            return False
        if registration_id in self._pending_ids:
            return True
        row = self._row_of(registration_id)
        return row is not None and bool(self._alive[row])

    def _row_of(self, registration_id: int) -> int | None:
        if not 0 <= registration_id <= _MAX_ID:
            return None
        at = int(np.searchsorted(self._sorted_ids, registration_id))
        if at < self._sorted_ids.size and int(self._sorted_ids[at]) == registration_id:
            return int(self._id_order[at])
        return None

    def _taken(self, registration_id: int) -> bool:
        return registration_id in self._pending_ids or self._row_of(registration_id) is not None

    def add(self, registration_id: int, fp: Fingerprint) -> None:
        """Register one fingerprint under a new id (ids are unique, even after removal)."""
        if isinstance(registration_id, bool) or not isinstance(registration_id, int):
            raise IndexEntryError(f"id must be an int, got {registration_id!r}")
        if not 0 <= registration_id <= _MAX_ID:
            raise IndexEntryError(f"id {registration_id} is outside 0..2**63-1")
        if not isinstance(fp, Fingerprint):
            raise IndexEntryError(
                f"expected a Fingerprint for id {registration_id}, got {type(fp).__name__}"
            )
        if self._taken(registration_id):
            raise IndexEntryError(f"id {registration_id} is already in the index")
        if fp.is_degenerate():
            raise IndexEntryError(f"fingerprint of id {registration_id} is degenerate")
        self._pending_ids.append(registration_id)
        self._pending_words.append(fp.words)
        if len(self._pending_ids) >= self._merge_every:
            self.merge()

    def remove(self, registration_id: int) -> None:
        """Tombstone a registration (e.g. revoked by a challenge); its id stays reserved."""
        if registration_id in self._pending_ids:
            self.merge()
        row = self._row_of(registration_id)
        if row is None or not self._alive[row]:
            raise IndexEntryError(f"id {registration_id} is not an active entry of the index")
        self._alive[row] = False

    def merge(self) -> None:
        """Fold the append buffer into the static tables (automatic every ``merge_every`` adds)."""
        if not self._pending_ids:
            return
        ids = np.concatenate([self._ids, np.array(self._pending_ids, dtype=np.int64)])
        words = np.concatenate([self._words, np.array(self._pending_words, dtype=np.uint64)])
        alive = np.concatenate([self._alive, np.ones(len(self._pending_ids), dtype=bool)])
        self._load_arrays(ids, words, alive)

    def query(self, fp: Fingerprint, *, threshold: int | None = None) -> list[tuple[int, int]]:
        """Every (id, distance) with distance <= threshold, nearest first, then by id."""
        limit = self.threshold if threshold is None else threshold
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 64:
            raise ValueError(f"threshold must be an int in 0..64, got {limit!r}")
        query = np.array(fp.words, dtype=np.uint64)
        rows, found = self._tables.rule_query(query, limit, self._alive)
        found_ids = self._ids[rows]
        if self._pending_ids:
            pending = min_pair_distances(np.array(self._pending_words, dtype=np.uint64), query)
            close = pending <= limit
            found_ids = np.concatenate(
                [found_ids, np.array(self._pending_ids, dtype=np.int64)[close]]
            )
            found = np.concatenate([found, pending[close]])
        order = np.lexsort((found_ids, found))
        return list(zip(found_ids[order].tolist(), found[order].tolist(), strict=True))

    def save(self, path: str | Path) -> None:
        """Write the registrations (ids, words, tombstones) to an uncompressed ``.npz`` file."""
        self.merge()
        target = Path(path)
        with target.open("wb") as handle:
            np.savez(
                handle, format=np.array(_FORMAT), threshold=np.array(self.threshold),
                ids=self._ids, words=self._words, alive=self._alive,
            )  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> NearDuplicateIndex:
        """Read a file written by :meth:`save` and rebuild the tables."""
        source = Path(path)
        try:
            with np.load(source, allow_pickle=False) as data:
                if str(data["format"]) != _FORMAT:
                    raise IndexFileError(
                        str(source), f"format {data['format']!s}, expected {_FORMAT}"
                    )
                threshold = int(data["threshold"])
                ids, words, alive = data["ids"], data["words"], data["alive"]
        except IndexFileError:
            raise
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexFileError(str(source), str(exc) or type(exc).__name__) from exc
        index = cls(threshold=threshold)
        try:
            index._load_arrays(ids, words.astype(np.uint64), alive)
        except IndexEntryError as exc:
            raise IndexFileError(str(source), str(exc)) from exc
        return index
