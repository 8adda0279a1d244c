"""The verdict benchmark of issue 11: false matches per pair of distinct images, recall per edit.

A *rule* is two-stage (:class:`VerdictRule`): a compact fingerprint compared by the contract's
distance (the min over the 16 word pairs of Hamming distances) at ``threshold``, then a detail
predicate on descriptors of the two images. A pair is a match only when both stages agree.
A rule may add a third stage, ``final_matches(a_image, b_image)`` (:class:`Stage3Rule`: the
committee's comparison of the two images, ``services/provenance/stage3.py``), asked only about
pairs the first two uphold; the reports then also give what stages 1-2 alone uphold.

* **False matches** (:func:`measure_false_matches`): every pair of originals from different
  corpus groups. The compact stage runs vectorised over all pairs (``np.bitwise_count`` over the
  16 word pairs, in row chunks); ``detail`` is computed, and ``detail_matches`` called, only for
  pairs the compact stage admits. With no false match the 95% upper bound is about 3 / pairs.
* **Recall** (:func:`measure_recall`): a seeded sample of originals, each edited by every edit
  and compared with its own original by the full rule. Copies that the fingerprint refuses as
  degenerate cannot be registered; they are counted apart, not as misses.

Harness code: nothing in the product imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy.stats import chi2

from aigc_lab.provenance.corpus_v2 import CorpusImage
from aigc_lab.provenance.edits import ISSUE11_EDITS, Edit, edit_rng
from services.provenance.errors import CorpusError, DegenerateImageError
from services.provenance.perceptual import fingerprint
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

__all__ = [
    "CompactOnlyRule",
    "DetailRule",
    "FalseMatchReport",
    "PairHit",
    "RecallReport",
    "Stage3Rule",
    "VerdictRule",
    "compact_sweep",
    "compact_words",
    "load_rule",
    "measure_false_matches",
    "measure_recall",
    "upper_bound_95",
]

Progress = Callable[[str, int, int], None]


class VerdictRule(Protocol):
    """What the benchmark needs of a rule: a compact stage and a detail stage."""

    @property
    def threshold(self) -> int: ...

    def compact(self, image: Image.Image) -> Fingerprint: ...

    def detail(self, image: Image.Image) -> bytes: ...

    def detail_matches(self, a: bytes, b: bytes) -> bool: ...


@dataclass(frozen=True)
class CompactOnlyRule:
    """Today's rule: the 32-byte fingerprint at ``threshold``; the detail stage always agrees."""

    threshold: int = MATCH_THRESHOLD
    name: str = "v1 (compact only)"

    def compact(self, image: Image.Image) -> Fingerprint:
        return fingerprint(image)

    def detail(self, image: Image.Image) -> bytes:
        return b""

    def detail_matches(self, a: bytes, b: bytes) -> bool:
        return True


@dataclass(frozen=True)
class PairHit:
    """A pair of distinct originals the full rule calls a match (a false match)."""

    distance: int
    a: str
    b: str
    group_a: str
    group_b: str
    origin_a: str = ""
    origin_b: str = ""


@dataclass
class FalseMatchReport:
    """False matches over every pair of originals from different groups."""

    images: int
    groups: int
    pairs: int
    compact_admitted: int
    false_matches: int
    worst: list[PairHit]
    by_source: dict[str, tuple[int, int]]
    distance_histogram: list[int]
    refused: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail_upheld: int = 0
    upheld: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.false_matches / self.pairs if self.pairs else float("nan")

    @property
    def upper_95(self) -> float:
        return upper_bound_95(self.false_matches, self.pairs)

    @property
    def compact_rate(self) -> float:
        return self.compact_admitted / self.pairs if self.pairs else float("nan")


@dataclass
class RecallReport:
    """Recall of the full rule per edit over a sample of originals."""

    sample: int
    recall: dict[str, float]
    refused: dict[str, int]
    misses: dict[str, list[str]]
    compact_distances: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0
    tried: dict[str, int] = field(default_factory=dict)
    detail_recall: dict[str, float] = field(default_factory=dict)
    upheld: dict[str, list[str]] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.nanmean(list(self.recall.values()))) if self.recall else float("nan")

    @property
    def minimum(self) -> float:
        return float(np.nanmin(list(self.recall.values()))) if self.recall else float("nan")


