"""The indexes that ``aigc bench search`` times side by side, FAISS's and ours, on one footing.

Every option answers the same question, "which registrations are within the rule of this
fingerprint?", and returns the registration rows (``words`` row numbers) with their rule
distance, so its answers can be compared with the exact ones. FAISS indexes hold every word of
every registration as a 64-bit binary vector (label = 4 x row + word) and are asked for the four
query words; their word hits are re-scored by the rule, as ours are.

* ``IndexBinaryFlat``: brute force over all words (``range_search``).
* ``IndexBinaryMultiHash(64, nhash=4, b=16)``: four hash tables on 16-bit chunks, probing every
  key within ``nflip`` bits; ``nflip=3`` is exact at radius 15 (pigeonhole: 4 x (3 + 1) = 16).
* ``IndexBinaryIVF`` with multi-index-hashing lists: our algorithm run by FAISS's compiled list
  scanner, one inverted list per (chunk, 16-bit value), lists chosen by us
  (``add_core`` / ``range_search_preassigned``) rather than by a trained quantizer.

FAISS binary range search keeps distances strictly below its radius, so it is asked for
``threshold + 1``. Memory is the growth of the process's resident set while building.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import faiss
import numpy as np
from numpy.typing import NDArray

from services.provenance._mih import _probe_plan, chunk_radii

__all__ = ["OptionFigures", "Search", "faiss_options", "measure_option", "resident_bytes"]

Search = Callable[[NDArray[np.uint64]], NDArray[np.int64]]
"""Rows within the rule of one query (4 words), as an int64 array (any order)."""

_CHUNK_BITS = 16
_SHIFTS = np.arange(4, dtype=np.uint64) * np.uint64(_CHUNK_BITS)


@dataclass(frozen=True)
class OptionFigures:
    """One index measured: build time, memory and per-query times (seconds), exactness."""

    name: str
    build_s: float
    memory_mb: float
    query_median_s: float
    query_p95_s: float
    query_cpu_median_s: float
    queries: int
    recall: float
    exact: bool
    candidate_words_per_query: float | None = None
    """Stored words read and checked per query (median), where the option's layout gives it."""


def resident_bytes() -> int:
    """The resident set of this process after freed heap is returned (0 where unknown).

    Linux only: ``/proc/self/statm``, after glibc's ``malloc_trim`` so that memory freed by the
    previous option is not silently reused by the next one and counted as nothing.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def measure_option(
    name: str,
    build: Callable[[], Search],
    queries: Sequence[NDArray[np.uint64]],
    expected: Sequence[NDArray[np.int64]],
) -> OptionFigures:
    """Build one option, time it on ``queries`` and compare its rows with ``expected``."""
    before = resident_bytes()
    start = time.perf_counter()
    search = build()
    build_s = time.perf_counter() - start
    memory_mb = max(0, resident_bytes() - before) / 2**20
    times, cpu, found, wanted, exact = [], [], 0, 0, True
    for query, rows in zip(queries, expected, strict=False):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        got = search(query)
        times.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
        hit = np.intersect1d(got, rows)
        found, wanted = found + hit.size, wanted + rows.size
        exact = exact and hit.size == rows.size == np.unique(got).size
    return OptionFigures(
        name=name, build_s=build_s, memory_mb=memory_mb,
        query_median_s=float(np.median(times)), query_p95_s=float(np.percentile(times, 95)),
        query_cpu_median_s=float(np.median(cpu)), queries=len(times),
        recall=found / wanted if wanted else 1.0, exact=exact,
    )  # fmt: skip


def _codes(words: NDArray[np.uint64]) -> NDArray[np.uint8]:
    """Each 64-bit word as 8 bytes (Hamming distance does not depend on the byte order)."""
    return np.ascontiguousarray(words, dtype=np.uint64).reshape(-1).view(np.uint8).reshape(-1, 8)


def _rows_within(
    labels: NDArray[np.int64], words: NDArray[np.uint64], query: NDArray[np.uint64], limit: int
) -> NDArray[np.int64]:
    from services.provenance.index import min_pair_distances

    rows = np.unique(labels)
    return rows[min_pair_distances(words[rows], query) <= limit]


def _flat(words: NDArray[np.uint64], limit: int) -> Search:
    index = faiss.IndexBinaryFlat(64)
    index.add(_codes(words))

    def search(query: NDArray[np.uint64]) -> NDArray[np.int64]:
        _, _, labels = index.range_search(_codes(query), limit + 1)
        return _rows_within(labels // 4, words, query, limit)

    return search


def _multihash(words: NDArray[np.uint64], limit: int, nflip: int) -> Search:
    index = faiss.IndexBinaryMultiHash(64, 4, _CHUNK_BITS)
    index.add(_codes(words))
    index.nflip = nflip

    def search(query: NDArray[np.uint64]) -> NDArray[np.int64]:
        _, _, labels = index.range_search(_codes(query), limit + 1)
        return _rows_within(labels // 4, words, query, limit)

    return search


def _ivf_mih(words: NDArray[np.uint64], limit: int) -> Search:
    lists = 4 << _CHUNK_BITS
    quantizer = faiss.IndexBinaryFlat(64)  # unused, but the IVF holds a pointer to it
    index = faiss.IndexBinaryIVF(quantizer, 64, lists)
    index.is_trained = True  # lists are assigned by chunk value, never by the quantizer
    flat = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1)
    codes = _codes(flat)
    rows = np.repeat(np.arange(words.shape[0], dtype=np.int64), 4)
    for c in range(4):
        keys = ((flat >> _SHIFTS[c]) & np.uint64(0xFFFF)).astype(np.int64) + (c << _CHUNK_BITS)
        index.add_core(  # type: ignore[attr-defined]  # in the SWIG class, not in the stubs
            codes.shape[0], faiss.swig_ptr(codes), faiss.swig_ptr(rows), faiss.swig_ptr(keys)
        )
    probe_chunk, probe_mask = _probe_plan(chunk_radii(limit))
    index.nprobe = probe_mask.size
    base = probe_chunk << _CHUNK_BITS

    def search(query: NDArray[np.uint64]) -> NDArray[np.int64]:
        chunks = ((query[:, None] >> _SHIFTS[None, :]) & np.uint64(0xFFFF)).astype(np.int64)
        assign = (chunks[:, probe_chunk] ^ probe_mask) + base
        _, _, labels = index.range_search_preassigned(_codes(query), limit + 1, assign, None)
        assert quantizer.ntotal == 0  # keeps the quantizer alive as long as the index
        return _rows_within(labels, words, query, limit)

    return search


def faiss_options(
    words: NDArray[np.uint64], limit: int, *, nflips: Sequence[int] = (3, 2)
) -> list[tuple[str, Callable[[], Search], bool]]:
    """(name, builder, slow) for each FAISS option; ``slow`` ones get fewer timed queries."""
    if max(chunk_radii(limit)) > 5:
        raise ValueError(f"the MIH-list option needs a threshold of at most 23, got {limit}")
    options: list[tuple[str, Callable[[], Search], bool]] = [
        ("FAISS IndexBinaryFlat", lambda: _flat(words, limit), False),
        ("FAISS IndexBinaryIVF, MIH lists", lambda: _ivf_mih(words, limit), False),
    ]
    for nflip in nflips:
        name = f"FAISS IndexBinaryMultiHash nflip={nflip}"
        options.append((name, partial(_multihash, words, limit, nflip), True))
    return options
