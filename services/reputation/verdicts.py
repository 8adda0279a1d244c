"""Lost challenges as reputation evidence: the registry's verdicts against an ESP's attestations.

DESIGN 3.1: an upheld challenge gives the copy's ESP "a negative reputation record". The chain
counts it (EspRegistry's ``challengesLost`` and ``ChallengeRecorded(esp, lost)``), but the counter
alone cannot tell a copier from a victim: a squatter whose early registration falsely matches an
honest ESP's later generation wins the challenge whenever the accused customer stays silent
(no contest: the stronger comparison never runs), and every such win counts one more. So the
ranking reads the events around each ``ChallengeRecorded`` (same transaction, same contract)
and weighs each lost challenge by what decided it, all from public logs
(:func:`lost_challenges`, then :func:`verdict_familiarity`):

* **contested** (the accused put up a deposit, the dispute's stronger comparison still found a
  copy; or a court decision after a contest): weight ``VerdictWeights.contested`` (1);
* **uncontested** (upheld because nobody contested in the window), an equivocation, an exact
  duplicate attested to two payers (reclaim, duplicate-image revocation): ``uncontested``
  (0.1). Equivocations and duplicates are the ESP's fault when it is the copier, but two Sybil
  customers asking an honest ESP for the same seed and near-synonym prompts produce them too;
* **reversed** (a ``Reinstated`` of the revoked token, or a court's ``Reversed``): dropped, the
  token was no copy. The on-chain counter keeps counting these;
* **one winner counts once per ESP**: of the verdicts one challenger address won against one
  ESP only the heaviest (decayed) counts, so a squatter needs a fresh registered token-holding
  address for every further unit of damage;
* verdicts fade like failures (``negative_decay`` per period, else ``decay``).

The per-ESP sum E becomes one more recommender in the ESP's recommended opinion (the engine's
``verdicts=`` argument): familiarity ``failures x E``, the opinion of that many failed full-value
tasks. Being averaged with the ESP's paying customers (not fused like the viewer's own
evidence), one verdict moves a small ESP a lot and a large one a little: its cost to an attacker
grows with the victim's business, while an ESP caught attesting copies at a rate comparable with
its customers' experience falls below the floor. ``ReputationView`` does not include it (the
contract would need the challenge events' weights; docs/reputation.md): the on-chain reputation
is the verdict-free subset, and the API's ranking = that evidence + this public adjustment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from services.reputation.errors import InvalidParameterError
from services.reputation.params import ReputationParams

__all__ = [
    "VERDICT_EVENTS",
    "LostChallenge",
    "VerdictKind",
    "VerdictLog",
    "VerdictWeights",
    "lost_challenges",
    "verdict_familiarity",
    "verdict_opinion_terms",
]

F64 = npt.NDArray[np.float64]

VerdictKind = Literal["contested", "uncontested", "equivocation", "duplicate"]

# IRegistry.DisputeState
_UPHELD, _SETTLED, _REVERSED, _EQUIVOCATED = 3, 6, 7, 8


@dataclass(frozen=True, slots=True)
class LostChallenge:
    """One ``ChallengeRecorded`` against ``esp`` with what decided it.

    ``challenger``: the address that won (lower case; ``""`` when the logs do not say);
    ``time``: the block timestamp of the record; ``kind``: see :data:`VerdictKind`;
    ``token``: (contract, revoked token id) of a revocation, kept to drop it if reinstated."""

    esp: str
    challenger: str
    time: int
    kind: VerdictKind
    token: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class VerdictWeights:
    """How much a lost challenge weighs (module docstring).

    Attributes:
        contested: weight of a verdict reached after the accused contested (the stronger
            comparison ran). Default 1.
        uncontested: weight of an upheld challenge nobody contested, an equivocation or an
            exact duplicate attested to two payers. Default 0.1.
        failures: one verdict of weight 1 counts as this many failed full-value tasks reported
            by one recommender about the ESP. Default 10.
    """

    contested: float = 1.0
    uncontested: float = 0.1
    failures: float = 10.0

    def __post_init__(self) -> None:
        for name in ("contested", "uncontested", "failures"):
            v = getattr(self, name)
            if not (0.0 <= v < float("inf")):
                raise InvalidParameterError(name, v, "a finite number >= 0")

    def weight(self, kind: VerdictKind) -> float:
        return self.contested if kind == "contested" else self.uncontested


def _row(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any], str, int]:
    return (
        str(r["contract"]),
        str(r["event"]),
        dict(r["args"]),
        str(r["tx_hash"]),
        int(r["block_time"]),
    )


def lost_challenges(rows: Iterable[Mapping[str, Any]]) -> list[LostChallenge]:
    """The lost challenges in ``rows``: decoded events of the deployment in chain order (block,
    then log index), each a mapping with ``contract`` (the manifest name), ``event``, ``args``,
    ``tx_hash`` and ``block_time`` (what the indexer stores). Reversed ones are left out.

    A ``ChallengeRecorded`` is classified by the events of its own transaction: a
    ``ChallengeDecided`` there (equivocation, court decision) or a ``RevocationSettled`` (the
    registry's settle; then the last ``ChallengeDecided`` upholding that token says whether it was
    contested), a ``Reclaimed`` or a ``DuplicateImageRevoked`` (an exact duplicate)."""
    opened: dict[tuple[str, int, int], str] = {}  # (contract, original, duplicate) -> challenger
    upheld: dict[tuple[str, int], tuple[bool, str]] = {}  # (contract, dup) -> (contested, winner)
    tx: list[tuple[str, str, dict[str, Any], int]] = []
    tx_hash = ""
    out: list[LostChallenge] = []
    reversed_tokens: set[int] = set()  # token ids a Reinstated or a court's Reversed gave back

    def close(events: list[tuple[str, str, dict[str, Any], int]]) -> None:
        plain = [(c, e, a) for c, e, a, _ in events]
        for i, (_, event, args, time) in enumerate(events):
            if event == "ChallengeRecorded":
                kind, winner, token = _classify(plain[:i], plain[i + 1 :], upheld, opened)
                out.append(LostChallenge(str(args["esp"]).lower(), winner, time, kind, token))

    for r in rows:
        contract, event, args, h, time = _row(r)
        if h != tx_hash:
            close(tx)
            tx, tx_hash = [], h
        tx.append((contract, event, args, time))
        if event == "ChallengeOpened":
            key = (contract, int(args["original"]), int(args["duplicate"]))
            opened[key] = str(args["challenger"]).lower()
        elif event == "ChallengeDecided":
            state, dup = int(args["state"]), int(args["duplicate"])
            winner = opened.get((contract, int(args["original"]), dup), "")
            if state == _UPHELD:
                upheld[(contract, dup)] = (bool(args["contested"]), winner)
            elif state == _REVERSED:
                reversed_tokens.add(dup)
        elif event == "Reinstated":
            reversed_tokens.add(int(args["tokenId"]))
    close(tx)
    return [c for c in out if c.token is None or c.token[1] not in reversed_tokens]


def _classify(
    before: Sequence[tuple[str, str, dict[str, Any]]],
    after: Sequence[tuple[str, str, dict[str, Any]]],
    upheld: Mapping[tuple[str, int], tuple[bool, str]],
    opened: Mapping[tuple[str, int, int], str],
) -> tuple[VerdictKind, str, tuple[str, int] | None]:
    """(kind, winner, revoked token) of a ChallengeRecorded from its transaction's earlier logs
    (the latest cause first), else the court's ``DuplicateImageRevoked`` that follows it. An
    exact duplicate's "winner" is the kept token (its revocation may be called by anyone)."""
    for contract, event, args in reversed(before):
        if event == "RevocationSettled":
            dup = int(args["duplicate"])
            contested, _ = upheld.get((contract, dup), (False, ""))
            kind: VerdictKind = "contested" if contested else "uncontested"
            return kind, str(args["challenger"]).lower(), (contract, dup)
        if event == "ChallengeDecided":
            state, dup = int(args["state"]), int(args["duplicate"])
            winner = opened.get((contract, int(args["original"]), dup), "")
            if state == _EQUIVOCATED:
                return "equivocation", winner, None
            if state in (_UPHELD, _SETTLED):  # a court's decision (its Revoked follows)
                kind = "contested" if bool(args["contested"]) else "uncontested"
                return kind, winner, (contract, dup)
        if event == "Reclaimed":
            return "duplicate", str(args["to"]).lower(), None
    for _, event, args in list(before) + list(after):
        if event == "DuplicateImageRevoked":
            return "duplicate", f"token:{int(args['kept'])}", None
    return "uncontested", "", None