def upper_bound_95(count: int, pairs: int) -> float:
    """One-sided 95% Poisson upper bound of a rate: about 3 / pairs when ``count`` is 0."""
    if pairs <= 0:
        return float("nan")
    return float(chi2.ppf(0.95, 2 * (count + 1)) / 2.0 / pairs)


def compact_words(fingerprints: Sequence[Fingerprint]) -> NDArray[np.uint64]:
    """The (n, 4) uint64 array of the fingerprints' words."""
    return np.array([fp.words for fp in fingerprints], dtype=np.uint64).reshape(-1, 4)


def _min_distance(block: NDArray[np.uint64], words: NDArray[np.uint64]) -> NDArray[np.uint8]:
    """(rows, n) min over the 16 word pairs of Hamming distances."""
    best = np.full((block.shape[0], words.shape[0]), 64, dtype=np.uint8)
    for i in range(4):
        for j in range(4):
            d = np.bitwise_count(block[:, i, None] ^ words[None, :, j])
            np.minimum(best, d, out=best)
    return best


def measure_false_matches(
    rule: VerdictRule,
    corpus: Sequence[CorpusImage],
    *,
    worst: int = 20,
    chunk: int = 256,
    fingerprints: Sequence[Fingerprint | None] | None = None,
    progress: Progress | None = None,
    keep_upheld: bool = False,
) -> FalseMatchReport:
    """Every pair of originals from different groups through ``rule``; see the module doc.

    ``keep_upheld``: list in the report the (path, path) of every pair both descriptor stages
    uphold (what a third stage would be asked about; ``_stage3_cache`` stores them).
    """
    started = time.perf_counter()
    fps = list(fingerprints) if fingerprints is not None else _fingerprints(rule, corpus, progress)
    keep = [k for k, fp in enumerate(fps) if fp is not None]
    refused = [corpus[k].path for k, fp in enumerate(fps) if fp is None]
    items = [corpus[k] for k in keep]
    if len(items) < 2:
        raise CorpusError(f"need at least 2 usable images, got {len(items)}")
    words = compact_words([fp for fp in fps if fp is not None])
    _, group_ids = np.unique([it.group for it in items], return_inverse=True)
    sources, source_ids = np.unique([it.source for it in items], return_inverse=True)
    n, s = len(items), len(sources)
    hist = np.zeros(65, dtype=np.int64)
    pair_counts = np.zeros(s * s, dtype=np.int64)
    admitted: list[tuple[int, int, int]] = []
    for start in range(0, n - 1, chunk):
        stop = min(n, start + chunk)
        dist = _min_distance(words[start:stop], words)
        rows = np.arange(start, stop)[:, None]
        mask = (np.arange(n)[None, :] > rows) & (group_ids[start:stop, None] != group_ids[None, :])
        hist += np.bincount(dist[mask], minlength=65)
        lo = np.minimum(source_ids[start:stop, None], source_ids[None, :])
        hi = np.maximum(source_ids[start:stop, None], source_ids[None, :])
        pair_counts += np.bincount((lo * s + hi)[mask], minlength=s * s)
        r, c = np.nonzero(mask & (dist <= rule.threshold))
        admitted.extend(zip((r + start).tolist(), c.tolist(), dist[r, c].tolist(), strict=True))
        if progress is not None:
            progress("pairs", stop, n)
    details: dict[int, bytes] = {}

    def detail(k: int) -> bytes:
        if k not in details:
            details[k] = rule.detail(items[k].image)
        return details[k]

    upheld = [(i, j, d) for i, j, d in admitted if rule.detail_matches(detail(i), detail(j))]
    final = getattr(rule, "final_matches", None)
    hits = upheld
    if final is not None:
        hits = []
        for k, (i, j, d) in enumerate(upheld):
            if final(items[i].image, items[j].image):
                hits.append((i, j, d))
            if progress is not None and (k + 1) % 500 == 0:
                progress("stage 3", k + 1, len(upheld))
    hit_counts = np.zeros(s * s, dtype=np.int64)
    for i, j, _ in hits:
        a, b = sorted((int(source_ids[i]), int(source_ids[j])))
        hit_counts[a * s + b] += 1
    by_source = {
        f"{sources[a]}-{sources[b]}": (int(hit_counts[a * s + b]), int(pair_counts[a * s + b]))
        for a in range(s)
        for b in range(a, s)
        if pair_counts[a * s + b]
    }
    hits.sort(key=lambda h: (h[2], h[0], h[1]))
    shown = [_hit(items[i], items[j], d) for i, j, d in hits[:worst]]
    kept = [(items[i].path, items[j].path) for i, j, _ in upheld] if keep_upheld else []
    return FalseMatchReport(
        images=n,
        groups=int(group_ids.max()) + 1,
        pairs=int(hist.sum()),
        compact_admitted=len(admitted),
        false_matches=len(hits),
        worst=shown,
        by_source=by_source,
        distance_histogram=hist.tolist(),
        refused=refused,
        seconds=time.perf_counter() - started,
        detail_upheld=len(upheld),
        upheld=kept,
    )


