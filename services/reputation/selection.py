"""ESP selection from a producer's view: rank by reputation, then softmax or argmax above a floor.

This is what the marketplace calls when a producer asks "which ESP should do my task?"::

    ranking = rank(producer, candidate_esps, engine, now=chain_time)
    esp = select(ranking, policy="softmax", temperature=0.15, floor=0.2, rng=rng)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from services.reputation.engine import ReputationEngine
from services.reputation.errors import InvalidParameterError, NoEligibleEspError
from services.reputation.verdicts import verdict_opinion_terms

__all__ = [
    "NEWCOMER_UNCERTAINTY",
    "RankedChoice",
    "RankedEsp",
    "SelectionPolicy",
    "exploring_probabilities",
    "rank",
    "rank_exploring",
    "select",
    "select_exploring",
]

SelectionPolicy = Literal["softmax", "argmax"]


class RankedEsp(NamedTuple):
    """One ESP with its reputation from the chooser's view."""

    esp: str
    reputation: float


def rank(
    producer: str, esps: Sequence[str], engine: ReputationEngine, *, now: int
) -> list[RankedEsp]:
    """``esps`` with their reputations from ``producer``'s view at ``now``, best first.

    ESPs the engine has never seen (newcomers) get the base rate. Ties keep the input order.
    """
    values = engine.reputations(producer, now=now)
    scores = _aligned(values, esps, engine, missing=engine.params.base_rate)
    # one stable sort in numpy and plain tuples: the per-ESP Python work of sorting 10,000
    # NamedTuples by a key was a tenth of a cold ranking at 10,000 ESPs
    order = np.argsort(-scores, kind="stable").tolist()
    ids, reps, make = list(esps), scores.tolist(), tuple.__new__
    return [make(RankedEsp, (ids[i], reps[i])) for i in order]


def _aligned(
    values: npt.NDArray[np.float64],
    esps: Sequence[str],
    engine: ReputationEngine,
    *,
    missing: float,
) -> npt.NDArray[np.float64]:
    """``values`` (aligned with ``engine.esps``) at ``esps``; ``missing`` for ESPs the engine
    never saw."""
    known = engine.esps
    if tuple(esps) == known:  # the usual call: every ESP, in the engine's order
        return values
    index = dict(zip(known, range(len(known)), strict=True))
    codes = np.fromiter((index.get(e, -1) for e in esps), np.int64, len(esps))
    picked = values[np.maximum(codes, 0)] if len(known) else np.zeros(len(esps))
    out: npt.NDArray[np.float64] = np.where(codes >= 0, picked, missing)
    return out


def _check(policy: str, temperature: float, floor: float) -> None:
    if policy not in ("softmax", "argmax"):
        raise InvalidParameterError("policy", policy, "'softmax' or 'argmax'")
    if not (0.0 < temperature < math.inf):
        raise InvalidParameterError("temperature", temperature, "a finite number > 0")
    if not (0.0 <= floor <= 1.0):
        raise InvalidParameterError("floor", floor, "a number in [0, 1]")


def select(
    ranking: Sequence[RankedEsp] | Sequence[tuple[str, float]],
    *,
    policy: SelectionPolicy = "softmax",
    temperature: float = 0.15,
    floor: float = 0.2,
    rng: np.random.Generator | None = None,
) -> str:
    """Picks one ESP from ``ranking`` (as returned by :func:`rank`).

    Candidates with reputation below ``floor`` are excluded. ``argmax`` returns the best
    remaining one (the first listed among equals); ``softmax`` draws ESP k with probability
    proportional to exp(T_k / temperature), so a lower temperature favours the best ESP more
    and a higher one spreads load. Raises :class:`NoEligibleEspError` if nothing is left.
    """
    _check(policy, temperature, floor)
    eligible = [(str(esp), float(t)) for esp, t in ranking if float(t) >= floor]
    if not eligible:
        raise NoEligibleEspError(len(ranking), floor)
    if policy == "argmax":
        return eligible[int(np.argmax([t for _, t in eligible]))][0]
    probs = selection_probabilities(eligible, temperature=temperature, floor=floor)
    generator = rng if rng is not None else np.random.default_rng()
    return eligible[int(generator.choice(len(eligible), p=probs))][0]


def selection_probabilities(
    ranking: Sequence[RankedEsp] | Sequence[tuple[str, float]], *, temperature: float, floor: float
) -> list[float]:
    """The softmax policy's probability of choosing each ESP of ``ranking`` (0 below ``floor``;
    all 0 when none is eligible)."""
    _check("softmax", temperature, floor)
    scores = np.array([float(t) for _, t in ranking], dtype=float)
    probs = np.zeros_like(scores)
    eligible = scores >= floor
    if eligible.any():
        weights = np.exp((scores[eligible] - scores[eligible].max()) / temperature)
        probs[eligible] = weights / weights.sum()
    return [float(p) for p in probs]


