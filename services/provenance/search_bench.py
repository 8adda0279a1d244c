"""Search benchmark: the near-duplicate index against a BK-tree (pybktree) in the same run.

Fingerprints are random but realistic: a generator calibrated on real fingerprints of the
package photographs (and their tiles) reproduces the per-bit frequencies of word 0 and the
bit-flip rate between neighbouring views, so the four words of an entry are correlated the way
real ones are; ``duplicate_share`` of the entries are edited copies of earlier ones. Half the
queries are edited copies of stored entries (they have answers), half are fresh fingerprints.

The BK-tree holds every word (a metric tree needs a metric; the rule's min-over-pairs is not
one) and a query asks it for each of the four query words; the union, re-scored by the rule, is
exactly the index's answer, which the benchmark checks.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pybktree
from numpy.typing import NDArray

from services.provenance.corpus import build_corpus
from services.provenance.errors import DegenerateImageError
from services.provenance.index import NearDuplicateIndex, min_pair_distances
from services.provenance.perceptual import fingerprint
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

__all__ = ["FingerprintModel", "SearchReport", "calibrate", "run_search_benchmark"]

_T = TypeVar("_T")

_BITS = np.uint64(1) << np.arange(63, -1, -1, dtype=np.uint64)


@dataclass(frozen=True)
class FingerprintModel:
    """Bit frequencies of word 0 and flip rates between views k and k+1, from real images."""

    bit_p: NDArray[np.float64]
    flip: tuple[float, float, float]
    samples: int

    def sample(self, rng: np.random.Generator, count: int) -> NDArray[np.uint64]:
        """``count`` x 4 words drawn from the model (never degenerate)."""
        bits = rng.random((count, 64)) < self.bit_p
        words = np.empty((count, 4), dtype=np.uint64)
        words[:, 0] = _pack(bits)
        for k, rate in enumerate(self.flip):
            bits = bits ^ (rng.random((count, 64)) < rate)
            words[:, k + 1] = _pack(bits)
        return _repair(words)


def _pack(bits: NDArray[np.bool_]) -> NDArray[np.uint64]:
    return np.asarray(
        (bits.astype(np.uint64) * _BITS).sum(axis=1, dtype=np.uint64), dtype=np.uint64
    )


def _repair(words: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Nudge the (astronomically rare) all-zero / all-one words so nothing is degenerate."""
    words[words == 0] = np.uint64(1)
    words[words == np.uint64(2**64 - 1)] = np.uint64(2**64 - 2)
    return words


def calibrate(*, limit: int | None = None) -> FingerprintModel:
    """Fit the generator on the package photographs and their tiles (no procedural images)."""
    words = []
    for item in build_corpus(procedural=0, limit=limit):
        try:
            words.append(fingerprint(item.image).words)
        except DegenerateImageError:
            continue
    real = np.array(words, dtype=np.uint64)
    bits = (real[:, :, None] & _BITS) != 0
    bit_p = np.clip(bits[:, 0, :].mean(axis=0), 0.05, 0.95)
    flips = [float((bits[:, k] != bits[:, k + 1]).mean()) for k in range(3)]
    return FingerprintModel(bit_p=bit_p, flip=(flips[0], flips[1], flips[2]), samples=len(real))


def _noisy(rng: np.random.Generator, words: NDArray[np.uint64], rate: float) -> NDArray[np.uint64]:
    noise = _pack(rng.random((words.size, 64)) < rate).reshape(words.shape)
    return _repair(words ^ noise)


def realistic_fingerprints(
    model: FingerprintModel, size: int, *, seed: int, duplicate_share: float = 0.02
) -> NDArray[np.uint64]:
    """``size`` x 4 words; ``duplicate_share`` of rows are edited copies of earlier rows."""
    rng = np.random.default_rng(seed)
    out = np.empty((size, 4), dtype=np.uint64)
    step = 131_072
    for start in range(0, size, step):
        out[start : start + step] = model.sample(rng, min(step, size - start))
    copies = int(size * duplicate_share)
    if copies and size > 1:
        targets = rng.integers(1, size, size=copies)
        sources = (rng.random(copies) * targets).astype(np.int64)
        out[targets] = _noisy(rng, out[sources], 4 / 64)
    return out


@dataclass(frozen=True)
class SearchReport:
    """Timings in seconds (per query for query times); ratios are BK-tree / index.

    Query times are wall-clock; ``query_cpu_median_s`` is the CPU time of this process per query
    (``time.process_time``), the "one core" figure when other work shares the machine.
    """

    size: int
    build_s: float
    load_s: float
    query_median_s: float
    query_p95_s: float
    query_cpu_median_s: float
    mean_hits: float
    baseline_size: int
    baseline_build_s: float
    bk_median_s: float
    bk_small_median_s: float
    index_at_baseline_median_s: float
    same_results: bool
    speedup_same_size: float
    bk_exponent: float
    bk_extrapolated_s: float
    speedup_extrapolated: float


