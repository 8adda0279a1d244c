"""Personalised trust: how far the viewer's own history vouches for each recommender.

A walk on the bipartite producer-ESP graph starts at the viewer and follows endorsements: a
producer passes its trust to the ESPs it would recommend (edge weight: its positive evidence
less the weighted negative, as EigenTrust's satisfied-minus-unsatisfied, capped like a
recommender's familiarity), an ESP passes what it holds to its endorsing customers by the
same weights. After ``trust_steps`` round trips (SybilRank's early-terminated power
iteration), each producer's trust per unit of its own endorsements is compared with that of
the trust mass's typical producer (the trust-weighted median): a recommender at or above
``trust_reference`` times it keeps its weight, one below it keeps that fraction of it.

A cluster of Sybils and shell ESPs reachable from the viewer only through the few endorsements
an honest customer gave the operator's ESP receives at most what crosses those edges, however
many Sybils share it: so their weight is bounded by those honest endorsements, not by their
number (docs/reputation.md, "Wash trading through a shell ESP").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.reputation._store import PairStore
from services.reputation.params import ReputationParams

__all__ = ["Endorsements", "endorsements", "personal_trust"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Endorsements:
    """The walk's graph at one epoch. Per row: ``endorse`` (how a producer passes trust on, in
    proportion to its ``endorsed`` total) and ``familiarity_rows`` (how an ESP passes trust
    back to all its customers, praise or complaint, in proportion to its ``esp_familiarity``
    total). Per producer: ``endorsed`` and ``familiarity``."""

    endorse: F64
    familiarity_rows: F64
    endorsed: F64
    familiarity: F64
    esp_familiarity: F64
    segments: tuple[I64, I64, int]  # ESP codes and starts of the sorted rows' segments, tail
    work: F64  # one work column for the walk, reused by every view (fresh ones: page faults)

    @staticmethod
    def sum_per_esp(segments: tuple[I64, I64, int], values: F64, esp: I64, n_esp: int) -> F64:
        """``values`` of every row summed per ESP (``np.add.reduceat`` over the sorted rows'
        ESP segments: several times faster than ``np.bincount`` on sorted keys)."""
        seg_esp, seg_start, m = segments
        out = np.zeros(n_esp)
        if esp.shape[0] > m:  # the unsorted tail of new rows
            out += np.bincount(esp[m:], weights=values[m:], minlength=n_esp).astype(np.float64)
        if seg_start.shape[0]:
            out[seg_esp] += np.add.reduceat(values[:m], seg_start)
        return out


def _sum_by(keys: I64, values: F64, size: int) -> F64:
    """``values`` summed per key (float64 even when empty)."""
    return np.bincount(keys, weights=values, minlength=size).astype(np.float64, copy=False)


def _inverse(x: F64) -> F64:
    out: F64 = np.divide(1.0, x, out=np.zeros_like(x), where=x > 0)
    return out


def endorsements(
    store: PairStore, params: ReputationParams, epoch: int, n_esp: int
) -> Endorsements:
    """The walk's graph at ``epoch``. A row's endorsement is clip(r - s, 0, cap) (r positive,
    s weighted negative evidence: what the producer vouches for, EigenTrust's satisfied less
    unsatisfied), its familiarity min(pos + neg, cap) as a recommender's."""
    layout = store.layout()  # first: it may merge the tail (rows move)
    cap = params.recommender_cap if params.recommender_cap is not None else np.inf
    endorse = np.multiply(store.pos, store.scale(epoch))
    tmp = np.multiply(store.neg, store.scale_neg(epoch))
    fam = np.add(endorse, tmp)
    np.clip(fam, 0.0, cap, out=fam)
    np.multiply(tmp, params.negative_weight, out=tmp)
    np.subtract(endorse, tmp, out=endorse)
    np.clip(endorse, 0.0, cap, out=endorse)
    prod, esp = store.producer, store.esp
    blocks = [b for b in layout.blocks if b[2] is not None and b[3] is not None]
    seg_esp = np.concatenate([b[2] for b in blocks if b[2] is not None] or [np.zeros(0, np.int64)])
    seg_start = np.concatenate(
        [b[3] + b[0] for b in blocks if b[3] is not None] or [np.zeros(0, np.int64)]
    )
    n_prod = store.producer_count
    segments = (seg_esp, seg_start, store.sorted_size)
    return Endorsements(
        endorse=endorse,
        familiarity_rows=fam,
        endorsed=_sum_by(prod, endorse, n_prod),
        familiarity=_sum_by(prod, fam, n_prod),
        esp_familiarity=Endorsements.sum_per_esp(segments, fam, esp, n_esp),
        segments=segments,
        work=tmp,
    )


