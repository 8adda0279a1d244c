"""A straightforward, per-opinion pure-Python MWSL: the benchmark's baseline and the tests' oracle.

It keeps evidence exactly as ``EvidenceLib.sol`` does (decayed positive and negative weight plus
the epoch of the last update, decayed lazily when touched) and computes each reputation with
:class:`Opinion` objects, one recommender at a time, as the on-chain view does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.reputation.interactions import Interaction
from services.reputation.opinion import Opinion
from services.reputation.params import ReputationParams

__all__ = ["NaiveEvidence", "naive_evidence", "naive_reputation", "naive_reputations"]


@dataclass(slots=True)
class NaiveEvidence:
    """Decayed evidence of one (producer, ESP) pair as of ``epoch``."""

    positive: float
    negative: float
    epoch: int

    def at(self, epoch: int, decay: float) -> tuple[float, float, float]:
        """(positive, negative, timeliness) decayed to ``epoch``."""
        f = decay ** (epoch - self.epoch)
        return self.positive * f, self.negative * f, f


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
        ev.positive, ev.negative, _ = ev.at(epoch, params.decay)
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
