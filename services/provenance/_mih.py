"""Multi-index hashing tables: exact Hamming range search over many 64-bit words.

Each word is cut into four 16-bit chunks. If two words are within distance ``r``, then by the
pigeonhole principle some chunk c is within ``tau[c]`` of the query's chunk, where
``sum(tau[c] + 1) >= r + 1``. So the candidates are the words whose chunk c equals one of the
query chunk's neighbours within ``tau[c]``; every candidate is then checked on all 64 bits.

Layout: one bucket per (chunk, 16-bit value), ``c * 65536 + v``; bucket b holds, contiguously
from ``offsets[b]`` to ``offsets[b + 1]``, the words whose chunk c is ``v`` (``bucket_words``,
the words themselves, so the inner loop reads sequential memory) and their positions in
``words`` (``bucket_positions``). The probe loops are compiled with numba
(:func:`_rule_query`): about 720,000 candidate words per query at a million four-word
fingerprints, checked at ~1.2 ns each (0.84 ms per query) instead of the ~4 ns of the numpy +
scipy gather this replaced (docs/provenance.md, "Near-duplicate index"; the bench keeps that one
as its baseline, :mod:`aigc_lab.provenance._search_variants`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from itertools import combinations
from typing import Any, cast

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

__all__ = ["ChunkTables", "chunk_radii"]

_CHUNKS = 4
_BITS = 16
_VALUES = 1 << _BITS
_MAX_RADIUS = 5  # beyond this the probe count (C(16, <=r)) makes a linear scan cheaper
_SHIFTS = np.arange(_CHUNKS, dtype=np.uint64) * np.uint64(_BITS)
_MASK = np.uint64(_VALUES - 1)
_GROUP = 4  # words per registration (the fingerprint's four views)
_LINE_WORDS = 8  # 64-bit words per 64-byte cache line
_AHEAD = 16  # buckets prefetched ahead of the scan (8-64 measured alike)
_DIST_BITS = 7  # a hit packs (slot or row) << 7 | distance (0..64)
_DIST_MASK = (1 << _DIST_BITS) - 1


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


@intrinsic
def _ctpop(typingctx, value):  # type: ignore[no-untyped-def]  # numba's intrinsic protocol
    """LLVM's ``ctpop`` (one ``popcnt`` instruction on x86-64) on an integer inside njit code."""
    if value != types.uint64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])  # i64 either way: the count read as a signed int

    return types.int64(value), codegen


# The intrinsics as the njit code calls them (numba resolves the globals to the same objects).
_popcount = cast("Callable[[np.uint64], int]", _ctpop)


@intrinsic
def _prefetch_line(typingctx, array, index):  # type: ignore[no-untyped-def]  # numba's protocol
    """LLVM's ``prefetch`` of ``array[index]``'s cache line into L2 (``prefetcht1`` on x86-64).

    Into L2 rather than L1: the scan measured 0.66-0.70 against 0.74 ms per query at a million
    fingerprints (0.80 against 1.00 before the unsigned indices); presumably L1 has too few
    line-fill buffers for ~16 buckets of 8 lines in flight.
    """
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        array_type = signature.args[0]
        handle = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, array_type, handle, [args[1]]
        )
        byte_pointer, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        kind = ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32])
        function = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, kind, "llvm.prefetch.p0"
        )
        builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(2), i32(1)])
        return context.get_dummy_value()

    return types.none(array, index), codegen


_prefetch = cast("Callable[[NDArray[Any], int], None]", _prefetch_line)


@numba.njit(cache=True, inline="always")
def _prefetch_range(array: NDArray[np.uint64], start: int, end: int) -> None:
    for k in range(start, end, _LINE_WORDS):
        _prefetch(array, k)
    if end > start:
        _prefetch(array, end - 1)


