"""The subjective-logic opinion: a value object with consensus fusion and expected value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from services.reputation.errors import InvalidOpinionError

__all__ = ["Opinion"]

_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Opinion:
    """A binomial opinion (b, d, u, a) about one ESP: belief, disbelief, uncertainty, base rate.

    Invariants: every component lies in [0, 1] and b + d + u = 1 (within 1e-9).
    """

    belief: float
    disbelief: float
    uncertainty: float
    base_rate: float = 0.5

    def __post_init__(self) -> None:
        for name in ("belief", "disbelief", "uncertainty", "base_rate"):
            value = getattr(self, name)
            if not (-_TOLERANCE <= value <= 1.0 + _TOLERANCE) or math.isnan(value):
                raise InvalidOpinionError(f"{name}={value!r} is outside [0, 1]")
        total = self.belief + self.disbelief + self.uncertainty
        if abs(total - 1.0) > _TOLERANCE:
            raise InvalidOpinionError(f"belief + disbelief + uncertainty = {total!r}, not 1")

    @classmethod
    def vacuous(cls, base_rate: float = 0.5) -> Opinion:
        """The opinion held without any evidence: total uncertainty."""
        return cls(0.0, 0.0, 1.0, base_rate)

    @classmethod
    def from_evidence(
        cls,
        *,
        positive: float,
        negative: float,
        prior_weight: float = 2.0,
        base_rate: float = 0.5,
    ) -> Opinion:
        """Maps weighted evidence r (positive), s (negative) to (r, s, W) / (r + s + W).

        ``negative`` must already carry the interaction-effect weight; uncertainty shrinks as
        evidence grows.
        """
        if positive < 0 or negative < 0 or math.isnan(positive) or math.isnan(negative):
            raise InvalidOpinionError(f"evidence must be >= 0, got r={positive!r}, s={negative!r}")
        if not prior_weight > 0:
            raise InvalidOpinionError(f"prior_weight must be > 0, got {prior_weight!r}")
        total = positive + negative + prior_weight
        return cls(positive / total, negative / total, prior_weight / total, base_rate)

    @classmethod
    def weighted_average(
        cls, opinions: Sequence[Opinion], weights: Sequence[float], *, base_rate: float = 0.5
    ) -> Opinion:
        """The component-wise weighted mean of ``opinions``; vacuous if no weight is positive."""
        if len(opinions) != len(weights):
            raise InvalidOpinionError(f"{len(opinions)} opinions but {len(weights)} weights")
        if any(w < 0 or math.isnan(w) for w in weights):
            raise InvalidOpinionError("weights must be >= 0")
        total = math.fsum(weights)
        if total <= 0.0:
            return cls.vacuous(base_rate)
        b = math.fsum(o.belief * w for o, w in zip(opinions, weights, strict=True)) / total
        d = math.fsum(o.disbelief * w for o, w in zip(opinions, weights, strict=True)) / total
        u = math.fsum(o.uncertainty * w for o, w in zip(opinions, weights, strict=True)) / total
        return cls(b, d, u, base_rate)

    def expected(self) -> float:
        """The probability expectation E = b + a*u: the reputation T of MWSL."""
        return self.belief + self.base_rate * self.uncertainty

    def fuse(self, other: Opinion) -> Opinion:
        """Jøsang's consensus (cumulative fusion) of two independent opinions.

        With k = u1 + u2 - u1*u2: b = (b1 u2 + b2 u1) / k, d likewise, u = u1 u2 / k. Fusing with
        a vacuous opinion returns the other one. Two dogmatic opinions (u = 0) are averaged.
        """
        u1, u2 = self.uncertainty, other.uncertainty
        k = u1 + u2 - u1 * u2
        if k <= 0.0:  # both dogmatic: the limit of equal relative dogmatism
            return Opinion(
                (self.belief + other.belief) / 2,
                (self.disbelief + other.disbelief) / 2,
                0.0,
                (self.base_rate + other.base_rate) / 2,
            )
        b = (self.belief * u2 + other.belief * u1) / k
        d = (self.disbelief * u2 + other.disbelief * u1) / k
        u = u1 * u2 / k
        # Jøsang's fused base rate, written as a weighted mean of the two base rates so that it
        # stays exact when both opinions are nearly vacuous (u1, u2 -> 1).
        w1, w2 = u2 * (1 - u1), u1 * (1 - u2)
        if self.base_rate == other.base_rate:
            a = self.base_rate
        elif w1 + w2 > 0.0:
            a = (self.base_rate * w1 + other.base_rate * w2) / (w1 + w2)
        else:
            a = (self.base_rate + other.base_rate) / 2
        return Opinion(b, d, u, a)