NEWCOMER_UNCERTAINTY = 0.85
"""An ESP whose combined opinion keeps at least this uncertainty is a newcomer (barely any
evidence from anyone, e.g. a fresh identity): it only gets the exploration share."""


def exploring_probabilities(
    reputation: npt.NDArray[np.float64],
    uncertainty: npt.NDArray[np.float64],
    *,
    temperature: float,
    floor: float,
    explore_share: float,
    newcomer_uncertainty: float = NEWCOMER_UNCERTAINTY,
    probation_from: float | None = None,
    available: npt.ArrayLike | None = None,
    unresponsive: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Selection probabilities with a bounded exploration share, row-wise (1-D or 2-D input).

    Established ESPs (uncertainty below ``newcomer_uncertainty``) at or above ``floor`` share
    ``1 - explore_share`` by softmax of T / ``temperature``; newcomers share ``explore_share``
    uniformly, whatever their T, so a fresh identity can never take more than that (and only a
    slice of it when others are new too). If no established ESP is eligible, newcomers get
    everything; if nothing is, the row is all zeros (the producer waits).

    With ``probation_from`` set (e.g. the base rate), established ESPs between it and the floor
    share the exploration slice with the newcomers: an honest ESP that an unlucky failure left
    just under the floor gets the traffic it needs to climb back, while one whose negative
    evidence outweighs its positive (T below the base rate) gets nothing.

    ``available`` (booleans, broadcast against the input) marks the ESPs that can take the task
    now; the others (e.g. at capacity: they declined it) get 0 and are left out before the
    shares are split, so when every established ESP is full the newcomers get the task.

    ``unresponsive`` (booleans, broadcast likewise; ``services.reputation.responsiveness``)
    marks ESPs that let more drawn tasks go unquoted than they quoted: as newcomers or on
    probation they get no exploration slot, unless nothing else could take the task.
    """
    _check("softmax", temperature, floor)
    if not 0.0 <= explore_share <= 1.0:
        raise InvalidParameterError("explore_share", explore_share, "a number in [0, 1]")
    t = np.atleast_2d(np.asarray(reputation, dtype=np.float64))
    u = np.atleast_2d(np.asarray(uncertainty, dtype=np.float64))
    if t.shape[-1] == 0:  # no ESP registered yet: nothing to choose (max() of nothing raises)
        return np.zeros(np.shape(reputation), dtype=np.float64)
    new = u >= newcomer_uncertainty
    eligible = ~new & (t >= floor)
    if probation_from is not None:
        new = new | (~eligible & (t >= probation_from))
    if available is not None:
        free = np.broadcast_to(np.asarray(available, dtype=np.bool_), t.shape)
        eligible, new = eligible & free, new & free
    if unresponsive is not None:
        quiet = np.broadcast_to(np.asarray(unresponsive, dtype=np.bool_), t.shape)
        kept = new & ~quiet
        # nobody else can take the task: the unresponsive newcomers keep their slots
        alone = ~(eligible.any(axis=1, keepdims=True) | kept.any(axis=1, keepdims=True))
        new = np.where(alone, new, kept)
    top = np.where(eligible, t, -np.inf).max(axis=1, keepdims=True)
    shift = np.where(np.isfinite(top), top, 0.0)
    weights = np.where(eligible, np.exp((t - shift) / temperature), 0.0)
    w_sum = weights.sum(axis=1, keepdims=True)
    n_new = new.sum(axis=1, keepdims=True)
    has_est, has_new = w_sum > 0, n_new > 0
    est_share = np.where(has_est, np.where(has_new, 1.0 - explore_share, 1.0), 0.0)
    new_share = np.where(has_new, np.where(has_est, explore_share, 1.0), 0.0)
    probs = weights / np.where(has_est, w_sum, 1.0) * est_share
    probs = probs + new * (new_share / np.maximum(n_new, 1))
    out: npt.NDArray[np.float64] = probs.reshape(np.shape(reputation))
    return out


class RankedChoice(NamedTuple):
    """One ESP with its reputation and selection probability from the chooser's view."""

    esp: str
    reputation: float
    probability: float


def rank_exploring(
    producer: str,
    esps: Sequence[str],
    engine: ReputationEngine,
    *,
    now: int,
    temperature: float = 0.2,
    floor: float = 0.55,
    explore_share: float = 0.02,
    unavailable: Collection[str] = (),
    verdicts: Mapping[str, float] | None = None,
    unresponsive: Collection[str] = (),
) -> list[RankedChoice]:
    """``esps`` with their reputations and :func:`exploring_probabilities` from ``producer``'s
    view, best first (ties keep the input order): what :func:`select_exploring` draws from.

    Established ESPs between the base rate and the floor are on probation (they share the
    exploration slice with newcomers); ESPs the engine never saw are newcomers. ESPs in
    ``unavailable`` (at capacity: they declined this task) get 0 and the others share what they
    would have had (the attack simulation's capacity). All probabilities are 0 when nothing is
    eligible.

    ``verdicts``: the familiarity of each ESP's lost challenges (by address, any case;
    ``services.reputation.verdicts.verdict_familiarity``), one more recommender of failed tasks
    in its recommended opinion (docs/reputation.md, "Lost challenges").

    ``unresponsive``: ESPs (any case) that left more drawn tasks unquoted than they quoted
    (``services.reputation.responsiveness``): no exploration slot (docs/reputation.md,
    "Crowding the exploration slice")."""
    params = engine.params
    base = params.base_rate
    f_known, f_esps = _verdict_columns(verdicts, esps, engine)
    b, _, u = engine.opinion_arrays(producer, now=now, verdicts=f_known)
    gone = set(unavailable)
    rep = _aligned(b + base * u, esps, engine, missing=base)
    unc = _aligned(u, esps, engine, missing=1.0)
    if f_esps is not None:  # ESPs with verdicts and no interaction: the verdict alone
        seen = set(engine.esps)
        unseen = np.fromiter((e not in seen for e in esps), np.bool_, len(esps))
        vb, vd, vu = verdict_opinion_terms(f_esps, params)
        vu = vu + np.where(f_esps > 0, params.recommendation_prior, 0.0)
        total = np.where(f_esps > 0, vb + vd + vu, 1.0)
        u_v = np.where(f_esps > 0, vu / total, 1.0)
        rep = np.where(unseen, vb / total + base * u_v, rep)
        unc = np.where(unseen, u_v, unc)
    probs = exploring_probabilities(
        rep,
        unc,
        temperature=temperature,
        floor=floor,
        explore_share=explore_share,
        probation_from=base,
        available=np.array([e not in gone for e in esps], dtype=np.bool_),
        unresponsive=_members(unresponsive, esps),
    )
    order = np.argsort(-rep, kind="stable").tolist()
    ids, reps, chances = list(esps), rep.tolist(), probs.tolist()
    return [RankedChoice(str(ids[i]), reps[i], chances[i]) for i in order]


def _members(names: Collection[str], esps: Sequence[str]) -> npt.NDArray[np.bool_] | None:
    """Which of ``esps`` are in ``names`` (any case); None when ``names`` is empty."""
    if not names:
        return None
    lower = {str(n).lower() for n in names}
    return np.array([str(e).lower() in lower for e in esps], dtype=np.bool_)


def _verdict_columns(
    verdicts: Mapping[str, float] | None, esps: Sequence[str], engine: ReputationEngine
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """``verdicts`` as columns aligned with ``engine.esps`` and with ``esps`` (None: none)."""
    if not verdicts:
        return None, None
    lower = {str(k).lower(): float(v) for k, v in verdicts.items()}
    known = np.array([lower.get(e.lower(), 0.0) for e in engine.esps], dtype=np.float64)
    asked = np.array([lower.get(str(e).lower(), 0.0) for e in esps], dtype=np.float64)
    return known, asked


def select_exploring(
    producer: str,
    esps: Sequence[str],
    engine: ReputationEngine,
    *,
    now: int,
    temperature: float = 0.2,
    floor: float = 0.55,
    explore_share: float = 0.02,
    unavailable: Collection[str] = (),
    rng: np.random.Generator | None = None,
    verdicts: Mapping[str, float] | None = None,
    unresponsive: Collection[str] = (),
) -> str:
    """Draws one of ``esps`` by :func:`exploring_probabilities` from ``producer``'s view (the
    attack simulation's setting: established ESPs between the base rate and the floor are on
    probation, sharing the exploration slice with newcomers; :func:`rank_exploring`).

    ESPs the engine never saw are newcomers. An ESP that declined the task (at capacity) goes
    in ``unavailable`` and the producer draws again among the others. Raises
    :class:`NoEligibleEspError` if no ESP is eligible (nothing established at or above
    ``floor`` and no newcomer, among the available ones)."""
    ranked = rank_exploring(
        producer,
        esps,
        engine,
        now=now,
        temperature=temperature,
        floor=floor,
        explore_share=explore_share,
        unavailable=unavailable,
        verdicts=verdicts,
        unresponsive=unresponsive,
    )
    probs = np.array([r.probability for r in ranked])
    if probs.sum() <= 0:
        raise NoEligibleEspError(len(esps), floor)
    generator = rng if rng is not None else np.random.default_rng()
    return ranked[int(generator.choice(len(ranked), p=probs / probs.sum()))].esp
