"""Provenance: robust image fingerprints, the near-duplicate rule, index and plagiarism watch.

``fingerprint(image)`` turns a PIL image into a 32-byte :class:`Fingerprint`; ``distance`` and
``matches`` apply the one rule that ``contracts/FingerprintRule.sol`` also applies on chain
(threshold :data:`MATCH_THRESHOLD`). :class:`NearDuplicateIndex` finds every registration within
the rule and :func:`find_plagiarism` lists the earlier registrations a new one nearly duplicates.
"""

from services.provenance._image import load_image
from services.provenance.detail import (
    DETAIL_LENGTH,
    DetailScore,
    detail_descriptor,
    detail_matches,
    detail_score,
    is_valid_detail,
)
from services.provenance.errors import (
    CorpusError,
    DegenerateImageError,
    IndexEntryError,
    IndexFileError,
    InvalidDetailError,
    InvalidFingerprintError,
    NotAnImageError,
    ProvenanceError,
)
from services.provenance.index import NearDuplicateIndex
from services.provenance.perceptual import MIN_SIDE, fingerprint
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint, is_degenerate_fingerprint
from services.provenance.watch import PlagiarismHit, find_plagiarism

__all__ = [
    "DETAIL_LENGTH",
    "MATCH_THRESHOLD",
    "MIN_SIDE",
    "CorpusError",
    "DegenerateImageError",
    "DetailScore",
    "Fingerprint",
    "IndexEntryError",
    "IndexFileError",
    "InvalidDetailError",
    "InvalidFingerprintError",
    "NearDuplicateIndex",
    "NotAnImageError",
    "PlagiarismHit",
    "ProvenanceError",
    "detail_descriptor",
    "detail_matches",
    "detail_score",
    "find_plagiarism",
    "fingerprint",
    "is_degenerate_fingerprint",
    "is_valid_detail",
    "load_image",
]
