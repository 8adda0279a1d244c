"""The index variants `aigc bench search` measures: exact answers, candidate counts."""

from __future__ import annotations

import numpy as np
import pytest

from aigc_lab.provenance._search_variants import (
    candidate_words,
    merged_probe_search,
    numpy_csr_search,
)
from services.provenance import MATCH_THRESHOLD
from services.provenance._mih import ChunkTables
from services.provenance.index import min_pair_distances


def _words(seed: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    words = rng.integers(1, 2**63 - 1, size=(count, 4), dtype=np.int64).astype(np.uint64)
    # nested-view-like rows: each word a few bits from the previous one, so probes overlap
    for k in range(1, 4):
        flips = rng.random((count, 64)) < 0.05
        words[:, k] = (
            words[:, k - 1] ^ np.packbits(flips, axis=1, bitorder="little").view(np.uint64).ravel()
        )
    return words | np.uint64(1)


@pytest.mark.parametrize("variant", [numpy_csr_search, merged_probe_search])
def test_variants_equal_a_linear_scan(variant) -> None:  # type: ignore[no-untyped-def]
    words = _words(5, 3000)
    words[10:13] = words[7]  # duplicates
    search = variant(words, MATCH_THRESHOLD)
    rng = np.random.default_rng(6)
    for row in rng.integers(0, 3000, size=30):
        query = words[row] ^ np.uint64(int(rng.integers(0, 2**15)))  # up to 15 low bits
        expected = np.flatnonzero(min_pair_distances(words, query) <= MATCH_THRESHOLD)
        assert np.array_equal(np.sort(search(query)), expected)


def test_merged_probes_read_fewer_candidates() -> None:
    words = _words(8, 5000)
    tables = ChunkTables(words.ravel())
    buckets, candidates, merged_buckets, merged_candidates = candidate_words(
        tables, words[3], MATCH_THRESHOLD
    )
    assert buckets == 4 * 4 * 697
    assert merged_buckets < buckets and merged_candidates <= candidates