def _hit(a: CorpusImage, b: CorpusImage, distance: int) -> PairHit:
    return PairHit(distance, a.path, b.path, a.group, b.group, a.origin, b.origin)


def _fingerprints(
    rule: VerdictRule, corpus: Sequence[CorpusImage], progress: Progress | None
) -> list[Fingerprint | None]:
    """The compact fingerprint of every original (None where the rule refuses it)."""
    out: list[Fingerprint | None] = []
    for k, item in enumerate(corpus):
        try:
            out.append(rule.compact(item.image))
        except DegenerateImageError:
            out.append(None)
        if progress is not None and (k + 1) % 100 == 0:
            progress("fingerprints", k + 1, len(corpus))
    return out


def measure_recall(
    rule: VerdictRule,
    corpus: Sequence[CorpusImage],
    *,
    sample: int = 500,
    edits: Sequence[Edit] = ISSUE11_EDITS,
    seed: int = 11,
    progress: Progress | None = None,
) -> RecallReport:
    """Recall per edit: ``sample`` originals (seeded choice), each edited by every edit and
    compared with its own original by the full rule (compact distance, then detail)."""
    if sample < 1:
        raise CorpusError(f"sample must be at least 1, got {sample}")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(corpus))
    chosen: list[tuple[CorpusImage, Fingerprint, bytes]] = []
    for k in order:
        if len(chosen) == sample:
            break
        item = corpus[int(k)]
        try:
            chosen.append((item, rule.compact(item.image), rule.detail(item.image)))
        except DegenerateImageError:
            continue
    recall: dict[str, float] = {}
    refused: dict[str, int] = {}
    misses: dict[str, list[str]] = {}
    distances: dict[str, list[int]] = {}
    tried_by: dict[str, int] = {}
    detail_recall: dict[str, float] = {}
    upheld: dict[str, list[str]] = {}
    final = getattr(rule, "final_matches", None)
    for e, edit in enumerate(edits):
        caught = tried = two = 0
        upheld[edit.name] = []
        refused[edit.name] = 0
        misses[edit.name] = []
        distances[edit.name] = []
        for item, fp, desc in chosen:
            copy = edit.apply(item.image, edit_rng(seed, item.path, edit.name))
            try:
                copy_fp = rule.compact(copy)
            except DegenerateImageError:
                refused[edit.name] += 1
                continue
            tried += 1
            distances[edit.name].append(fp.distance(copy_fp))
            if distances[edit.name][-1] <= rule.threshold and rule.detail_matches(
                desc, rule.detail(copy)
            ):
                two += 1
                upheld[edit.name].append(item.path)
                if final is None or final(item.image, copy):
                    caught += 1
                    continue
            misses[edit.name].append(item.path)
        recall[edit.name] = caught / tried if tried else float("nan")
        detail_recall[edit.name] = two / tried if tried else float("nan")
        tried_by[edit.name] = tried
        if progress is not None:
            progress("edits", e + 1, len(edits))
    return RecallReport(
        sample=len(chosen),
        recall=recall,
        refused=refused,
        misses=misses,
        compact_distances=distances,
        seconds=time.perf_counter() - started,
        tried=tried_by,
        detail_recall=detail_recall,
        upheld=upheld,
    )