def _timed(fn: Callable[[], _T]) -> tuple[float, _T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _queries(
    rng: np.random.Generator, model: FingerprintModel, stored: NDArray[np.uint64], count: int
) -> list[Fingerprint]:
    half = count // 2
    picked = stored[rng.integers(0, stored.shape[0], size=half)]
    words = np.concatenate([_noisy(rng, picked, 6 / 64), model.sample(rng, count - half)])
    return [Fingerprint((int(a), int(b), int(c), int(d))) for a, b, c, d in words.tolist()]


def _bk_query(
    tree: pybktree.BKTree, words: NDArray[np.uint64], fp: Fingerprint, limit: int
) -> list[tuple[int, int]]:
    rows: set[int] = set()
    for word in fp.words:
        rows.update(row for _, (_, row) in tree.find((word, -1), limit))
    ordered = np.array(sorted(rows), dtype=np.int64)
    dist = min_pair_distances(words[ordered], np.array(fp.words, dtype=np.uint64))
    return sorted((int(d), int(r)) for r, d in zip(ordered, dist, strict=True))


def _bk_tree(words: NDArray[np.uint64]) -> pybktree.BKTree:
    items = [(int(w), row) for row, quad in enumerate(words.tolist()) for w in quad]
    return pybktree.BKTree(lambda a, b: (a[0] ^ b[0]).bit_count(), items)


def _build_and_reload(
    ids: NDArray[np.int64], words: NDArray[np.uint64], threshold: int
) -> tuple[float, float, NearDuplicateIndex]:
    build_s, index = _timed(lambda: NearDuplicateIndex.build(ids, words, threshold=threshold))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.npz"
        index.save(path)
        del index
        load_s, loaded = _timed(lambda: NearDuplicateIndex.load(path))
    return build_s, load_s, loaded


def run_search_benchmark(
    *,
    size: int,
    baseline_size: int,
    queries: int,
    baseline_queries: int,
    seed: int = 11,
    threshold: int = MATCH_THRESHOLD,
    progress: Callable[[str], None] | None = None,
) -> SearchReport:
    """Build, save/load and query an index of ``size`` entries; compare with a BK-tree."""
    note = progress or (lambda _msg: None)
    baseline_size = min(baseline_size, size)
    note("calibrating on package photographs")
    model = calibrate()
    rng = np.random.default_rng(seed)
    note(f"generating {size:,} fingerprints")
    words = realistic_fingerprints(model, size, seed=seed)
    ids = np.arange(size, dtype=np.int64)
    note("building, saving and reloading the index")
    build_s, load_s, index = _build_and_reload(ids, words, threshold)
    note(f"{queries} queries on the index")
    times: list[float] = []
    cpu_times: list[float] = []
    hits = 0
    for fp in _queries(rng, model, words, queries):
        cpu_start = time.process_time()
        elapsed, found = _timed(partial(index.query, fp))
        cpu_times.append(time.process_time() - cpu_start)
        times.append(elapsed)
        hits += len(found)
    del index
    note(f"BK-tree over {baseline_size:,} entries ({4 * baseline_size:,} words)")
    small_words = words[:baseline_size]
    small_index = NearDuplicateIndex.build(ids[:baseline_size], small_words, threshold=threshold)
    baseline_build_s, tree = _timed(partial(_bk_tree, small_words))
    quarter = max(1, baseline_size // 4)
    quarter_tree = _bk_tree(words[:quarter])
    bk_times: list[float] = []
    small_times: list[float] = []
    ix_times: list[float] = []
    same = True
    for fp in _queries(rng, model, small_words, baseline_queries):
        t_bk, expected = _timed(partial(_bk_query, tree, small_words, fp, threshold))
        t_ix, got = _timed(partial(small_index.query, fp))
        t_small, _ = _timed(partial(_bk_query, quarter_tree, words[:quarter], fp, threshold))
        bk_times.append(t_bk)
        ix_times.append(t_ix)
        small_times.append(t_small)
        same = same and expected == sorted((d, r) for r, d in got)
    bk_median, bk_small = float(np.median(bk_times)), float(np.median(small_times))
    exponent = 1.0
    if quarter < baseline_size:
        exponent = float(np.log(bk_median / bk_small) / np.log(baseline_size / quarter))
    extrapolated = bk_median * (size / baseline_size) ** exponent
    median, ix_median = float(np.median(times)), float(np.median(ix_times))
    return SearchReport(
        size=size,
        build_s=build_s,
        load_s=load_s,
        query_median_s=median,
        query_p95_s=float(np.percentile(times, 95)),
        query_cpu_median_s=float(np.median(cpu_times)),
        mean_hits=hits / max(1, queries),
        baseline_size=baseline_size,
        baseline_build_s=baseline_build_s,
        bk_median_s=bk_median,
        bk_small_median_s=bk_small,
        index_at_baseline_median_s=ix_median,
        same_results=same,
        speedup_same_size=bk_median / ix_median,
        bk_exponent=exponent,
        bk_extrapolated_s=extrapolated,
        speedup_extrapolated=extrapolated / median,
    )
