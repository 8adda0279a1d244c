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
_Block = tuple[int, int, I64 | None, I64 | None]


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
    weight = c^2 reach, so q = weight / denom needs two operations per row and each sum one
    ``np.add.reduceat`` per block of the store's ESP-grouped rows.
    With the off-chain Sybil-resistant weighting on, every row goes through
    :func:`recommender_contributions` instead (a few more passes).
    """
    if params.sybil_resistant:
        return esp_sums(pair_terms(store, params, epoch), store.esp, n_esp, params)
    c = store.scale(epoch)
    layout = store.layout()
    width = max((hi - lo for lo, hi, _, _ in layout.blocks), default=0)
    buf = np.empty((2, width))
    acc = np.zeros((3, n_esp))
    esp_all = store.esp
    for lo, hi, seg_esp, seg_start in layout.blocks:
        q, x = buf[0, : hi - lo], buf[1, : hi - lo]
        np.multiply(store.evidence[lo:hi], c, out=q)
        np.add(q, params.prior_weight, out=q)
        np.divide(store.reach[lo:hi], q, out=q)  # the c^2 of weight is applied to the sums
        for i, values in enumerate((store.pos[lo:hi], store.neg[lo:hi], None)):
            if values is not None:
                np.multiply(q, values, out=x)
            summed = q if values is None else x
            if seg_esp is not None and seg_start is not None:
                acc[i][seg_esp] += np.add.reduceat(summed, seg_start)
            else:
                acc[i] += np.bincount(esp_all[lo:hi], weights=summed, minlength=n_esp)
    c2 = c * c
    # evidence decayed beyond float range (c == 0): nobody recommends anything
    count = _recommender_count(store, n_esp) if c > 0 else np.zeros(n_esp, np.int64)
    return EspSums(
        belief=acc[0] * (c2 * c),
        disbelief=acc[1] * (c2 * c * params.negative_weight),
        uncertainty=acc[2] * (c2 * params.prior_weight),
        count=count,
    )


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
    store: PairStore,
    params: ReputationParams,
    epoch: int,
    n_esp: int,
    trust: F64 | None = None,
) -> tuple[EspSums, F64 | None]:
    """:func:`weighted_sums` over every row of ``store`` at ``epoch``: the plain function's
    result (to rounding), computed block by block over the store's ESP-grouped rows.

    Three passes over the blocks (the second and third only with credibility): the per-ESP
    sums, the per-producer deviation from the resulting stranger's view, and the sums again
    with each recommender's credibility. Per row only a few in-cache array operations; per ESP
    one ``np.add.reduceat`` per sum over its contiguous segment (``np.bincount`` for the
    unsorted tail of new rows). The per-row q and q * cap-scale * (pos, neg) of the first pass
    are kept for the third. ``tests/services/reputation/test_fast_paths.py`` compares it with
    :func:`weighted_sums` on random stores.

    ``trust`` (per producer, in [0, 1]; ``services.reputation._trust.personal_trust``)
    multiplies every recommender's weight from the first pass on, so the consensus that
    credibility measures against is the one the viewer's trust reaches (the returned
    credibility does not include it).
    """
    layout = store.layout()
    c, cn = store.scale(epoch), store.scale_neg(epoch)
    eta, prior_w = params.negative_weight, params.prior_weight
    cap, div_ref = params.recommender_cap, params.diversity_reference
    with_cred = params.credibility_reference is not None and store.size > 0
    n_prod = store.producer_count
    ptotal = store.producer_total(np.arange(n_prod), epoch) if div_ref is not None else None
    pos_all, neg_all, fresh_all = store.pos, store.neg, store.fresh
    prod_all, esp_all = store.producer, store.esp
    # kept for the second and third passes: q, q*scale*pos, q*scale*neg, pos + eta*neg, famc
    keep = _scratch(store, 5) if with_cred else None
    width = max((hi - lo for lo, hi, _, _ in layout.blocks), default=0)
    buf = np.empty((12 if trust is None else 13, width))
    acc = np.zeros((4, n_esp))  # sum of q * scale * pos, q * scale * neg, q, [weight > 0]

    def group_add(out: F64, values: F64, block: _Block) -> None:
        lo, hi, seg_esp, seg_start = block
        if seg_esp is not None and seg_start is not None:
            out[seg_esp] += np.add.reduceat(values, seg_start)
        else:
            out += np.bincount(esp_all[lo:hi], weights=values, minlength=n_esp)

    # (np.clip rather than np.minimum / np.maximum with a scalar: the same values, faster)
    for block in layout.blocks:
        lo, hi = block[0], block[1]
        k = hi - lo
        p, n, fam, scale, w, tmp = (buf[i, :k] for i in range(6))
        q, xb, xd, ev, famc = (
            (keep[i, lo:hi] for i in range(5))
            if keep is not None
            else (buf[i, :k] for i in range(6, 11))
        )
        np.multiply(pos_all[lo:hi], c, out=p)
        np.multiply(neg_all[lo:hi], cn, out=n)
        np.add(p, n, out=fam)
        np.multiply(n, eta, out=ev)
        np.add(ev, p, out=ev)  # r + s of the uncapped opinion
        if cap is not None:  # evidence scaled down to at most cap, familiarity capped
            np.clip(fam, 0.0, cap, out=famc)
            np.clip(fam, 1e-300, np.inf, out=scale)
            np.divide(famc, scale, out=scale)  # min(1, cap / fam)
            np.multiply(ev, scale, out=tmp)
            np.add(tmp, prior_w, out=tmp)
        else:
            famc[:] = fam
            np.add(ev, prior_w, out=tmp)
        np.multiply(famc, fresh_all[lo:hi], out=w)  # c of the timeliness goes on the sums
        if trust is not None:  # the viewer's trust in each recommender
            kt = buf[12, :k]
            np.take(trust, prod_all[lo:hi], out=kt, mode="clip")
            np.multiply(w, kt, out=w)
        if ptotal is not None and div_ref is not None:  # evidence with other ESPs
            other = buf[11, :k]
            np.take(ptotal, prod_all[lo:hi], out=other, mode="clip")
            np.subtract(other, fam, out=other)
            if div_ref != 1.0:
                np.clip(other, 0.0, np.inf, out=other)
                np.divide(other, div_ref, out=other)
            np.clip(other, 0.0, 1.0, out=other)
            np.multiply(w, other, out=w)
        np.divide(w, tmp, out=q)
        qs = q if cap is None else np.multiply(q, scale, out=tmp)
        np.multiply(qs, p, out=xb)
        np.multiply(qs, n, out=xd)
        group_add(acc[0], xb, block)
        group_add(acc[1], xd, block)
        group_add(acc[2], q, block)
        if keep is None:
            np.sign(w, out=w)  # 1 where the weight is positive (weights are >= 0)
            group_add(acc[3], w, block)
    if keep is None:
        return _scaled_sums(acc, c, eta, prior_w), None
    # the stranger's view needs only whether an ESP has weight: the count is not summed here
    acc[3] = acc[2] > 0
    consensus = stranger_expectation(_scaled_sums(acc, c, eta, prior_w), params)
    dev_sum, fam_sum = np.zeros(n_prod), np.zeros(n_prod)
    a_w = params.base_rate * prior_w
    for block in layout.blocks:
        lo, hi, seg_esp, seg_start = block
        k = hi - lo
        own, tmp = buf[0, :k], buf[1, :k]
        ev, famc = keep[3, lo:hi], keep[4, lo:hi]
        np.multiply(pos_all[lo:hi], c, out=own)  # own expectation, from uncapped evidence
        np.add(own, a_w, out=own)
        np.add(ev, prior_w, out=tmp)
        np.divide(own, tmp, out=own)
        if seg_esp is not None and seg_start is not None:
            own -= np.repeat(consensus[seg_esp], np.diff(np.r_[seg_start, k]))
        else:
            own -= np.take(consensus, esp_all[lo:hi], mode="clip")
        np.abs(own, out=own)
        np.multiply(famc, own, out=own)
        prod = prod_all[lo:hi]
        dev_sum += np.bincount(prod, weights=own, minlength=n_prod)
        fam_sum += np.bincount(prod, weights=famc, minlength=n_prod)
    cred = credibility(dev_sum, fam_sum, params)
    acc[:] = 0.0
    for block in layout.blocks:
        lo, hi = block[0], block[1]
        k = hi - lo
        kk, x = buf[0, :k], buf[1, :k]
        np.take(cred, prod_all[lo:hi], out=kk, mode="clip")
        np.multiply(keep[1, lo:hi], kk, out=x)
        group_add(acc[0], x, block)
        np.multiply(keep[2, lo:hi], kk, out=x)
        group_add(acc[1], x, block)
        np.multiply(keep[0, lo:hi], kk, out=x)
        group_add(acc[2], x, block)
        np.sign(x, out=x)
        group_add(acc[3], x, block)
    return _scaled_sums(acc, c, eta, prior_w), cred


def _scaled_sums(acc: F64, c: float, eta: float, prior_w: float) -> EspSums:
    """EspSums from the blocks' accumulators (the common factor c applied once)."""
    count = np.rint(acc[3]).astype(np.int64) if c > 0 else np.zeros(acc.shape[1], np.int64)
    return EspSums(
        belief=acc[0] * c,
        disbelief=acc[1] * (c * eta),
        uncertainty=acc[2] * (c * prior_w),
        count=count,
    )


def _scratch(store: PairStore, rows: int) -> F64:
    """``rows`` work columns of every row, kept on the store between passes (three fresh
    arrays of every row per view cost more in page faults than the arithmetic)."""
    cached = store.scratch
    if cached is None or cached.shape[0] < rows or cached.shape[1] < store.size:
        cached = store.scratch = np.empty((rows, store.size + store.size // 4))
    return cached