def verdict_familiarity(
    challenges: Iterable[LostChallenge],
    *,
    now: int,
    params: ReputationParams | None = None,
    weights: VerdictWeights | None = None,
) -> dict[str, float]:
    """Per ESP (lower-case address), the familiarity of its verdict recommender at ``now``:
    ``failures x`` the sum over winners of the heaviest decayed weight each won against it.

    Decay: ``negative_decay`` per period if set, else ``decay``; on absolute period boundaries,
    as for interactions. Verdicts after ``now`` are ignored."""
    p = params if params is not None else ReputationParams()
    w = weights if weights is not None else VerdictWeights()
    fade = p.negative_decay if p.negative_decay is not None else p.decay
    epoch = p.epoch(now)
    best: dict[tuple[str, str], float] = {}
    for i, c in enumerate(challenges):
        if c.time > now:
            continue
        value = w.weight(c.kind) * fade ** (epoch - p.epoch(c.time))
        key = (c.esp, c.challenger or f"#{i}")  # an unknown winner is nobody else
        if value > best.get(key, 0.0):
            best[key] = value
    out: dict[str, float] = {}
    for (esp, _), value in best.items():
        out[esp] = out.get(esp, 0.0) + value * w.failures
    return {k: v for k, v in out.items() if v > 0}