@dataclass(frozen=True)
class DetailRule:
    """The compact fingerprint at ``threshold``, then ``services.provenance.detail``'s predicate."""

    threshold: int
    name: str = "v2 (compact + detail)"
    trim: bool | None = None

    def compact(self, image: Image.Image) -> Fingerprint:
        return fingerprint(image)

    def detail(self, image: Image.Image) -> bytes:
        """The descriptor, or b"" for an image that has none (a flat view: it cannot register,
        so it never matches)."""
        from services.provenance.detail import detail_descriptor
        from services.provenance.errors import DegenerateImageError

        try:
            return bytes(detail_descriptor(image, trim=self.trim))
        except DegenerateImageError:
            return b""

    def detail_matches(self, a: bytes, b: bytes) -> bool:
        from services.provenance.detail import detail_matches

        return bool(a and b and detail_matches(a, b))


@dataclass(frozen=True)
class Stage3Rule(DetailRule):
    """``v2`` (compact, then detail), then stage 3 (``services.provenance.stage3``) on the two
    full images: a pair is a match only when all three uphold it.

    Stage 3 features of the earlier image are kept for the last ``cache`` images (the false-match
    loop walks pairs row by row, so the earlier image repeats)."""

    name: str = "v2 + stage 3 (committee comparison)"
    cache: int = 256
    _features: dict[int, tuple[Image.Image, object]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def final_matches(self, a: Image.Image, b: Image.Image) -> bool:
        """Stage 3's verdict on ``b`` (later) against ``a`` (earlier)."""
        from services.provenance.stage3 import stage3_features, stage3_matches

        key = id(a)
        entry = self._features.pop(key, None)
        fa = entry[1] if entry is not None and entry[0] is a else None
        if fa is None:
            try:
                fa = stage3_features(a)
            except DegenerateImageError:
                return False
            while len(self._features) >= self.cache:
                self._features.pop(next(iter(self._features)))
        self._features[key] = (a, fa)
        try:
            return stage3_matches(fa, b)  # type: ignore[arg-type]
        except DegenerateImageError:
            return False


def load_rule(
    name: str, *, threshold: int | None = None
) -> CompactOnlyRule | DetailRule | Stage3Rule:
    """``v1``: today's compact rule; ``v2``: compact admission plus ``services.provenance.detail``
    (its ``COMPACT_THRESHOLD`` when it defines one, else :data:`MATCH_THRESHOLD`); ``v2-trim``:
    ``v2`` with the descriptor's views made of the content's bounding box (``trim=True``);
    ``v2-stage3``: ``v2``, then the committee's comparison of the two images
    (:class:`Stage3Rule`)."""
    if name == "v1":
        return CompactOnlyRule(MATCH_THRESHOLD if threshold is None else threshold)
    if name in ("v2", "v2-trim", "v2-stage3"):
        try:
            import services.provenance.detail as detail
        except ImportError as exc:
            raise CorpusError(f"rule v2 needs services/provenance/detail.py ({exc})") from exc
        default = int(getattr(detail, "COMPACT_THRESHOLD", MATCH_THRESHOLD))
        chosen = default if threshold is None else threshold
        if name == "v2-trim":
            return DetailRule(chosen, name="v2 + background trim", trim=True)
        if name == "v2-stage3":
            return Stage3Rule(chosen)
        return DetailRule(chosen)
    raise CorpusError(f"unknown rule {name!r}; known rules: v1, v2, v2-trim, v2-stage3")


def compact_sweep(
    pairs: FalseMatchReport, recall: RecallReport, thresholds: Sequence[int]
) -> list[tuple[int, float, float, float]]:
    """(threshold, false-match rate, mean recall, min recall) of the compact stage alone."""
    cumulative = np.cumsum(pairs.distance_histogram)
    rows = []
    for t in thresholds:
        fmr = float(cumulative[t]) / pairs.pairs if pairs.pairs else float("nan")
        per_edit = [
            float(np.mean(np.asarray(d) <= t)) for d in recall.compact_distances.values() if d
        ]
        mean = float(np.mean(per_edit)) if per_edit else float("nan")
        rows.append((t, fmr, mean, min(per_edit) if per_edit else float("nan")))
    return rows
