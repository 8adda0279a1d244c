"""Robustness benchmark: recall per plagiarist edit and the false-match rate, ours vs pHash.

* **Recall** of an edit: the share of originals whose edited copy is still within the rule of
  the original's fingerprint. Copies that become degenerate (a quarter of a 100-pixel image is
  below the minimum size) cannot be registered at all; they are counted apart, not as misses.
* **False-match rate**: the share of pairs of *distinct* images (different corpus groups) that
  the rule calls near-duplicates. Pairs are original-original plus every edited copy against
  every other group's original, which is what a registry sees when a new image arrives.
* **pHash** is imagehash's 64-bit DCT hash compared by Hamming distance, at the issue's reference
  threshold (10) and at the largest threshold that keeps its own false-match rate within 0.1%.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import imagehash
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from aigc_lab.provenance.corpus import CorpusImage
from aigc_lab.provenance.edits import Edit, edit_rng
from services.provenance.errors import CorpusError, DegenerateImageError
from services.provenance.perceptual import fingerprint
from services.provenance.rule import MATCH_THRESHOLD

__all__ = ["FMR_BUDGET", "RobustnessReport", "evaluate_robustness", "phash_word"]

FMR_BUDGET = 0.001


@dataclass(frozen=True)
class RobustnessReport:
    """Everything ``aigc bench provenance`` prints; recalls are keyed by edit name."""

    threshold: int
    phash_threshold: int
    phash_budget_threshold: int
    originals: int
    skipped_originals: list[str]
    recall: dict[str, float]
    phash_recall: dict[str, float]
    phash_budget_recall: dict[str, float]
    refused: dict[str, int]
    false_match_rate: float
    phash_false_match_rate: float
    phash_budget_false_match_rate: float
    distinct_pairs: int
    roc: list[tuple[int, float, float, float]] = field(default_factory=list)

    @property
    def mean_recall(self) -> float:
        return float(np.nanmean(list(self.recall.values())))

    @property
    def min_recall(self) -> float:
        return float(np.nanmin(list(self.recall.values())))


def phash_word(image: Image.Image) -> int:
    """imagehash's 64-bit pHash as an int (row-major bits, first bit most significant)."""
    bits = imagehash.phash(image).hash.ravel()
    return int("".join("1" if b else "0" for b in bits), 2)


def _min_pair(a: NDArray[np.uint64], b: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Rule distance between every row of ``a`` and of ``b`` (both n x 4): an n_a x n_b array."""
    pairs = np.bitwise_count(a[:, None, :, None] ^ b[None, :, None, :])
    return np.asarray(pairs.min(axis=(2, 3)), dtype=np.int64)


def _hamming(a: NDArray[np.uint64], b: NDArray[np.uint64]) -> NDArray[np.int64]:
    return np.asarray(np.bitwise_count(a[:, None] ^ b[None, :]), dtype=np.int64)


def _largest_within(negatives: NDArray[np.int64], budget: float) -> int:
    best = -1
    for t in range(65):
        if float((negatives <= t).mean()) > budget:
            break
        best = t
    return best


def _rates(
    distances: dict[str, NDArray[np.int64]], valid: dict[str, NDArray[np.bool_]], t: int
) -> dict[str, float]:
    return {
        k: float((np.diagonal(d)[valid[k]] <= t).mean()) if valid[k].any() else float("nan")
        for k, d in distances.items()
    }


def evaluate_robustness(
    corpus: Sequence[CorpusImage],
    edits: Sequence[Edit],
    *,
    threshold: int = MATCH_THRESHOLD,
    phash_threshold: int = 10,
    seed: int = 7,
    progress: Callable[[], None] | None = None,
) -> RobustnessReport:
    """Fingerprint every original and edited copy, then score both hashes (see module doc)."""
    kept: list[CorpusImage] = []
    skipped: list[str] = []
    ours: list[tuple[int, int, int, int]] = []
    for item in corpus:
        try:
            ours.append(fingerprint(item.image).words)
            kept.append(item)
        except DegenerateImageError:
            skipped.append(item.name)
    n = len(kept)
    if n < 2:
        raise CorpusError(f"need at least 2 usable images, got {n} (skipped: {skipped})")
    originals = np.array(ours, dtype=np.uint64).reshape(n, 4)
    phash_orig = np.array([phash_word(item.image) for item in kept], dtype=np.uint64)
    edited = {e.name: np.zeros((n, 4), dtype=np.uint64) for e in edits}
    edited_ph = {e.name: np.zeros(n, dtype=np.uint64) for e in edits}
    valid = {e.name: np.ones(n, dtype=bool) for e in edits}
    for i, item in enumerate(kept):
        for edit in edits:
            copy = edit.apply(item.image, edit_rng(seed, item.name, edit.name))
            try:
                edited[edit.name][i] = fingerprint(copy).words
                edited_ph[edit.name][i] = phash_word(copy)
            except DegenerateImageError:
                valid[edit.name][i] = False
        if progress is not None:
            progress()
    groups = np.array([item.group for item in kept])
    distinct = groups[:, None] != groups[None, :]
    upper = np.triu(distinct, 1)
    d_ours = {k: _min_pair(v, originals) for k, v in edited.items()}
    d_ph = {k: _hamming(v, phash_orig) for k, v in edited_ph.items()}
    neg_ours = [_min_pair(originals, originals)[upper]]
    neg_ph = [_hamming(phash_orig, phash_orig)[upper]]
    for k in d_ours:
        rows = valid[k][:, None] & distinct
        neg_ours.append(d_ours[k][rows])
        neg_ph.append(d_ph[k][rows])
    negatives, negatives_ph = np.concatenate(neg_ours), np.concatenate(neg_ph)
    ph_budget = _largest_within(negatives_ph, FMR_BUDGET)
    roc = []
    for t in range(max(0, threshold - 5), threshold + 3):
        rec = _rates(d_ours, valid, t)
        values = list(rec.values())
        roc.append(
            (t, float((negatives <= t).mean()), float(np.nanmean(values)), float(np.nanmin(values)))
        )
    return RobustnessReport(
        threshold=threshold, phash_threshold=phash_threshold, phash_budget_threshold=ph_budget,
        originals=n, skipped_originals=skipped,
        recall=_rates(d_ours, valid, threshold),
        phash_recall=_rates(d_ph, valid, phash_threshold),
        phash_budget_recall=_rates(d_ph, valid, ph_budget),
        refused={k: int((~v).sum()) for k, v in valid.items()},
        false_match_rate=float((negatives <= threshold).mean()),
        phash_false_match_rate=float((negatives_ph <= phash_threshold).mean()),
        phash_budget_false_match_rate=float((negatives_ph <= ph_budget).mean()),
        distinct_pairs=int(negatives.size), roc=roc,
    )  # fmt: skip
