"""One producer's view over every ESP: local opinions, recommendations without the viewer."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.reputation._aggregate import EspSums, consensus, esp_sums, pair_terms
from services.reputation._store import PairStore
from services.reputation.params import ReputationParams
from services.reputation.verdicts import verdict_opinion_terms

__all__ = ["view_opinions"]

F64 = npt.NDArray[np.float64]
_CANCELLATION = 1e-6  # below this share of its total, an ESP's sum is recomputed exactly


def view_opinions(
    store: PairStore,
    params: ReputationParams,
    epoch: int,
    cached: EspSums,
    *,
    viewer: int | None,
    n_esp: int,
    cred: F64 | None = None,
    verdicts: F64 | None = None,
) -> tuple[F64, F64, F64]:
    """Combined (b, d, u) per ESP from ``viewer``'s view, given all producers' sums ``cached``.

    The viewer's own rows give its local opinions and are subtracted from the per-ESP sums to
    leave the recommended ones; where that subtraction would cancel (the viewer dominates an
    ESP's evidence), the ESP's sums are recomputed without the viewer instead.

    ``verdicts`` (per ESP, the familiarity of its lost challenges,
    ``services.reputation.verdicts``) adds one recommender of failed tasks to each ESP that has
    one; None or zeros change nothing.
    """
    sums = EspSums(
        cached.belief.copy(),
        cached.disbelief.copy(),
        cached.uncertainty.copy(),
        cached.count.copy(),
    )
    local = (np.zeros(n_esp), np.zeros(n_esp), np.ones(n_esp))
    if viewer is not None:
        rows = np.flatnonzero(store.producer == viewer)
        t = pair_terms(store, params, epoch, rows, cred)
        e = store.esp[rows]
        local[0][e], local[1][e], local[2][e] = (
            t.r / t.denom,
            t.s / t.denom,
            params.prior_weight / t.denom,
        )
        before = sums.total()[e]
        sums.belief[e] -= t.cb
        sums.disbelief[e] -= t.cd
        sums.uncertainty[e] -= t.cu
        sums.count[e] -= t.weight > 0
        risky = e[(sums.count[e] > 0) & (sums.total()[e] < _CANCELLATION * before)]
        for j in risky.tolist():  # the viewer dominated: recompute without it, exactly
            others = np.flatnonzero((store.esp == j) & (store.producer != viewer))
            exact = esp_sums(
                pair_terms(store, params, epoch, others, cred),
                store.esp[others],
                n_esp,
                params,
            )
            sums.belief[j], sums.disbelief[j] = exact.belief[j], exact.disbelief[j]
            sums.uncertainty[j] = exact.uncertainty[j]
    for arr in (sums.belief, sums.disbelief, sums.uncertainty):
        np.maximum(arr, 0.0, out=arr)
    if verdicts is not None:
        f = np.asarray(verdicts, dtype=np.float64)
        vb, vd, vu = verdict_opinion_terms(f, params)
        sums.belief += vb
        sums.disbelief += vd
        sums.uncertainty += vu
        sums.count += f > 0
    has = (sums.count > 0) & (sums.total() > 0)
    # the vacuous pseudo-recommender of weight recommendation_prior (0 on chain)
    sums.uncertainty += np.where(has, params.recommendation_prior, 0.0)
    total = sums.total()
    safe = np.where(has, total, 1.0)
    overall = (
        np.where(has, sums.belief / safe, 0.0),
        np.where(has, sums.disbelief / safe, 0.0),
        np.where(has, sums.uncertainty / safe, 1.0),
    )
    return consensus(local, overall)