def verdict_opinion_terms(familiarity: F64, params: ReputationParams) -> tuple[F64, F64, F64]:
    """weight x (b, d, u) of the verdict recommenders of familiarity ``familiarity`` (per ESP):
    the opinion of that many failed full-value tasks, ``s = negative_weight x F``."""
    f = np.asarray(familiarity, dtype=np.float64)
    s = params.negative_weight * f
    q = f / (s + params.prior_weight)
    return np.zeros_like(f), q * s, q * params.prior_weight


VERDICT_EVENTS = frozenset(
    {
        "ChallengeOpened",
        "ChallengeDecided",
        "ChallengeRecorded",
        "RevocationSettled",
        "Reinstated",
        "Reclaimed",
        "DuplicateImageRevoked",
    }
)
"""The events :func:`lost_challenges` reads (the others can be left out of its rows)."""


class VerdictLog:
    """The rows :func:`lost_challenges` needs, fed in chain order as an indexer sees them, with
    the lost challenges derived once per change (what the marketplace keeps beside its engine).
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._lost: list[LostChallenge] | None = []

    def add(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Keeps the rows of :data:`VERDICT_EVENTS` (others are ignored)."""
        for r in rows:
            if r["event"] in VERDICT_EVENTS:
                self._rows.append({k: r[k] for k in _KEYS})
                self._lost = None

    @property
    def lost(self) -> list[LostChallenge]:
        """The lost challenges of the rows added so far (reversed ones left out)."""
        if self._lost is None:
            self._lost = lost_challenges(self._rows)
        return self._lost

    def familiarity(self, *, now: int, params: ReputationParams | None = None) -> dict[str, float]:
        """:func:`verdict_familiarity` of :attr:`lost` at ``now``."""
        return verdict_familiarity(self.lost, now=now, params=params)


_KEYS = ("contract", "event", "args", "tx_hash", "block_time")