@numba.njit(cache=True, inline="always")
def _bucket(
    query: NDArray[np.uint64], b: int, probe_chunk: NDArray[np.int64], probe_mask: NDArray[np.int64]
) -> int:
    chunk = probe_chunk[b // _GROUP]
    key = np.int64((query[b % _GROUP] >> np.uint64(chunk * _BITS)) & _MASK)
    return int(chunk * _VALUES + (key ^ probe_mask[b // _GROUP]))


@numba.njit(cache=True, nogil=True)
def _rule_query(
    query: NDArray[np.uint64],
    limit: int,
    words: NDArray[np.uint64],
    alive: NDArray[np.bool_],
    offsets: NDArray[np.int32],
    bucket_words: NDArray[np.uint64],
    bucket_positions: NDArray[np.int32],
    probe_chunk: NDArray[np.int64],
    probe_mask: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows of ``words`` (n x 4) alive and within the rule of ``query``, with their distance.

    The probed buckets are short (~61 words at a million fingerprints) and scattered, so the
    scan is bound by memory latency, not by the popcounts: each bucket's cache lines are
    prefetched ``_AHEAD`` buckets before they are read (docs/provenance.md has the figures).

    Exact by the pigeonhole bound: every (stored word, query word) pair within ``limit`` is
    within its radius on at least one chunk, so it is in a probed bucket. Hence a row's
    nearest hit is its rule distance (the minimum over its 16 pairs) without reading its
    words; a row hit through several pairs or chunks is reported once, after a sort.

    It runs without the GIL (``nogil``) and keeps no state between calls, so threads serving
    queries (the API's thread pool) scan in parallel.
    """
    total = probe_mask.size * _GROUP  # bucket b: probe b // 4 of query word b % 4
    starts = np.empty(total, dtype=np.int64)  # read first, all at once: the loads overlap
    ends = np.empty(total, dtype=np.int64)
    for b in range(total):
        bucket = _bucket(query, b, probe_chunk, probe_mask)
        starts[b], ends[b] = offsets[bucket], offsets[bucket + 1]
    hits_at = np.empty(64, dtype=np.int64)  # slot and distance of each word within ``limit``
    found = 0
    for b in range(min(_AHEAD, total)):
        _prefetch_range(bucket_words, starts[b], ends[b])
    for b in range(total):  # the hot loop: a branch-free scan, vectorised by LLVM
        if b + _AHEAD < total:
            _prefetch_range(bucket_words, starts[b + _AHEAD], ends[b + _AHEAD])
        q = query[b % _GROUP]
        nearest = 64  # a min reduction: measured 8% faster than counting the hits
        # Unsigned indices: numba then drops its negative-index wraparound, and LLVM emits
        # contiguous vector loads instead of a gather (measured 4x less compute).
        for k in range(np.uint64(starts[b]), np.uint64(ends[b])):
            nearest = min(nearest, _popcount(bucket_words[k] ^ q))
        if nearest > limit:  # most buckets; the others are read again while still in L1
            continue
        if found + ends[b] - starts[b] > hits_at.size:
            grown = np.empty(2 * (found + ends[b] - starts[b]), dtype=np.int64)
            grown[:found] = hits_at[:found]
            hits_at = grown
        for k in range(starts[b], ends[b]):
            distance = _popcount(bucket_words[k] ^ q)
            if distance <= limit:
                hits_at[found] = (k << _DIST_BITS) | distance
                found += 1
    # The rest reads scattered memory (a slot's position, a row's tombstone): every address is
    # prefetched before the first is read, so the misses overlap.
    for n in range(found):
        _prefetch(bucket_positions, hits_at[n] >> _DIST_BITS)
    keys = np.empty(found, dtype=np.int64)  # row, then distance
    for n in range(found):
        row = bucket_positions[hits_at[n] >> _DIST_BITS] // _GROUP
        keys[n] = (row << _DIST_BITS) | (hits_at[n] & _DIST_MASK)
    keys.sort()
    rows = np.empty(found, dtype=np.int64)
    dists = np.empty(found, dtype=np.int64)
    unique = 0
    for n in range(found):  # a row hit through several (word, chunk) pairs: its first, nearest
        row = keys[n] >> _DIST_BITS
        if unique == 0 or row != rows[unique - 1]:
            rows[unique], dists[unique] = row, keys[n] & _DIST_MASK
            _prefetch(alive, row)
            unique += 1
    kept = 0
    for n in range(unique):
        if alive[rows[n]]:
            rows[kept], dists[kept] = rows[n], dists[n]
            kept += 1
    return rows[:kept], dists[:kept]


@numba.njit(cache=True, nogil=True)
def _rule_scan(
    query: NDArray[np.uint64], limit: int, words: NDArray[np.uint64], alive: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """:func:`_rule_query` by a linear scan (radii beyond the tables' reach)."""
    rows = np.empty(words.shape[0], dtype=np.int64)
    dists = np.empty(words.shape[0], dtype=np.int64)
    count = 0
    for row in range(words.shape[0]):
        if not alive[row]:
            continue
        best = 64
        for pair in range(_GROUP * _GROUP):
            best = min(best, _popcount(words[row, pair // _GROUP] ^ query[pair % _GROUP]))
        if best <= limit:
            rows[count], dists[count] = row, best
            count += 1
    return rows[:count], dists[:count]


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
        self.offsets, self.bucket_positions, self.bucket_words = offsets, positions, sorted_words

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the tables and the words, in bytes."""
        return int(
            self.words.nbytes
            + self.offsets.nbytes
            + self.bucket_positions.nbytes
            + self.bucket_words.nbytes
        )

    def rule_query(
        self, query: NDArray[np.uint64], limit: int, alive: NDArray[np.bool_]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Registrations (rows of four consecutive words) alive and within the rule of
        ``query`` (four words), each once, with their rule distance (unordered)."""
        words = self.words.reshape(-1, _GROUP)
        query = np.ascontiguousarray(query, dtype=np.uint64)
        if query.shape != (_GROUP,):
            raise ValueError(f"a query is {_GROUP} words, got shape {query.shape}")
        if len(self) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        radii = chunk_radii(limit)
        if max(radii) > _MAX_RADIUS:
            return _rule_scan(query, limit, words, alive)
        probe_chunk, probe_mask = _probe_plan(radii)
        return _rule_query(
            query, limit, words, alive, self.offsets, self.bucket_words, self.bucket_positions,
            probe_chunk, probe_mask,
        )  # fmt: skip
