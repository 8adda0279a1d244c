"""Variants of our index that ``aigc bench search`` measures beside the deployed one.

* :func:`numpy_csr_search`: the index's previous query path (numpy + scipy's compiled CSR row
  gather, 6.3 ms per query at a million fingerprints), kept as the measured baseline.
* :func:`merged_probe_search`: a layout-free way to read fewer candidates and stay exact. The
  four query words are nested views of one image, so their probe balls in a chunk table
  overlap; each bucket is read once and checked against every query word whose ball holds it.
* :func:`candidate_words`: the candidate words each layout reads for a query, the figure that
  sets the cost (docs/provenance.md, "Near-duplicate index").

All of them use the deployed tables (:class:`services.provenance._mih.ChunkTables`).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from services.provenance._mih import (
    _BITS,
    _CHUNKS,
    _GROUP,
    _MASK,
    _VALUES,
    ChunkTables,
    _popcount,
    _prefetch_range,
    _probe_plan,
    chunk_radii,
)
from services.provenance.index import min_pair_distances

__all__ = ["candidate_words", "merged_probe_search", "numpy_csr_search"]

_AHEAD = 16
_SHIFTS = np.arange(_CHUNKS, dtype=np.uint64) * np.uint64(_BITS)

Search = Callable[[NDArray[np.uint64]], NDArray[np.int64]]


def _rows_within(
    positions: NDArray[np.int64], words: NDArray[np.uint64], query: NDArray[np.uint64], limit: int
) -> NDArray[np.int64]:
    rows = np.unique(positions // _GROUP)
    return rows[min_pair_distances(words[rows], query) <= limit]


def numpy_csr_search(words: NDArray[np.uint64], limit: int) -> Search:
    """The previous query path: one scipy CSR row gather per query word, numpy checks."""
    tables = ChunkTables(words.ravel())
    size = len(tables)
    matrix = sp.csr_array(
        (tables.bucket_words, tables.bucket_positions, tables.offsets),
        shape=(_CHUNKS * _VALUES, max(size, 1)),
        copy=False,
    )
    probe_chunk, probe_mask = _probe_plan(chunk_radii(limit))
    base = probe_chunk * _VALUES

    def search(query: NDArray[np.uint64]) -> NDArray[np.int64]:
        found = []
        for word in query:
            chunks = ((word >> _SHIFTS) & _MASK).astype(np.int64)
            block = matrix[(chunks[probe_chunk] ^ probe_mask) + base]
            close = np.bitwise_count(block.data ^ word) <= limit
            found.append(block.indices[close])
        return _rows_within(np.concatenate(found).astype(np.int64), words, query, limit)

    return search


@numba.njit(cache=True)
def _merged_plan(
    query: NDArray[np.uint64],
    offsets: NDArray[np.int32],
    probe_chunk: NDArray[np.int64],
    probe_mask: NDArray[np.int64],
    radii: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Each bucket probed by any query word once: its bounds and the query words (a 4-bit set)."""
    total = probe_mask.size * _GROUP
    starts = np.empty(total, dtype=np.int64)
    ends = np.empty(total, dtype=np.int64)
    owners = np.empty(total, dtype=np.int64)
    n = 0
    for p in range(probe_mask.size):
        chunk = probe_chunk[p]
        shift = np.uint64(chunk * _BITS)
        for j in range(_GROUP):
            value = np.int64((query[j] >> shift) & _MASK) ^ probe_mask[p]
            owner = 0
            seen = False
            for other in range(_GROUP):
                near = _popcount(np.uint64(value ^ np.int64((query[other] >> shift) & _MASK)))
                if near <= radii[chunk]:
                    if other < j:
                        seen = True  # already read for an earlier query word
                    owner |= 1 << other
            if seen:
                continue
            bucket = chunk * _VALUES + value
            starts[n], ends[n], owners[n] = offsets[bucket], offsets[bucket + 1], owner
            n += 1
    return starts[:n], ends[:n], owners[:n]


@numba.njit(cache=True)
def _merged_hits(
    query: NDArray[np.uint64],
    limit: int,
    offsets: NDArray[np.int32],
    bucket_words: NDArray[np.uint64],
    bucket_positions: NDArray[np.int32],
    probe_chunk: NDArray[np.int64],
    probe_mask: NDArray[np.int64],
    radii: NDArray[np.int64],
) -> NDArray[np.int64]:
    starts, ends, owners = _merged_plan(query, offsets, probe_chunk, probe_mask, radii)
    found = np.empty(64, dtype=np.int64)
    count = 0
    for b in range(starts.size):
        if b + _AHEAD < starts.size:
            _prefetch_range(bucket_words, starts[b + _AHEAD], ends[b + _AHEAD])
        for j in range(_GROUP):
            if not (owners[b] >> j) & 1:
                continue
            q = query[j]
            nearest = 64  # as the deployed scan: a min reduction over unsigned indices
            for k in range(np.uint64(starts[b]), np.uint64(ends[b])):
                nearest = min(nearest, _popcount(bucket_words[k] ^ q))
            if nearest > limit:
                continue
            if count + ends[b] - starts[b] > found.size:
                grown = np.empty(2 * (count + ends[b] - starts[b]), dtype=np.int64)
                grown[:count] = found[:count]
                found = grown
            for k in range(starts[b], ends[b]):
                if _popcount(bucket_words[k] ^ q) <= limit:
                    found[count] = bucket_positions[k]
                    count += 1
    return found[:count]


def merged_probe_search(words: NDArray[np.uint64], limit: int) -> Search:
    """The compiled scan with each bucket read once for all the query words that probe it."""
    tables = ChunkTables(words.ravel())
    radii = chunk_radii(limit)
    probe_chunk, probe_mask = _probe_plan(radii)
    radii_array = np.array(radii, dtype=np.int64)

    def search(query: NDArray[np.uint64]) -> NDArray[np.int64]:
        positions = _merged_hits(
            query, limit, tables.offsets, tables.bucket_words, tables.bucket_positions,
            probe_chunk, probe_mask, radii_array,
        )  # fmt: skip
        return _rows_within(positions, words, query, limit)

    search(words[0])  # compile (or load numba's cache) outside the timed queries
    return search


def candidate_words(
    tables: ChunkTables, query: NDArray[np.uint64], limit: int
) -> tuple[int, int, int, int]:
    """Buckets and candidate words read for ``query``: every probe (the deployed scan), then
    each bucket once (:func:`merged_probe_search`)."""
    radii = chunk_radii(limit)
    probe_chunk, probe_mask = _probe_plan(radii)
    keys = ((query[:, None] >> (probe_chunk * _BITS).astype(np.uint64)) & _MASK).astype(np.int64)
    buckets = ((keys ^ probe_mask) + probe_chunk * _VALUES).ravel()
    sizes = np.diff(tables.offsets)
    unique = np.unique(buckets)
    return (
        int(buckets.size),
        int(sizes[buckets].sum()),
        int(unique.size),
        int(sizes[unique].sum()),
    )
