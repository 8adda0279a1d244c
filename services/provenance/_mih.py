"""Multi-index hashing tables: exact Hamming range search over many 64-bit words.

Each word is cut into four 16-bit chunks. If two words are within distance ``r``, then by the
pigeonhole principle some chunk c is within ``tau[c]`` of the query's chunk, where
``sum(tau[c] + 1) >= r + 1``. So the candidates are the words whose chunk c equals one of the
query chunk's neighbours within ``tau[c]``; every candidate is then checked on all 64 bits.

The four tables are one compressed-sparse-row matrix with a row per (chunk, 16-bit value): row
``c * 65536 + v`` holds, contiguously, the words whose chunk c is ``v`` (the matrix data) and
their positions (its column indices). A query gathers its probe rows in one call of scipy's
compiled row gather (``csr_array[rows]``) instead of building an index array in numpy, which
measured 1.5x faster at a million fingerprints (docs/provenance.md, "Near-duplicate index").
"""

from __future__ import annotations

from functools import cache
from itertools import combinations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = ["ChunkTables", "chunk_radii"]

_CHUNKS = 4
_BITS = 16
_VALUES = 1 << _BITS
_MAX_RADIUS = 5  # beyond this the probe count (C(16, <=r)) makes a linear scan cheaper
_SHIFTS = np.arange(_CHUNKS, dtype=np.uint64) * np.uint64(_BITS)
_MASK = np.uint64(_VALUES - 1)


def chunk_radii(radius: int) -> tuple[int, ...]:
    """Per-chunk radii whose (radius + 1) values sum to ``radius + 1``, as even as possible."""
    base, extra = divmod(radius + 1, _CHUNKS)
    return tuple(base - 1 + (1 if c < extra else 0) for c in range(_CHUNKS))


@cache
def _neighbour_masks(radius: int) -> NDArray[np.int64]:
    """All 16-bit masks of at most ``radius`` set bits (the probe offsets)."""
    masks = [0]
    for k in range(1, radius + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(_BITS), k))
    return np.array(masks, dtype=np.int64)


@cache
def _probe_plan(radii: tuple[int, ...]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each probe: its chunk and its mask (chunks with a negative radius are skipped)."""
    chunk_of = [np.full(_neighbour_masks(t).size, c) for c, t in enumerate(radii) if t >= 0]
    masks = [_neighbour_masks(t) for t in radii if t >= 0]
    return np.concatenate(chunk_of).astype(np.int64), np.concatenate(masks)


class ChunkTables:
    """Static MIH tables over ``words`` (a flat uint64 array); answers row-agnostic probes."""

    def __init__(self, words: NDArray[np.uint64]) -> None:
        self.words = np.ascontiguousarray(words, dtype=np.uint64)
        size = self.words.shape[0]
        if _CHUNKS * size >= 2**31:
            raise ValueError(f"at most {2**31 // _CHUNKS - 1} words per table, got {size}")
        offsets = np.zeros(_CHUNKS * _VALUES + 1, dtype=np.int32)
        positions = np.empty(_CHUNKS * size, dtype=np.int32)
        sorted_words = np.empty(_CHUNKS * size, dtype=np.uint64)
        for c in range(_CHUNKS):
            keys = ((self.words >> _SHIFTS[c]) & _MASK).astype(np.uint16)
            order = np.argsort(keys, kind="stable")  # radix sort for 16-bit keys
            counts = np.bincount(keys, minlength=_VALUES)
            start = c * _VALUES
            offsets[start + 1 : start + _VALUES + 1] = np.cumsum(counts) + c * size
            positions[c * size : (c + 1) * size] = order
            sorted_words[c * size : (c + 1) * size] = np.take(self.words, order)
        self._rows = sp.csr_array(
            (sorted_words, positions, offsets), shape=(_CHUNKS * _VALUES, max(size, 1)), copy=False
        )

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the tables and the words, in bytes."""
        rows = self._rows
        return int(self.words.nbytes + rows.data.nbytes + rows.indices.nbytes + rows.indptr.nbytes)

    def within(self, queries: NDArray[np.uint64], radius: int) -> NDArray[np.int64]:
        """Positions (into ``words``) of every word within ``radius`` of any query word."""
        if len(self) == 0 or queries.size == 0:
            return np.empty(0, dtype=np.int64)
        radii = chunk_radii(radius)
        if radius < 0 or max(radii) > _MAX_RADIUS:
            return self._scan(queries, radius)
        probe_chunk, probe_mask = _probe_plan(radii)
        base = probe_chunk * _VALUES
        found: list[NDArray[np.int32]] = []
        for query in queries:  # one gather per query word: its probes of every chunk
            chunks = ((query >> _SHIFTS) & _MASK).astype(np.int64)
            block = self._rows[(chunks[probe_chunk] ^ probe_mask) + base]
            close = np.bitwise_count(block.data ^ query) <= radius
            found.append(block.indices[close])
        return np.unique(np.concatenate(found)).astype(np.int64)

    def _scan(self, queries: NDArray[np.uint64], radius: int) -> NDArray[np.int64]:
        hits = [np.flatnonzero(np.bitwise_count(self.words ^ q) <= radius) for q in queries]
        return np.unique(np.concatenate(hits)) if hits else np.empty(0, dtype=np.int64)
