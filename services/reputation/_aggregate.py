"""Vectorised MWSL arithmetic over rows of pair evidence (numpy, no Python loops)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.reputation._store import PairStore
from services.reputation.params import ReputationParams

__all__ = ["EspSums", "PairTerms", "all_esp_sums", "consensus", "esp_sums", "pair_terms"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PairTerms:
    """Per-row quantities at one epoch: evidence r, weighted s, r + s + W, recommender weight.

    The opinion of a row is (r, s, W) / denom. Its weight as a recommender is
    familiarity * timeliness = (p + n) * decay ** (K - last_epoch) (the mean familiarity that
    normalises familiarity cancels in the weighted average, so it is left out).
    """

    r: F64
    s: F64
    denom: F64
    weight: F64


def pair_terms(
    store: PairStore, params: ReputationParams, epoch: int, rows: I64 | slice = slice(None)
) -> PairTerms:
    """Evaluates the rows ``rows`` of ``store`` at ``epoch``."""
    c = store.scale(epoch)
    p = store.pos[rows] * c
    n = store.neg[rows] * c
    s = n * params.negative_weight
    denom = p + s + params.prior_weight
    weight = (p + n) * (store.fresh[rows] * c)
    return PairTerms(r=p, s=s, denom=denom, weight=weight)


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
    q = terms.weight / terms.denom
    return EspSums(
        belief=np.bincount(esp, weights=q * terms.r, minlength=n_esp).astype(np.float64),
        disbelief=np.bincount(esp, weights=q * terms.s, minlength=n_esp).astype(np.float64),
        uncertainty=np.bincount(esp, weights=q * params.prior_weight, minlength=n_esp).astype(
            np.float64
        ),
        count=np.bincount(esp, weights=terms.weight > 0, minlength=n_esp).astype(np.int64),
    )


def _f64(values: npt.NDArray[np.floating[Any]]) -> F64:
    return values.astype(np.float64, copy=False)


def all_esp_sums(store: PairStore, params: ReputationParams, epoch: int, n_esp: int) -> EspSums:
    """:func:`esp_sums` over every row, from the store's derived columns (fewest passes).

    With c = decay ** (epoch - ref): r = c pos, s = c eta neg, denom = c evidence + W and
    weight = c^2 reach, so q = weight / denom needs two passes and each sum one bincount.
    """
    c = store.scale(epoch)
    q = store.evidence * c
    q += params.prior_weight
    np.divide(store.reach, q, out=q)
    q *= c * c
    esp = store.esp
    scale_d = c * params.negative_weight
    belief = _f64(np.bincount(esp, weights=q * store.pos, minlength=n_esp) * c)
    disbelief = _f64(np.bincount(esp, weights=q * store.neg, minlength=n_esp) * scale_d)
    uncertainty = _f64(np.bincount(esp, weights=q, minlength=n_esp) * params.prior_weight)
    if c > 0:
        count = np.bincount(esp, weights=store.reach > 0, minlength=n_esp).astype(np.int64)
    else:  # evidence decayed beyond float range: nobody recommends anything
        count = np.zeros(n_esp, np.int64)
    return EspSums(belief=belief, disbelief=disbelief, uncertainty=uncertainty, count=count)


def consensus(local: tuple[F64, F64, F64], other: tuple[F64, F64, F64]) -> tuple[F64, F64, F64]:
    """Element-wise consensus of two opinion arrays (both with uncertainty > 0)."""
    b1, d1, u1 = local
    b2, d2, u2 = other
    k = u1 + u2 - u1 * u2
    return (b1 * u2 + b2 * u1) / k, (d1 * u2 + d2 * u1) / k, u1 * u2 / k