def personal_trust(
    store: PairStore,
    params: ReputationParams,
    graph: Endorsements,
    viewer: int,
    n_esp: int,
) -> F64 | None:
    """Per producer (by code): the factor in [0, 1] on its recommender weight from ``viewer``'s
    view, or None when the viewer endorses nobody (no history of its own, or only failures:
    a stranger's view).

    ``trust_steps`` round trips, producer -> ESP along endorsements, ESP -> producer along
    familiarity. ``graph``: :func:`endorsements` at the view's epoch."""
    steps = params.trust_steps
    n_prod = store.producer_count
    if steps is None or viewer >= n_prod or graph.endorsed[viewer] <= 0:
        return None
    prod, esp = store.producer, store.esp
    out_p, out_e = _inverse(graph.endorsed), _inverse(graph.esp_familiarity)
    mine = np.flatnonzero(prod == viewer)  # the first step leaves from the viewer's rows only
    at_esp = _sum_by(esp[mine], graph.endorse[mine] * out_p[viewer], n_esp)
    rows = _rows_of(graph.segments, np.flatnonzero(at_esp > 0), esp)  # and returns by theirs
    trust = _sum_by(prod[rows], graph.familiarity_rows[rows] * (at_esp * out_e)[esp[rows]], n_prod)
    buf = graph.work
    for _ in range(steps - 1):
        np.take(trust * out_p, prod, out=buf, mode="clip")
        np.multiply(graph.endorse, buf, out=buf)
        at_esp = Endorsements.sum_per_esp(graph.segments, buf, esp, n_esp)
        np.take(at_esp * out_e, esp, out=buf, mode="clip")
        np.multiply(graph.familiarity_rows, buf, out=buf)
        trust = _sum_by(prod, buf, n_prod)
    factor = _factor(trust, graph.familiarity, params.trust_reference)
    factor[viewer] = 1.0
    return factor


def _rows_of(segments: tuple[I64, I64, int], esps: I64, esp: I64) -> I64:
    """The rows of the ESPs ``esps`` (sorted codes): their segments of the sorted rows, then
    their rows of the unsorted tail."""
    seg_esp, seg_start, m = segments
    pos = np.searchsorted(seg_esp, esps)
    pos = pos[(pos < seg_esp.shape[0]) & (seg_esp[np.minimum(pos, seg_esp.shape[0] - 1)] == esps)]
    starts = seg_start[pos]
    ends = np.where(
        pos + 1 < seg_start.shape[0], seg_start[np.minimum(pos + 1, seg_start.shape[0] - 1)], m
    )
    lens = ends - starts
    offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    sorted_rows = offsets + np.arange(int(lens.sum()), dtype=np.int64)
    tail = m + np.flatnonzero(np.isin(esp[m:], esps))
    out: I64 = np.concatenate([sorted_rows, tail])
    return out


def _factor(trust: F64, familiarity: F64, reference: float) -> F64:
    """min(1, per-unit trust / (reference x the trust mass's median per-unit trust)), per-unit
    trust being trust over familiarity (SybilRank's degree normalisation)."""
    per_unit = trust * _inverse(familiarity)
    reached = np.flatnonzero(per_unit > 0)
    if reached.shape[0] == 0:
        return np.zeros_like(trust)
    order = reached[np.argsort(per_unit[reached], kind="stable")]
    cum = np.cumsum(trust[order])
    typical = per_unit[order[int(np.searchsorted(cum, 0.5 * cum[-1]))]]
    out: F64 = np.clip(per_unit / (reference * typical), 0.0, 1.0)
    return out
