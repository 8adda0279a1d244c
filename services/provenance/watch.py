"""Plagiarism watch: which registrations can the owners of a new one challenge, or be challenged by?

Chain-free on purpose, but ordered as the Registry orders challenges. ``challenge(original,
duplicate)`` succeeds only when both tokens are active, the compact fingerprints match, and
``priority(original) < priority(duplicate)`` strictly, where a token's priority is its
``priorityBlock`` (the block of the producer's paid generation lock), not its reveal order nor its
id. A contested challenge is then decided by :func:`~services.provenance.detail.detail_matches`
on the two DETAIL descriptors (original first). So for a new registration the watch reports
both directions:

* an existing token with a strictly smaller priority is the original: its owner may challenge
  the new one;
* an existing token with a strictly larger priority (the new token is a late reveal of an
  earlier generation) is the duplicate: the new token's owner may challenge it.

Equal priorities can challenge neither way and are not reported; revoked tokens are skipped;
when descriptors are given, only pairs the detail rule also matches are kept, so no owner is told
to file a challenge it would lose. The API layer turns each hit into a notification for the
original's owner with a prepared ``challenge(original, duplicate)`` transaction.

When one ESP attested both tokens (:func:`is_equivocation`) the Registry still orders the
challenge by priority but decides nothing by it: the dispute is an *equivocation* that revokes
nothing. Uncontested it ends ``Void``; contested (the challenger may contest its own) and matched
by the detail rule, ``resolve`` ends it ``Equivocated`` and slashes the ESP. The
API tells the owner so (``kind: "equivocation"``, prepared challenge, contest and resolve), never
that it can revoke the copy.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass

from services.provenance.detail import detail_matches
from services.provenance.errors import InvalidDetailError, InvalidFingerprintError
from services.provenance.index import NearDuplicateIndex
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

__all__ = [
    "PlagiarismHit",
    "Priority",
    "admissible_in_time",
    "find_plagiarism",
    "is_equivocation",
]

Priority = int | tuple[int, ...]
"""A challenge priority: ``priorityBlock`` (smaller challenges larger), or any comparable key."""

_Lookup = Mapping[int, Priority] | Callable[[int], Priority | None]
_Details = Mapping[int, bytes | None] | Callable[[int], bytes | None]


@dataclass(frozen=True, slots=True)
class PlagiarismHit:
    """A registration within the rule of the new one, and which of the two is the original.

    ``new_is_original`` is False when ``other_id`` has the smaller priority (its owner may
    challenge the new token) and True when the new token has it (the new token's owner may
    challenge ``other_id``). ``new_id`` is None for an image checked before it has a token.
    """

    other_id: int
    distance: int
    new_is_original: bool = False
    new_id: int | None = None

    @property
    def original_id(self) -> int | None:
        """The token whose owner can challenge: ``challenge(original_id, duplicate_id)``."""
        return self.new_id if self.new_is_original else self.other_id

    @property
    def duplicate_id(self) -> int | None:
        """The token that the challenge would revoke."""
        return self.other_id if self.new_is_original else self.new_id

    @property
    def earlier_id(self) -> int:
        """Wave-1 name of ``other_id`` (then every hit was the original); prefer ``other_id``."""
        return self.other_id


def admissible_in_time(
    *,
    original_esp: str,
    duplicate_esp: str,
    original_commit_block: int,
    duplicate_commit_block: int,
    duplicate_priority_block: int,
) -> bool:
    """The Registry's second ordering rule (and the BatchRegistry's and the BatchCourt's): when
    different ESPs attested the two tokens, the original must have been committed strictly
    before the duplicate's fee was locked (its priority block) and before it was committed.
    Otherwise the "original" could be a copy of the duplicate's published (or still pending)
    reveal, registered under an older lock of the copier's own (back-dating, front-running a
    reveal in the mempool, or an ESP leaking its customer's image to a Sybil of its second
    ESP before delivery): such a pair is a stalemate, neither side revokes. When one ESP
    attested both, it is an equivocation (see :func:`is_equivocation`)."""
    if is_equivocation(original_esp=original_esp, duplicate_esp=duplicate_esp):
        return True
    return original_commit_block < min(duplicate_commit_block, duplicate_priority_block)


def is_equivocation(*, original_esp: str, duplicate_esp: str) -> bool:
    """The Registry's equivocation rule: one ESP attested both tokens, so the lock order cannot
    say which payer is the ESP's Sybil. Such a challenge revokes nothing: uncontested it ends
    ``Void``; contested and matched by the detail rule it ends ``Equivocated`` (the ESP is
    slashed, docs/contracts.md "One ESP, two payers")."""
    return original_esp.lower() == duplicate_esp.lower()


def _lookup(table: _Lookup | _Details, key: int) -> object:
    if callable(table):
        return table(key)
    return table.get(key)


def find_plagiarism(
    new_fingerprint: Fingerprint,
    registrations: NearDuplicateIndex | Iterable[tuple[int, Fingerprint]],
    *,
    new_id: int | None = None,
    order: _Lookup | None = None,
    new_priority: Priority | None = None,
    revoked: Container[int] = frozenset(),
    details: _Details | None = None,
    new_detail: bytes | None = None,
    threshold: int = MATCH_THRESHOLD,
) -> list[PlagiarismHit]:
    """Registrations that a challenge could pair with the new one, nearest first.

    ``registrations`` is an index or (id, fingerprint) pairs. ``order`` gives each
    registration's challenge priority (a mapping or a function of the id, for example the
    token's ``priorityBlock``); without it the id itself is the priority (the wave-1 order).
    The new registration's priority is ``new_priority``, else ``order[new_id]``; with neither
    (an image checked before it is registered) every registration counts as the original.
    ``revoked`` ids are skipped. With ``new_detail`` given, ``details`` (a mapping or function
    of the id) must give each candidate's descriptor; a candidate is kept only when
    ``detail_matches(original, duplicate)`` holds, and dropped when its descriptor is missing
    or invalid. Degenerate fingerprints on either side never match: the contract refuses them.
    Raises KeyError when ``order`` has no priority for a candidate.
    """
    if new_fingerprint.is_degenerate():
        raise InvalidFingerprintError(
            new_fingerprint.hex(), "degenerate fingerprints cannot register"
        )

    def priority(registration_id: int) -> Priority:
        if order is None:
            return registration_id
        found = _lookup(order, registration_id)
        if found is None:
            raise KeyError(f"order has no priority for registration {registration_id}")
        return found  # type: ignore[return-value]

    if new_priority is None and new_id is not None:
        new_priority = priority(new_id)
    if isinstance(registrations, NearDuplicateIndex):
        candidates = registrations.query(new_fingerprint, threshold=threshold)
    else:
        candidates = [
            (rid, new_fingerprint.distance(fp))
            for rid, fp in registrations
            if not fp.is_degenerate()
        ]
    hits: list[tuple[int, Priority, int, bool]] = []
    for registration_id, distance in candidates:
        if distance > threshold or registration_id == new_id or registration_id in revoked:
            continue
        other = priority(registration_id)
        if new_priority is not None and other == new_priority:
            continue  # neither can challenge the other
        new_is_original = new_priority is not None and new_priority < other  # type: ignore[operator]
        if new_detail is not None and not _details_agree(
            new_detail, details, registration_id, new_is_original=new_is_original
        ):
            continue
        hits.append((distance, other, registration_id, new_is_original))
    hits.sort()
    return [
        PlagiarismHit(other_id=rid, distance=dist, new_is_original=first, new_id=new_id)
        for dist, _, rid, first in hits
    ]


def _details_agree(
    new_detail: bytes, details: _Details | None, other_id: int, *, new_is_original: bool
) -> bool:
    """The contested stage: ``detail_matches(original, duplicate)``; False when unknown."""
    other = None if details is None else _lookup(details, other_id)
    if not isinstance(other, bytes):
        return False
    original, duplicate = (new_detail, other) if new_is_original else (other, new_detail)
    try:
        return detail_matches(original, duplicate)
    except (InvalidDetailError, ValueError):
        return False
