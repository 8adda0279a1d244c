"""Multi-index hashing tables: exact Hamming range search over many 64-bit words.

Each word is cut into four 16-bit chunks. If two words are within distance ``r``, then by the
pigeonhole principle some chunk c is within ``tau[c]`` of the query's chunk, where
``sum(tau[c] + 1) >= r + 1``. So the candidates are the words whose chunk c equals one of the
query chunk's neighbours within ``tau[c]``; every candidate is then checked on all 64 bits.
Each chunk has a table sorted by chunk value (a counting sort), with an offsets array giving
the slice of each of the 65,536 values, and a copy of the words in that order so candidate
slices are read from contiguous memory.
"""

from __future__ import annotations

from functools import cache
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

__all__ = ["ChunkTables", "chunk_radii"]

_CHUNKS = 4
_BITS = 16
_VALUES = 1 << _BITS
_MAX_RADIUS = 5  # beyond this the probe count (C(16, <=r)) makes a linear scan cheaper


def chunk_radii(radius: int) -> tuple[int, ...]:
    """Per-chunk radii whose (radius + 1) values sum to ``radius + 1``, as even as possible."""
    base, extra = divmod(radius + 1, _CHUNKS)
    return tuple(base - 1 + (1 if c < extra else 0) for c in range(_CHUNKS))


@cache
def _neighbour_masks(radius: int) -> NDArray[np.uint64]:
    """All 16-bit masks of at most ``radius`` set bits (the probe offsets)."""
    masks = [0]
    for k in range(1, radius + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(_BITS), k))
    return np.array(masks, dtype=np.uint64)


class ChunkTables:
    """Static MIH tables over ``words`` (a flat uint64 array); answers row-agnostic probes."""

    def __init__(self, words: NDArray[np.uint64]) -> None:
        self.words = np.ascontiguousarray(words, dtype=np.uint64)
        size = self.words.shape[0]
        if size >= 2**31:
            raise ValueError(f"at most 2**31 - 1 words per table, got {size}")
        self.offsets = np.zeros(_CHUNKS * _VALUES + 1, dtype=np.int64)
        self.positions = np.empty(_CHUNKS * size, dtype=np.int32)
        self.sorted_words = np.empty(_CHUNKS * size, dtype=np.uint64)
        for c in range(_CHUNKS):
            keys = ((self.words >> np.uint64(_BITS * c)) & np.uint64(_VALUES - 1)).astype(np.uint16)
            order = np.argsort(keys, kind="stable")  # radix sort for 16-bit keys
            counts = np.bincount(keys, minlength=_VALUES)
            start = c * _VALUES
            self.offsets[start + 1 : start + _VALUES + 1] = np.cumsum(counts) + c * size
            self.positions[c * size : (c + 1) * size] = order
            self.sorted_words[c * size : (c + 1) * size] = np.take(self.words, order)

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def within(self, queries: NDArray[np.uint64], radius: int) -> NDArray[np.int64]:
        """Positions (into ``words``) of every word within ``radius`` of any query word."""
        if len(self) == 0 or queries.size == 0:
            return np.empty(0, dtype=np.int64)
        radii = chunk_radii(radius)
        if radius < 0 or max(radii) > _MAX_RADIUS:
            return self._scan(queries, radius)
        found: list[NDArray[np.int32]] = []
        for c, tau in enumerate(radii):
            if tau < 0:
                continue
            masks = _neighbour_masks(tau)
            shift = np.uint64(_BITS * c)
            # One block per (chunk, query word) keeps the intermediates cache-sized.
            for query in queries:
                chunk = (query >> shift) & np.uint64(_VALUES - 1)
                keys = (masks ^ chunk).astype(np.int64) + c * _VALUES
                starts = self.offsets[keys]
                lengths = self.offsets[keys + 1] - starts
                total = int(lengths.sum())
                if total == 0:
                    continue
                ends = np.cumsum(lengths)
                index = np.repeat(starts - ends + lengths, lengths)
                index += np.arange(total, dtype=np.int64)
                close = np.bitwise_count(np.take(self.sorted_words, index) ^ query) <= radius
                found.append(np.take(self.positions, index[close]))
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(found)).astype(np.int64)

    def _scan(self, queries: NDArray[np.uint64], radius: int) -> NDArray[np.int64]:
        hits = [np.flatnonzero(np.bitwise_count(self.words ^ q) <= radius) for q in queries]
        return np.unique(np.concatenate(hits)) if hits else np.empty(0, dtype=np.int64)
