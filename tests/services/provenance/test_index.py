"""NearDuplicateIndex: exact answers against a linear scan, updates, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from services.provenance import (
    MATCH_THRESHOLD,
    Fingerprint,
    IndexEntryError,
    IndexFileError,
    NearDuplicateIndex,
)
from services.provenance._mih import chunk_radii
from services.provenance.index import min_pair_distances


def random_words(seed: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(1, 2**63 - 1, size=(count, 4), dtype=np.int64).astype(
        np.uint64
    ) << np.uint64(1) | np.uint64(1)


def near_copy(words: np.ndarray, rng: np.random.Generator, flips: int) -> Fingerprint:
    out = []
    for w in words:
        value = int(w)
        for bit in rng.choice(64, size=flips, replace=False):
            value ^= 1 << int(bit)
        out.append(value)
    return Fingerprint(tuple(out))  # type: ignore[arg-type]


def linear_scan(
    ids: np.ndarray, words: np.ndarray, fp: Fingerprint, limit: int
) -> list[tuple[int, int]]:
    dist = min_pair_distances(words, np.array(fp.words, dtype=np.uint64))
    return sorted((int(i), int(d)) for i, d in zip(ids, dist, strict=True) if d <= limit)


@pytest.mark.parametrize("radius", range(0, 26))
def test_chunk_radii_satisfy_the_pigeonhole_bound(radius: int) -> None:
    radii = chunk_radii(radius)
    assert sum(t + 1 for t in radii) >= radius + 1 and max(radii) - min(radii) <= 1


@pytest.mark.parametrize("threshold", [0, 3, 9, MATCH_THRESHOLD, 16, 23, 30])
def test_query_equals_a_linear_scan(threshold: int) -> None:
    words = random_words(threshold, 3000)
    rng = np.random.default_rng(100 + threshold)
    ids = rng.permutation(10_000)[:3000]
    index = NearDuplicateIndex.build(ids, words, threshold=threshold)
    for _ in range(25):
        fp = near_copy(words[rng.integers(0, 3000)], rng, int(rng.integers(0, 20)))
        got = index.query(fp)
        assert sorted(got) == linear_scan(ids, words, fp, threshold)
        assert got == sorted(got, key=lambda hit: (hit[1], hit[0]))


def test_add_merge_remove_and_contains() -> None:
    words = random_words(2, 50)
    index = NearDuplicateIndex(merge_every=8)
    prints = [Fingerprint(tuple(int(w) for w in row)) for row in words]  # type: ignore[arg-type]
    for i, fp in enumerate(prints):
        index.add(1000 + i, fp)
    assert len(index) == 50 and 1000 in index and 1049 in index and 5 not in index
    assert index.query(prints[7])[0] == (1007, 0)
    index.remove(1007)  # in the static part
    index.remove(1049)  # still in the append buffer
    assert 1007 not in index and 1049 not in index and len(index) == 48
    assert all(rid != 1007 for rid, _ in index.query(prints[7]))
    with pytest.raises(IndexEntryError, match="already"):
        index.add(1007, prints[0])  # ids stay reserved after removal
    with pytest.raises(IndexEntryError, match="not an active"):
        index.remove(1007)


def test_save_and_load_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    words = random_words(3, 400)
    index = NearDuplicateIndex.build(range(400), words, threshold=12)
    index.remove(5)
    extra = Fingerprint((11, 22, 33, 44))
    index.add(400, extra)
    path = tmp_path / "index.npz"
    index.save(path)
    loaded = NearDuplicateIndex.load(path)
    assert loaded.threshold == 12 and len(loaded) == 400 and 5 not in loaded
    probe = Fingerprint(tuple(int(w) for w in words[9]))  # type: ignore[arg-type]
    assert loaded.query(probe) == index.query(probe)
    assert loaded.query(extra)[0] == (400, 0)


def test_bad_files_raise_index_file_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IndexFileError, match="missing"):
        NearDuplicateIndex.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IndexFileError):
        NearDuplicateIndex.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, format=np.array("something-else/1"), threshold=np.array(3))
    with pytest.raises(IndexFileError, match="format"):
        NearDuplicateIndex.load(other)


def test_bad_entries_are_refused() -> None:
    words = random_words(4, 3)
    with pytest.raises(IndexEntryError, match="unique"):
        NearDuplicateIndex.build([1, 1, 2], words)
    with pytest.raises(IndexEntryError, match="ids"):
        NearDuplicateIndex.build([1, 2], words)
    with pytest.raises(IndexEntryError, match="degenerate"):
        NearDuplicateIndex.build(
            [1, 2, 3], np.vstack([words[:2], [[0, 5, 6, 7]]]).astype(np.uint64)
        )
    index = NearDuplicateIndex()
    with pytest.raises(IndexEntryError, match="degenerate"):
        index.add(1, Fingerprint((0, 1, 2, 3)))
    with pytest.raises(IndexEntryError):
        index.add(-1, Fingerprint((4, 1, 2, 3)))
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateIndex(threshold=65)
    assert index.query(Fingerprint((4, 1, 2, 3))) == []


def test_corpus_search_counts_false_candidates_by_group() -> None:
    from aigc_lab.provenance._corpus_search import measure_on_corpus
    from aigc_lab.provenance._procedural import procedural_image
    from aigc_lab.provenance.corpus_v2 import CorpusImage

    images = [procedural_image(seed).convert("RGB") for seed in range(5)]
    corpus = [
        CorpusImage(image=image, group=f"g{k}", source="procedural", path=f"p{k}")
        for k, image in enumerate(images)
    ]
    # the same picture filed under a second group: each twin is a false candidate of the other
    corpus.append(CorpusImage(image=images[0], group="twin", source="procedural", path="twin"))
    report = measure_on_corpus(corpus, queries=6, seed=1)
    assert report.stored == 6 and report.queries + report.refused == 6
    assert report.own_found_compact == 1.0
    assert report.false_compact_total == 2 and report.false_final_total == 2
    assert report.conditional_rate == 1.0
    assert report.false_after_final_at(600) == pytest.approx(100 * 2 / report.queries)


def _flip_bits(word: int, rng: np.random.Generator, flips: int) -> int:
    for bit in rng.choice(64, size=flips, replace=False):
        word ^= 1 << int(bit)
    return word


def _adversarial_entries(seed: int) -> tuple[np.ndarray, list[Fingerprint]]:
    """Stored fingerprints and queries built to sit on every edge the compiled kernel has.

    Words at distance threshold and threshold + 1 from a query word, with the flips packed into
    one chunk or spread so that every chunk is exactly at its radius or one above it (the
    pigeonhole edge); exact duplicates of a registration and of single words; several words of
    one registration within reach of several query words (one row, many hits); queries whose
    four words are equal.
    """
    rng = np.random.default_rng(seed)
    base = random_words(seed, 60)
    rows: list[list[int]] = [[int(w) for w in row] for row in base]
    queries: list[Fingerprint] = []
    for n in range(20):
        q = [int(w) for w in base[n]]
        queries.append(Fingerprint(tuple(q)))  # type: ignore[arg-type]
        for distance in (MATCH_THRESHOLD, MATCH_THRESHOLD + 1):
            rows.append([_flip_bits(w, rng, distance) for w in q])
            spread = q[0]
            for c in range(4):  # 4 + 4 + 4 + 3 (or 4) bits: every chunk at or over its radius
                for bit in rng.choice(16, size=min(4, distance - 4 * c), replace=False):
                    spread ^= 1 << (16 * c + int(bit))
            rows.append([spread, *(int(w) for w in random_words(1000 + n, 1)[0][:3])])
            packed = q[1] ^ sum(1 << b for b in range(distance))  # all in chunks 0 (and 1)
            rows.append([int(w) for w in random_words(2000 + n, 1)[0][:3]] + [packed])
        rows.append(list(q))  # an exact duplicate of the registration
        rows.append([q[2], q[2], q[2], q[2]])  # one word four times: 16 pairs hit
    queries.append(Fingerprint((int(base[0][0]),) * 4))
    return np.array(rows, dtype=np.uint64), queries


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_equals_a_linear_scan_on_adversarial_fingerprints(seed: int) -> None:
    words, queries = _adversarial_entries(seed)
    rng = np.random.default_rng(seed)
    ids = rng.permutation(10 * len(words))[: len(words)]
    index = NearDuplicateIndex.build(ids, words, threshold=MATCH_THRESHOLD)
    dead = rng.choice(len(words), size=len(words) // 5, replace=False)
    for row in dead:  # tombstoned rows, among them exact duplicates and edge cases
        index.remove(int(ids[row]))
    alive = np.ones(len(words), dtype=bool)
    alive[dead] = False
    for fp in queries:
        expected = linear_scan(ids[alive], words[alive], fp, MATCH_THRESHOLD)
        got = index.query(fp)
        assert sorted(got) == expected
        assert len({rid for rid, _ in got}) == len(got)  # each registration once
        for limit in (0, 3, 7, 14, 16):  # other radii, other chunk radii
            assert sorted(index.query(fp, threshold=limit)) == linear_scan(
                ids[alive], words[alive], fp, limit
            )


def test_kernel_equals_a_linear_scan_on_random_and_duplicate_fingerprints() -> None:
    rng = np.random.default_rng(7)
    words = random_words(7, 4000)
    words[100:110] = words[5]  # the same fingerprint registered ten times
    ids = np.arange(4000, dtype=np.int64) * 3 + 1
    index = NearDuplicateIndex.build(ids, words)
    index.remove(int(ids[103]))
    alive = np.ones(4000, dtype=bool)
    alive[103] = False
    prints = [
        near_copy(words[rng.integers(0, 4000)], rng, int(rng.integers(0, 18))) for _ in range(40)
    ]
    prints += [Fingerprint(tuple(int(w) for w in words[5]))]  # type: ignore[arg-type]
    prints += [Fingerprint(tuple(int(w) for w in row)) for row in random_words(8, 10)]  # type: ignore[arg-type]
    for fp in prints:
        assert sorted(index.query(fp)) == linear_scan(ids[alive], words[alive], fp, MATCH_THRESHOLD)
    hits = index.query(Fingerprint(tuple(int(w) for w in words[5])))  # type: ignore[arg-type]
    assert [rid for rid, d in hits if d == 0] == sorted(
        int(i) for i in ids[[5, *range(100, 110)]] if i != ids[103]
    )


def test_kernel_distance_is_the_rule_distance() -> None:
    """The kernel reports a row's nearest hit; it must be the rule's min over all 16 pairs."""
    words = random_words(9, 2000)
    index = NearDuplicateIndex.build(range(2000), words, threshold=MATCH_THRESHOLD)
    rng = np.random.default_rng(9)
    for _ in range(30):
        fp = near_copy(words[rng.integers(0, 2000)], rng, int(rng.integers(0, 16)))
        for rid, distance in index.query(fp):
            stored = Fingerprint(tuple(int(w) for w in words[rid]))  # type: ignore[arg-type]
            assert distance == stored.distance(fp)


def test_concurrent_queries_from_threads_agree() -> None:
    """The scan releases the GIL and shares no scratch state: parallel queries stay exact."""
    from concurrent.futures import ThreadPoolExecutor

    words = random_words(11, 3000)
    index = NearDuplicateIndex.build(range(3000), words)
    rng = np.random.default_rng(11)
    prints = [near_copy(words[rng.integers(0, 3000)], rng, 6) for _ in range(40)]
    expected = [index.query(fp) for fp in prints]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(index.query, prints * 3))
    assert got == expected * 3
