"""Vectorised MWSL arithmetic over rows of pair evidence (numpy, no Python loops)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.reputation._store import PairStore
from services.reputation.params import ReputationParams

__all__ = [
    "EspSums",
    "PairTerms",
    "all_esp_sums",
    "consensus",
    "credibility",
    "deviation_terms",
    "esp_sums",
    "hardened_sums",
    "pair_terms",
    "recommender_contributions",
    "stranger_expectation",
    "weighted_sums",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PairTerms:
    """Per-row quantities at one epoch.

    ``r``, ``s``, ``denom``: the row's own opinion (r, s, W) / denom, as its producer's local
    opinion. ``cb``, ``cd``, ``cu``: what the row adds to its ESP's recommendation sums, i.e.
    weight * (b, d, u) of the row as a recommender (see :func:`recommender_contributions`);
    ``weight``: that recommender weight.
    """

    r: F64
    s: F64
    denom: F64
    weight: F64
    cb: F64
    cd: F64
    cu: F64


def recommender_contributions(
    pos: F64, neg: F64, fresh: F64, other: F64 | None, params: ReputationParams
) -> tuple[F64, F64, F64, F64]:
    """weight * (b, d, u) of recommenders, and the weight, from evidence at the query epoch.

    The one home of the recommender weighting (the engine and the attack simulation both call
    it). On chain: weight = familiarity (pos + neg) * timeliness ``fresh``, opinion from the
    evidence. With ``recommender_cap`` C: familiarity min(pos + neg, C) and the opinion from the
    evidence scaled down to at most C. With ``diversity_reference`` D: weight times
    min(1, other / D), ``other`` = the recommender's evidence with other ESPs.
    """
    fam = pos + neg
    r, s_neg = pos, neg
    if params.recommender_cap is not None:
        cap = params.recommender_cap
        scale = np.minimum(1.0, cap / np.maximum(fam, 1e-300))
        r, s_neg, fam = pos * scale, neg * scale, np.minimum(fam, cap)
    s = s_neg * params.negative_weight
    weight = fam * fresh
    if params.diversity_reference is not None and other is not None:
        weight = weight * np.clip(other / params.diversity_reference, 0.0, 1.0)
    q = weight / (r + s + params.prior_weight)
    return q * r, q * s, q * params.prior_weight, weight


def deviation_terms(
    pos: F64, neg: F64, consensus: F64, params: ReputationParams
) -> tuple[F64, F64]:
    """(familiarity * |E - C|, familiarity) per row: how far a recommender's own expectation E
    about an ESP lies from the consensus C (a stranger's view), weighted as it would weigh."""
    fam = pos + neg
    if params.recommender_cap is not None:
        fam = np.minimum(fam, params.recommender_cap)
    own = (pos + params.base_rate * params.prior_weight) / (
        pos + params.negative_weight * neg + params.prior_weight
    )
    return fam * np.abs(own - consensus), fam


def credibility(deviation: F64, familiarity: F64, params: ReputationParams) -> F64:
    """Per recommender: max(0, 1 - mean deviation / credibility_reference) (1 when off).

    A recommender whose opinions sit far from everybody else's across the ESPs it rated
    (badmouthers, ballot stuffers of a ring) loses its weight; honest ones, who agree with the
    crowd on most ESPs and differ where they were unlucky, keep most of theirs."""
    if params.credibility_reference is None:
        return np.ones_like(deviation)
    mean = deviation / np.maximum(familiarity, 1e-300)
    out: F64 = np.clip(1.0 - mean / params.credibility_reference, 0.0, 1.0)
    return out


def pair_terms(
    store: PairStore,
    params: ReputationParams,
    epoch: int,
    rows: I64 | slice = slice(None),
    cred: F64 | None = None,
) -> PairTerms:
    """Evaluates the rows ``rows`` of ``store`` at ``epoch`` (``cred``: per-producer credibility
    multiplying each recommender's weight, from :func:`hardened_sums`)."""
    c = store.scale(epoch)
    p = store.pos[rows] * c
    n = store.neg[rows] * store.scale_neg(epoch)
    s = n * params.negative_weight
    denom = p + s + params.prior_weight
    other = None
    if params.diversity_reference is not None:
        total = store.producer_total(store.producer[rows], epoch)
        other = np.maximum(total - (p + n), 0.0)
    cb, cd, cu, weight = recommender_contributions(p, n, store.fresh[rows] * c, other, params)
    if cred is not None:
        k = cred[store.producer[rows]]
        cb, cd, cu, weight = cb * k, cd * k, cu * k, weight * k
    return PairTerms(r=p, s=s, denom=denom, weight=weight, cb=cb, cd=cd, cu=cu)


@dataclass(slots=True)
class EspSums:
    """Per-ESP sums of weight * opinion over recommenders, and how many have positive weight."""

    belief: F64
    disbelief: F64
    uncertainty: F64
    count: I64

    def total(self) -> F64:
        out: F64 = self.belief + self.disbelief + self.uncertainty
        return out


def esp_sums(terms: PairTerms, esp: I64, n_esp: int, params: ReputationParams) -> EspSums:
    """Sums weight * (b, d, u) of each row into its ESP's bin."""
    return EspSums(
        belief=np.bincount(esp, weights=terms.cb, minlength=n_esp).astype(np.float64),
        disbelief=np.bincount(esp, weights=terms.cd, minlength=n_esp).astype(np.float64),
        uncertainty=np.bincount(esp, weights=terms.cu, minlength=n_esp).astype(np.float64),
        count=np.bincount(esp, weights=terms.weight > 0, minlength=n_esp).astype(np.int64),
    )


def _f64(values: npt.NDArray[np.floating[Any]]) -> F64:
    return values.astype(np.float64, copy=False)


def _recommender_count(store: PairStore, n_esp: int) -> I64:
    """Rows with positive weight per ESP: a fact of the rows alone (not of the epoch), cached
    on the store until its rows change."""
    cached = store.count_cache
    if cached is not None and cached[0] == store.version and cached[1] == n_esp:
        return cached[2].copy()
    count = np.bincount(store.esp, weights=store.reach > 0, minlength=n_esp).astype(np.int64)
    store.count_cache = (store.version, n_esp, count)
    return count.copy()


def all_esp_sums(store: PairStore, params: ReputationParams, epoch: int, n_esp: int) -> EspSums:
    """:func:`esp_sums` over every row, from the store's derived columns (fewest passes).

    With c = decay ** (epoch - ref): r = c pos, s = c eta neg, denom = c evidence + W and
    weight = c^2 reach, so q = weight / denom needs two passes and each sum one bincount.
    With the off-chain Sybil-resistant weighting on, every row goes through
    :func:`recommender_contributions` instead (a few more passes).
    """
    if params.sybil_resistant:
        return esp_sums(pair_terms(store, params, epoch), store.esp, n_esp, params)
    c = store.scale(epoch)
    q = store.evidence * c
    q += params.prior_weight
    np.divide(store.reach, q, out=q)  # the c^2 of weight is applied to the per-ESP sums
    esp = store.esp
    c2 = c * c
    belief = _f64(np.bincount(esp, weights=q * store.pos, minlength=n_esp) * (c2 * c))
    disbelief = _f64(
        np.bincount(esp, weights=q * store.neg, minlength=n_esp) * (c2 * c * params.negative_weight)
    )
    uncertainty = _f64(np.bincount(esp, weights=q, minlength=n_esp) * (c2 * params.prior_weight))
    # evidence decayed beyond float range (c == 0): nobody recommends anything
    count = _recommender_count(store, n_esp) if c > 0 else np.zeros(n_esp, np.int64)
    return EspSums(belief=belief, disbelief=disbelief, uncertainty=uncertainty, count=count)


def consensus(local: tuple[F64, F64, F64], other: tuple[F64, F64, F64]) -> tuple[F64, F64, F64]:
    """Element-wise consensus of two opinion arrays (both with uncertainty > 0)."""
    b1, d1, u1 = local
    b2, d2, u2 = other
    k = u1 + u2 - u1 * u2
    return (b1 * u2 + b2 * u1) / k, (d1 * u2 + d2 * u1) / k, u1 * u2 / k


def stranger_expectation(sums: EspSums, params: ReputationParams) -> F64:
    """T of every ESP from the view of a producer with no evidence of its own."""
    has = (sums.count > 0) & (sums.total() > 0)
    u = np.where(has, sums.uncertainty + params.recommendation_prior, 1.0)
    b = np.where(has, sums.belief, 0.0)
    total = b + np.where(has, sums.disbelief, 0.0) + u
    out: F64 = (b + params.base_rate * u) / total
    return out


def weighted_sums(
    producer: I64,
    esp: I64,
    pos: F64,
    neg: F64,
    fresh: F64,
    producer_total: F64,
    n_esp: int,
    params: ReputationParams,
) -> tuple[EspSums, F64 | None, tuple[F64, F64, F64, F64]]:
    """Per-ESP sums of the rows' recommendations with the off-chain weighting (one home for the
    engine and the attack simulation). Evidence is at the query epoch; ``producer_total`` is
    each producer's pos + neg over all its ESPs, by producer code.

    With ``credibility_reference`` set, two passes: the sums without credibility give a
    stranger's view (the consensus), each producer's deviation from it gives its credibility,
    and the sums are taken again with every recommender weighted by it. Returns the sums, the
    per-producer credibility (None when off) and the rows' (cb, cd, cu, weight) as summed.
    """
    other = np.maximum(producer_total[producer] - (pos + neg), 0.0)
    terms = recommender_contributions(pos, neg, fresh, other, params)

    def summed(t: tuple[F64, F64, F64, F64]) -> EspSums:
        return EspSums(
            belief=np.bincount(esp, weights=t[0], minlength=n_esp).astype(np.float64),
            disbelief=np.bincount(esp, weights=t[1], minlength=n_esp).astype(np.float64),
            uncertainty=np.bincount(esp, weights=t[2], minlength=n_esp).astype(np.float64),
            count=np.bincount(esp, weights=t[3] > 0, minlength=n_esp).astype(np.int64),
        )

    sums = summed(terms)
    if params.credibility_reference is None or producer.shape[0] == 0:
        return sums, None, terms
    consensus = stranger_expectation(sums, params)
    dev, fam = deviation_terms(pos, neg, consensus[esp], params)
    n_prod = producer_total.shape[0]
    cred = credibility(
        np.bincount(producer, weights=dev, minlength=n_prod).astype(np.float64),
        np.bincount(producer, weights=fam, minlength=n_prod).astype(np.float64),
        params,
    )
    k = cred[producer]
    terms = (terms[0] * k, terms[1] * k, terms[2] * k, terms[3] * k)
    return summed(terms), cred, terms


def hardened_sums(
    store: PairStore, params: ReputationParams, epoch: int, n_esp: int
) -> tuple[EspSums, F64 | None]:
    """:func:`weighted_sums` over every row of ``store`` at ``epoch``."""
    c = store.scale(epoch)
    producers = np.arange(int(store.producer.max()) + 1 if store.size else 0)
    sums, cred, _ = weighted_sums(
        store.producer,
        store.esp,
        store.pos * c,
        store.neg * store.scale_neg(epoch),
        store.fresh * c,
        store.producer_total(producers, epoch),
        n_esp,
        params,
    )
    return sums, cred
