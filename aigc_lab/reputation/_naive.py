"""A straightforward, per-opinion pure-Python MWSL: the benchmark's baseline and the tests' oracle.

It keeps evidence exactly as ``EvidenceLib.sol`` does (decayed positive and negative weight plus
the epoch of the last update, decayed lazily when touched) and computes each reputation with
:class:`Opinion` objects, one recommender at a time, as the on-chain view does.
:func:`naive_hardened_reputations` does the same for the off-chain Sybil-resistant weighting
(``ReputationParams.hardened()``), one recommender at a time, in plain Python floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.reputation.interactions import Interaction
from services.reputation.opinion import Opinion
from services.reputation.params import ReputationParams

__all__ = [
    "NaiveEvidence",
    "naive_evidence",
    "naive_hardened_reputations",
    "naive_reputation",
    "naive_reputations",
]


@dataclass(slots=True)
class NaiveEvidence:
    """Decayed evidence of one (producer, ESP) pair as of ``epoch``."""

    positive: float
    negative: float
    epoch: int

    def at(
        self, epoch: int, decay: float, negative_decay: float | None = None
    ) -> tuple[float, float, float]:
        """(positive, negative, timeliness) decayed to ``epoch`` (negative evidence by
        ``negative_decay`` when given)."""
        f = decay ** (epoch - self.epoch)
        g = f if negative_decay is None else negative_decay ** (epoch - self.epoch)
        return self.positive * f, self.negative * g, f


def naive_evidence(
    records: Iterable[Interaction], params: ReputationParams
) -> dict[str, dict[str, NaiveEvidence]]:
    """``evidence[esp][producer]`` after recording ``records`` in time order, one by one."""
    evidence: dict[str, dict[str, NaiveEvidence]] = {}
    for r in sorted(records, key=lambda r: r.time):
        epoch = params.epoch(r.time)
        ev = evidence.setdefault(r.esp, {}).get(r.producer)
        if ev is None:
            ev = evidence[r.esp][r.producer] = NaiveEvidence(0.0, 0.0, epoch)
        ev.positive, ev.negative, _ = ev.at(epoch, params.decay, params.negative_decay)
        ev.epoch = epoch
        weight = params.interaction_weight(r.value)
        if r.positive:
            ev.positive += weight
        else:
            ev.negative += weight
    return evidence


def naive_reputation(
    producer: str,
    evidence_about_esp: Mapping[str, NaiveEvidence],
    params: ReputationParams,
    epoch: int,
) -> float:
    """Reputation of one ESP from ``producer``'s view, from its per-producer evidence."""
    local = Opinion.vacuous(params.base_rate)
    opinions: list[Opinion] = []
    weights: list[float] = []
    for other, ev in evidence_about_esp.items():
        p, n, timeliness = ev.at(epoch, params.decay)
        opinion = Opinion.from_evidence(
            positive=p,
            negative=n * params.negative_weight,
            prior_weight=params.prior_weight,
            base_rate=params.base_rate,
        )
        if other == producer:
            local = opinion
        else:
            opinions.append(opinion)
            weights.append((p + n) * timeliness)
    overall = Opinion.weighted_average(opinions, weights, base_rate=params.base_rate)
    return local.fuse(overall).expected()


def naive_reputations(
    producer: str,
    evidence: Mapping[str, Mapping[str, NaiveEvidence]],
    params: ReputationParams,
    epoch: int,
) -> dict[str, float]:
    """Reputation of every ESP in ``evidence`` from ``producer``'s view, one loop per opinion."""
    return {
        esp: naive_reputation(producer, per_producer, params, epoch)
        for esp, per_producer in evidence.items()
    }


def _contribution(
    p: float, n: float, fresh: float, other: float, params: ReputationParams
) -> tuple[float, float, float, float]:
    """weight * (b, d, u) of one recommender, and the weight (hardened weighting)."""
    fam, r, s_neg = p + n, p, n
    if params.recommender_cap is not None and fam > params.recommender_cap:
        scale = params.recommender_cap / fam
        r, s_neg, fam = p * scale, n * scale, params.recommender_cap
    weight = fam * fresh
    if params.diversity_reference is not None:
        weight *= min(1.0, max(0.0, other) / params.diversity_reference)
    opinion = Opinion.from_evidence(
        positive=r,
        negative=s_neg * params.negative_weight,
        prior_weight=params.prior_weight,
        base_rate=params.base_rate,
    )
    return (
        weight * opinion.belief,
        weight * opinion.disbelief,
        weight * opinion.uncertainty,
        weight,
    )


