"""Parameters of the multi-weight subjective logic (MWSL) model, with the on-chain defaults.

The defaults are the constants compiled into ``contracts/EvidenceLib.sol`` (decay, period, value
reference) and ``contracts/ReputationView.sol`` (negative weight, prior weight, base rate): the
off-chain engine run with ``ReputationParams()`` computes the same reputation as the on-chain view.
Other values are fine off chain (simulations, what-if analyses) but then the two differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.reputation.errors import InvalidParameterError

__all__ = ["ReputationParams"]


@dataclass(frozen=True, slots=True)
class ReputationParams:
    """How evidence turns into opinions and reputations. All fields have documented defaults.

    Attributes:
        decay: timeliness weight, the factor by which evidence fades per elapsed ``period``
            (0 < decay <= 1; 1 disables decay). Default 0.95 per day: a half-life of ~13.5 days.
        period: length of one decay period in seconds (decay is applied per whole period, on
            absolute period boundaries ``floor(time / period)``). Default 86400 (one day).
        negative_weight: interaction-effect weight of a negative interaction relative to a
            positive one (>= 1: negative interactions weigh more). Default 2.
        prior_weight: the non-informative prior weight W of subjective logic: with r positive
            and s negative (weighted) evidence, u = W / (r + s + W). Default 2.
        base_rate: the base rate a; reputation is T = b + a*u, so an ESP with no evidence has
            T = a. Default 0.5.
        value_reference: interaction value (in the lock's base units, wei for ETH) from which an
            interaction counts fully. An interaction of value v weighs min(1, v / reference)^2:
            one at or above the reference, quadratically less below it, so splitting a payment
            into many small ones loses weight (ten locks of a tenth count a tenth of one).
            ``None`` weighs every interaction 1. Default 10**15 (0.001 ETH).
    """

    decay: float = 0.95
    period: int = 86_400
    negative_weight: float = 2.0
    prior_weight: float = 2.0
    base_rate: float = 0.5
    value_reference: int | None = 10**15

    def __post_init__(self) -> None:
        if not (0.0 < self.decay <= 1.0) or not math.isfinite(self.decay):
            raise InvalidParameterError("decay", self.decay, "a number in (0, 1]")
        if isinstance(self.period, bool) or not isinstance(self.period, int) or self.period < 1:
            raise InvalidParameterError("period", self.period, "a whole number of seconds >= 1")
        if not (1.0 <= self.negative_weight < math.inf):
            raise InvalidParameterError(
                "negative_weight", self.negative_weight, "a finite number >= 1"
            )
        if not (0.0 < self.prior_weight < math.inf):
            raise InvalidParameterError("prior_weight", self.prior_weight, "a finite number > 0")
        if not (0.0 <= self.base_rate <= 1.0):
            raise InvalidParameterError("base_rate", self.base_rate, "a number in [0, 1]")
        ref = self.value_reference
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, int) or ref < 1):
            raise InvalidParameterError("value_reference", ref, "None or a whole number >= 1")

    def epoch(self, time: int) -> int:
        """The decay period that ``time`` (seconds) falls in."""
        return int(time) // self.period

    def interaction_weight(self, value: int | float) -> float:
        """The weight of one interaction worth ``value`` (see ``value_reference``)."""
        if self.value_reference is None:
            return 1.0
        rho = min(float(value) / self.value_reference, 1.0)
        return rho * rho

    def interaction_weights(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised :meth:`interaction_weight` over an array of values."""
        v = np.asarray(values, dtype=np.float64)
        if self.value_reference is None:
            return np.ones_like(v)
        rho = np.minimum(v / float(self.value_reference), 1.0)
        out: npt.NDArray[np.float64] = rho * rho
        return out
