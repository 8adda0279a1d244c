"""ESP selection from a producer's view: rank by reputation, then softmax or argmax above a floor.

This is what the marketplace calls when a producer asks "which ESP should do my task?"::

    ranking = rank(producer, candidate_esps, engine, now=chain_time)
    esp = select(ranking, policy="softmax", temperature=0.15, floor=0.2, rng=rng)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from services.reputation.engine import ReputationEngine
from services.reputation.errors import InvalidParameterError, NoEligibleEspError

__all__ = ["RankedEsp", "SelectionPolicy", "rank", "select"]

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
    index = {esp: i for i, esp in enumerate(engine.esps)}
    base = engine.params.base_rate
    scored = [RankedEsp(esp, float(values[index[esp]]) if esp in index else base) for esp in esps]
    return sorted(scored, key=lambda r: -r.reputation)


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
