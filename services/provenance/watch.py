"""Plagiarism watch: which earlier registrations does a new one nearly duplicate?

Chain-free on purpose: it takes fingerprints and a registration order and returns the earlier
registrations within the rule, nearest first. The API layer turns each hit into a notification
for the earlier owner with a prepared ``challenge(earlier, new)`` transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.provenance.errors import InvalidFingerprintError
from services.provenance.index import NearDuplicateIndex
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

__all__ = ["PlagiarismHit", "find_plagiarism"]


@dataclass(frozen=True, slots=True)
class PlagiarismHit:
    """An earlier registration that the new one nearly duplicates, and how close it is."""

    earlier_id: int
    distance: int


def find_plagiarism(
    new_fingerprint: Fingerprint,
    registrations: NearDuplicateIndex | Iterable[tuple[int, Fingerprint]],
    *,
    new_id: int | None = None,
    order: Mapping[int, tuple[int, ...]] | None = None,
    threshold: int = MATCH_THRESHOLD,
) -> list[PlagiarismHit]:
    """Earlier registrations that ``new_fingerprint`` nearly duplicates, nearest first.

    ``registrations`` is an index or (id, fingerprint) pairs. "Earlier" compares registration
    positions: ``order[id]`` when ``order`` is given (for example ``(block, log_index)``),
    otherwise the id itself (token ids grow with registration); equal distances sort by
    position. With ``new_id`` omitted every registration counts as earlier (checking an image
    before it is registered). Degenerate fingerprints on either side never match: the contract
    refuses them.
    """
    if new_fingerprint.is_degenerate():
        raise InvalidFingerprintError(
            new_fingerprint.hex(), "degenerate fingerprints cannot register"
        )

    def position(registration_id: int) -> tuple[int, ...]:
        if order is None:
            return (registration_id,)
        if registration_id not in order:
            raise KeyError(f"order has no position for registration {registration_id}")
        return order[registration_id]

    new_position = None if new_id is None else position(new_id)
    if isinstance(registrations, NearDuplicateIndex):
        candidates = registrations.query(new_fingerprint, threshold=threshold)
        fingerprints = None
    else:
        pairs = list(registrations)
        fingerprints = dict(pairs)
        candidates = [(rid, new_fingerprint.distance(fp)) for rid, fp in pairs]
    hits: list[tuple[int, tuple[int, ...], int]] = []
    for registration_id, distance in candidates:
        if distance > threshold or registration_id == new_id:
            continue
        if fingerprints is not None and fingerprints[registration_id].is_degenerate():
            continue
        earlier = position(registration_id)
        if new_position is not None and not earlier < new_position:
            continue
        hits.append((distance, earlier, registration_id))
    hits.sort()
    return [PlagiarismHit(earlier_id=rid, distance=dist) for dist, _, rid in hits]
