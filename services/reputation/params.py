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
        recommender_cap: Sybil resistance (wave 2, off chain only): a recommender's familiarity
            with an ESP counts at most this many full interactions, and its recommended opinion
            is built from its evidence scaled down to at most this much, so no single paying
            identity can outweigh a handful of ordinary customers. ``None``: uncapped (on chain).
        diversity_reference: Sybil resistance (off chain only): a recommender about ESP j
            weighs ``min(1, e_other / diversity_reference)``, where ``e_other`` is its decayed,
            value-weighted evidence with ESPs other than j: Ether it paid to someone else. A
            wash-trading identity that only ever pays the ESP it promotes weighs nothing.
            ``None``: no discount (on chain).
        recommendation_prior: Sybil resistance (off chain only): the recommended opinion is
            averaged together with a vacuous opinion of this weight, so an ESP vouched for by
            little weight stays uncertain (near the base rate, below the selection floor).
            0: none (on chain).
        credibility_reference: Sybil resistance (off chain only): each recommender weighs
            ``max(0, 1 - dev / credibility_reference)``, ``dev`` being the familiarity-weighted
            mean distance between its own expectation of each ESP it rated and a stranger's
            view of that ESP (a first pass). Badmouthers and ring members disagree with the
            crowd and fade. ``None``: off (on chain).
        negative_decay: on-off resistance (off chain only): negative evidence fades by this
            factor per period instead of ``decay`` (slower: forgiving takes longer than
            forgetting good service). ``None``: ``decay`` (on chain).
        deadline_weight: how much a late-but-in-time delivery costs: a positive interaction
            completed at fraction ``f`` of its quoted deadline counts ``1 - deadline_weight * f``
            positive and the rest negative. Only for interactions that carry ``elapsed``.
        steps_reference: diffusion steps of a task of ordinary complexity: an interaction with
            ``steps`` weighs ``clip(steps / steps_reference, 0.5, 2)`` times its value weight.
            Only for interactions that carry ``steps``.
        trust_steps: personalised trust (off chain only): from the view of a producer with
            history of its own, each recommender's weight is multiplied by how far the viewer's
            endorsements reach it in this many round trips of a walk on the producer-ESP graph
            (``services.reputation._trust``; SybilRank-style early termination). ``None``: off
            (every producer sees the stranger's recommendations).
        trust_reference: a recommender whose walk trust per unit of its own endorsements is at
            least this share of the trust mass's typical (median) producer keeps its full
            weight; below, that fraction of it. Only with ``trust_steps``.

    Interactions without ``quality``, ``elapsed`` or ``steps`` (all that the chain records
    today) weigh exactly as on chain, so the last two fields never break agreement with
    ``ReputationView``; the three Sybil-resistance fields do, and are off by default
    (:meth:`hardened` turns them on).
    """

    decay: float = 0.95
    period: int = 86_400
    negative_weight: float = 2.0
    prior_weight: float = 2.0
    base_rate: float = 0.5
    value_reference: int | None = 10**15
    recommender_cap: float | None = None
    diversity_reference: float | None = None
    recommendation_prior: float = 0.0
    credibility_reference: float | None = None
    negative_decay: float | None = None
    deadline_weight: float = 0.25
    steps_reference: int | None = 30
    trust_steps: int | None = None
    trust_reference: float = 0.5

    @classmethod
    def hardened(cls, **overrides: float | int | None) -> ReputationParams:
        """The wave-2 Sybil-resistant weighting (docs/reputation.md): cap 3 full interactions
        per recommender, full weight after one full interaction paid to another ESP, a vacuous
        pseudo-recommender of weight 10. Off-chain only: ``ReputationView`` keeps the subset."""
        fields: dict[str, float | int | None] = {
            "recommender_cap": 3.0,
            "diversity_reference": 1.0,
            "recommendation_prior": 10.0,
            "credibility_reference": 0.2,
            "negative_decay": 0.99,
            "trust_steps": 4,
        }
        fields.update(overrides)
        return cls(**fields)  # type: ignore[arg-type]

    @property
    def sybil_resistant(self) -> bool:
        """Whether any off-chain-only weighting is on (then the on-chain view differs)."""
        return (
            self.recommender_cap is not None
            or self.diversity_reference is not None
            or self.recommendation_prior > 0
            or self.credibility_reference is not None
            or self.negative_decay is not None
            or self.trust_steps is not None
        )

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
        for name in ("recommender_cap", "diversity_reference", "credibility_reference"):
            v = getattr(self, name)
            if v is not None and not (0.0 < v < math.inf):
                raise InvalidParameterError(name, v, "None or a finite number > 0")
        nd = self.negative_decay
        if nd is not None and (not (0.0 < nd <= 1.0) or not math.isfinite(nd)):
            raise InvalidParameterError("negative_decay", nd, "None or a number in (0, 1]")
        if not (0.0 <= self.recommendation_prior < math.inf):
            raise InvalidParameterError(
                "recommendation_prior", self.recommendation_prior, "a finite number >= 0"
            )
        if not (0.0 <= self.deadline_weight <= 1.0):
            raise InvalidParameterError("deadline_weight", self.deadline_weight, "in [0, 1]")
        ts = self.trust_steps
        if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int) or ts < 1):
            raise InvalidParameterError("trust_steps", ts, "None or a whole number >= 1")
        if not (0.0 < self.trust_reference < math.inf):
            raise InvalidParameterError(
                "trust_reference", self.trust_reference, "a finite number > 0"
            )
        st = self.steps_reference
        if st is not None and (isinstance(st, bool) or not isinstance(st, int) or st < 1):
            raise InvalidParameterError("steps_reference", st, "None or a whole number >= 1")

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

    def evidence_split(
        self,
        values: npt.ArrayLike,
        positive: npt.ArrayLike,
        *,
        quality: npt.ArrayLike | None = None,
        elapsed: npt.ArrayLike | None = None,
        steps: npt.ArrayLike | None = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(positive weight, negative weight) of each interaction.

        weight = value weight * complexity (``steps``); a negative interaction (negative
        feedback, refund) puts it all on the negative side; a positive one splits it by its
        outcome o = quality * (1 - deadline_weight * elapsed), o on the positive side and
        1 - o on the negative side. NaN (or a missing column) means "not recorded": quality 1,
        elapsed 0, complexity 1, i.e. exactly the on-chain weighting.
        """
        w = self.interaction_weights(values)
        ok = np.asarray(positive, dtype=np.bool_)
        if steps is not None and self.steps_reference is not None:
            st = np.asarray(steps, dtype=np.float64)
            factor = np.clip(st / float(self.steps_reference), 0.5, 2.0)
            w = w * np.where(np.isnan(st), 1.0, factor)
        outcome = np.ones_like(w)
        if quality is not None:
            q = np.asarray(quality, dtype=np.float64)
            outcome = outcome * np.where(np.isnan(q), 1.0, np.clip(q, 0.0, 1.0))
        if elapsed is not None:
            f = np.asarray(elapsed, dtype=np.float64)
            late = np.where(np.isnan(f), 0.0, np.clip(f, 0.0, 1.0))
            outcome = outcome * (1.0 - self.deadline_weight * late)
        outcome = np.where(ok, outcome, 0.0)
        return w * outcome, w * (1.0 - outcome)