def naive_hardened_reputations(
    producer: str,
    evidence: Mapping[str, Mapping[str, NaiveEvidence]],
    params: ReputationParams,
    epoch: int,
) -> dict[str, float]:
    """Reputation of every ESP in ``evidence`` from ``producer``'s view under the off-chain
    weighting (recommender cap, diversity discount, recommendation prior, credibility,
    negative decay), one recommender at a time: the oracle of the engine's vectorised path."""
    at = {
        esp: {x: ev.at(epoch, params.decay, params.negative_decay) for x, ev in per.items()}
        for esp, per in evidence.items()
    }
    total: dict[str, float] = {}
    for per in at.values():
        for x, (p, n, _) in per.items():
            total[x] = total.get(x, 0.0) + p + n
    prior = params.recommendation_prior
    trust = naive_personal_trust(producer, at, params)

    def recommended(esp: str, cred: Mapping[str, float] | None, skip: str | None) -> Opinion:
        b = d = u = 0.0
        count = 0
        for x, (p, n, fresh) in at[esp].items():
            if x == skip:
                continue
            cb, cd, cu, w = _contribution(p, n, fresh, total[x] - (p + n), params)
            k = (1.0 if cred is None else cred[x]) * (1.0 if trust is None else trust[x])
            b, d, u = b + k * cb, d + k * cd, u + k * cu
            count += w * k > 0
        if count == 0 or b + d + u <= 0:
            return Opinion.vacuous(params.base_rate)
        whole = b + d + u + prior
        return Opinion(b / whole, d / whole, (u + prior) / whole, params.base_rate)

    cred: dict[str, float] | None = None
    if params.credibility_reference is not None:
        consensus = {esp: recommended(esp, None, None).expected() for esp in at}
        dev: dict[str, float] = {}
        fam: dict[str, float] = {}
        for esp, per in at.items():
            for x, (p, n, _) in per.items():
                f = p + n
                if params.recommender_cap is not None:
                    f = min(f, params.recommender_cap)
                own = (p + params.base_rate * params.prior_weight) / (
                    p + params.negative_weight * n + params.prior_weight
                )
                dev[x] = dev.get(x, 0.0) + f * abs(own - consensus[esp])
                fam[x] = fam.get(x, 0.0) + f
        cred = {
            x: min(1.0, max(0.0, 1.0 - dev[x] / max(fam[x], 1e-300) / params.credibility_reference))
            for x in dev
        }
    out: dict[str, float] = {}
    for esp, per in at.items():
        local = Opinion.vacuous(params.base_rate)
        if producer in per:
            p, n, _ = per[producer]
            local = Opinion.from_evidence(
                positive=p,
                negative=n * params.negative_weight,
                prior_weight=params.prior_weight,
                base_rate=params.base_rate,
            )
        out[esp] = local.fuse(recommended(esp, cred, producer)).expected()
    return out


def naive_personal_trust(
    producer: str,
    at: Mapping[str, Mapping[str, tuple[float, float, float]]],
    params: ReputationParams,
) -> dict[str, float] | None:
    """Per producer, the factor ``producer``'s trust walk puts on its recommender weight
    (``services.reputation._trust``), one edge at a time; None when off or when ``producer``
    endorses nobody. ``at``: per ESP, per producer (pos, neg, fresh) at the view's epoch."""
    if params.trust_steps is None:
        return None
    cap = params.recommender_cap if params.recommender_cap is not None else math.inf
    endorse: dict[tuple[str, str], float] = {}
    fam: dict[tuple[str, str], float] = {}
    for esp, per in at.items():
        for x, (p, n, _) in per.items():
            endorse[(x, esp)] = min(cap, max(0.0, p - params.negative_weight * n))
            fam[(x, esp)] = min(cap, max(0.0, p + n))
    endorsed: dict[str, float] = {}
    familiarity: dict[str, float] = {}
    esp_fam: dict[str, float] = {}
    for (x, esp), w in endorse.items():
        endorsed[x] = endorsed.get(x, 0.0) + w
        familiarity[x] = familiarity.get(x, 0.0) + fam[(x, esp)]
        esp_fam[esp] = esp_fam.get(esp, 0.0) + fam[(x, esp)]
    if endorsed.get(producer, 0.0) <= 0:
        return None
    trust = {producer: 1.0}
    for _ in range(params.trust_steps):
        at_esp: dict[str, float] = {}
        for (x, esp), w in endorse.items():
            if w > 0 and trust.get(x, 0.0) > 0:
                at_esp[esp] = at_esp.get(esp, 0.0) + w / endorsed[x] * trust[x]
        trust = {}
        for (x, esp), f in fam.items():
            if f > 0 and at_esp.get(esp, 0.0) > 0:
                trust[x] = trust.get(x, 0.0) + f / esp_fam[esp] * at_esp[esp]
    # trust per unit of familiarity against the trust mass's median, as the engine
    per_unit = {x: t / familiarity[x] for x, t in trust.items() if t > 0 and familiarity[x] > 0}
    half, seen, typical = 0.5 * sum(trust[x] for x in per_unit), 0.0, 0.0
    for x in sorted(per_unit, key=per_unit.__getitem__):
        seen += trust[x]
        if seen >= half:
            typical = per_unit[x]
            break
    factor = {
        x: min(1.0, per_unit.get(x, 0.0) / (params.trust_reference * typical)) if typical else 0.0
        for x in familiarity
    }
    factor[producer] = 1.0
    return factor
