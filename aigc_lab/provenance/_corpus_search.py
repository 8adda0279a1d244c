"""The search benchmark on real images: the distinct-image corpus stored, edited copies as queries.

Every corpus image (``aigc_lab.provenance.corpus_v2``) is registered in a
:class:`~services.provenance.index.NearDuplicateIndex` by its compact fingerprint. A seeded sample
of them is edited (issue 11's edits in turn) and each copy is a query. A candidate is what the
compact rule admits; it is *false* when it belongs to another group than the copy's original.
A false candidate survives the final rule when ``detail_matches(stored, copy)`` also holds (the
stored image is the earlier one, so it is the original in a challenge). The ratio of the two is
the conditional detail false-match rate that the synthetic million-entry run multiplies by.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from aigc_lab.provenance.corpus_v2 import CorpusImage
from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_rng
from services.provenance.detail import detail_descriptor, detail_matches
from services.provenance.errors import DegenerateImageError
from services.provenance.index import NearDuplicateIndex
from services.provenance.perceptual import fingerprint
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

__all__ = ["CorpusSearchReport", "measure_on_corpus"]


@dataclass(frozen=True)
class CorpusSearchReport:
    """Per-query candidate counts on real images (means over the queries that fingerprinted)."""

    stored: int
    queries: int
    refused: int
    candidates_per_query: float
    false_candidates_per_query: float
    false_after_final_per_query: float
    own_found_compact: float
    own_found_final: float
    false_compact_total: int
    false_final_total: int

    @property
    def conditional_rate(self) -> float:
        """P(detail matches | compact matches) between distinct images; the 95% bound if 0."""
        if self.false_compact_total == 0:
            return float("nan")
        if self.false_final_total == 0:
            return 3.0 / self.false_compact_total
        return self.false_final_total / self.false_compact_total

    def false_after_final_at(self, size: int) -> float:
        """Scaled linearly to ``size`` registrations (false candidates grow with the registry)."""
        return self.false_after_final_per_query * size / self.stored


def measure_on_corpus(
    corpus: Sequence[CorpusImage],
    *,
    queries: int,
    seed: int = 11,
    threshold: int = MATCH_THRESHOLD,
    progress: Callable[[str], None] | None = None,
) -> CorpusSearchReport:
    """Index the corpus, query ``queries`` edited copies, count candidates before/after detail."""
    note = progress or (lambda _msg: None)
    note(f"fingerprinting {len(corpus):,} corpus images")
    kept: list[int] = []
    prints: list[Fingerprint] = []
    for k, item in enumerate(corpus):
        try:
            prints.append(fingerprint(item.image))
            kept.append(k)
        except DegenerateImageError:
            continue
    index = NearDuplicateIndex.build(kept, prints, threshold=threshold)
    details: dict[int, bytes | None] = {}

    def stored_matches(k: int, copy_detail: bytes) -> bool:
        if k not in details:
            try:
                details[k] = detail_descriptor(corpus[k].image)
            except DegenerateImageError:  # it could not have registered a descriptor
                details[k] = None
        stored = details[k]
        return stored is not None and detail_matches(stored, copy_detail)

    rng = np.random.default_rng(seed)
    picked = rng.choice(kept, size=min(queries, len(kept)), replace=False)
    counts = np.zeros((len(picked), 5), dtype=np.int64)  # hits, false, false final, own, own final
    refused = 0
    note(f"{len(picked)} edited copies as queries")
    for q, k in enumerate(picked.tolist()):
        item = corpus[k]
        edit = ISSUE11_EDITS[q % len(ISSUE11_EDITS)]
        copy = edit.apply(item.image, edit_rng(seed, item.path or str(k), edit.name))
        try:
            copy_fp, copy_detail = fingerprint(copy), detail_descriptor(copy)
        except DegenerateImageError:
            refused += 1
            counts[q] = -1
            continue
        for other, _distance in index.query(copy_fp):
            same = corpus[other].group == item.group
            final = stored_matches(other, copy_detail)
            counts[q] += (1, not same, (not same) and final, other == k, other == k and final)
    used = counts[counts[:, 0] >= 0]
    means = used.mean(axis=0) if used.size else np.zeros(5)
    return CorpusSearchReport(
        stored=len(kept), queries=len(used), refused=refused,
        candidates_per_query=float(means[0]), false_candidates_per_query=float(means[1]),
        false_after_final_per_query=float(means[2]), own_found_compact=float(means[3]),
        own_found_final=float(means[4]), false_compact_total=int(used[:, 1].sum()),
        false_final_total=int(used[:, 2].sum()),
    )  # fmt: skip
