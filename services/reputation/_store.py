"""Per-(producer, ESP) evidence in growable numpy columns, decayed to a common reference epoch.

Evidence is kept as the on-chain ``EvidenceLib`` keeps it (decayed positive and negative
weight, last update), but every row is expressed at one reference epoch ``ref`` so that a query
at epoch K scales all rows by the same scalar ``decay ** (K - ref)``:

    pos[row] = sum over the pair's positive interactions of weight * decay ** (ref - epoch)
    fresh[row] = decay ** (ref - last_epoch)

Interactions later than ``ref`` simply get factors above one; the reference is moved forward
(``rebase``) before those factors could overflow.

Rows are kept grouped by ESP: rows ``[0, sorted_size)`` are sorted by ESP code and the rows
appended since (new pairs) form an unsorted tail, merged back once it grows past an eighth of
the rows (amortised O(1) per row). The full ranking pass then sums per ESP with
``np.add.reduceat`` over contiguous segments, block by block (:meth:`PairStore.layout`), which
is several times faster than scattering every row with ``np.bincount``. A pair's row may move
when the tail is merged; the pair's key maps to a stable *slot* whose row is ``_where[slot]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["EspLayout", "PairStore"]

_MAX_FACTOR_LOG = 230.0  # rebase before any factor decay**(ref - epoch) exceeds e**230 (~1e100)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


_A = TypeVar("_A", F64, I64)

BLOCK_ROWS = 1 << 15  # rows per block of the ranking pass: a block's temporaries stay in cache
_MERGE_SHARE = 8  # merge the unsorted tail once it holds more than 1/8 of the rows


def _grown(array: _A, used: int, capacity: int) -> _A:
    out = np.zeros(capacity, array.dtype)
    out[:used] = array[:used]
    return out


@dataclass(frozen=True, slots=True)
class EspLayout:
    """Blocks of rows for a pass over every row, grouped by ESP.

    ``blocks``: (lo, hi, segment ESP codes, segment starts relative to lo) for the sorted rows,
    each block holding whole ESP segments, then (lo, hi, None, None) for the unsorted tail (sum
    those with ``np.bincount``). ``key``: the row order, row count and block size it was built
    for (while only the tail grows, the sorted rows' blocks are kept).
    """

    key: tuple[int, int, int]  # (row order, rows, block size)
    blocks: tuple[tuple[int, int, I64 | None, I64 | None], ...]


class PairStore:
    """Rows of pair evidence with O(1) amortised append and vectorised bulk merge."""

    def __init__(
        self, decay: float, negative_weight: float, negative_decay: float | None = None
    ) -> None:
        self.decay = decay
        # negative evidence may fade more slowly (off chain only); ``neg`` is kept at ref with it
        self.negative_decay = decay if negative_decay is None else negative_decay
        self.negative_weight = negative_weight
        # epochs past ref before rebasing: far from float overflow whatever the decay
        self._rebase_after = int(_MAX_FACTOR_LOG / -math.log(decay)) if decay < 1.0 else 2**62
        self.size = 0
        self.version = 0  # bumped by every change of the rows (caches of row-only facts)
        self.count_cache: tuple[int, int, I64] | None = None  # (version, n_esp, per-ESP count)
        self.ref_epoch: int | None = None
        self._rows: dict[int, int] = {}
        self._producer: I64 = np.zeros(1024, np.int64)
        self._esp: I64 = np.zeros(1024, np.int64)
        self._pos: F64 = np.zeros(1024, np.float64)
        self._neg: F64 = np.zeros(1024, np.float64)
        self._fresh: F64 = np.zeros(1024, np.float64)
        # Derived per row, kept for the full ranking pass: pos + negative_weight * neg, and the
        # recommender weight (pos + neg) * fresh, both at the reference epoch.
        self._evidence: F64 = np.zeros(1024, np.float64)
        self._reach: F64 = np.zeros(1024, np.float64)
        self._last_time: I64 = np.zeros(1024, np.int64)
        # Per producer (by code): sum of pos + neg over all its rows, at the reference epoch
        # (the recommender's value-weighted evidence with every ESP, for the diversity discount).
        self._ptotal: F64 = np.zeros(64, np.float64)
        self._ptotal_neg: F64 = np.zeros(64, np.float64)  # the negative part of it (ref, neg decay)
        self.producer_count = 0  # 1 + the highest producer code seen
        # Row order: a pair's key maps to a slot; _where[slot] is its row, _slot[row] its slot.
        self._slot: I64 = np.zeros(1024, np.int64)
        self._where: I64 = np.zeros(1024, np.int64)
        self._slots = 0
        self.sorted_size = 0  # rows [0, sorted_size) are sorted by ESP
        self._order_id = 0  # bumped whenever rows move or the sorted prefix changes
        self._layout: EspLayout | None = None
        self.scratch: F64 | None = None  # work columns of the ranking pass (_aggregate)

    def _alloc(self, capacity: int) -> None:
        self._producer = _grown(self._producer, self.size, capacity)
        self._esp = _grown(self._esp, self.size, capacity)
        self._pos = _grown(self._pos, self.size, capacity)
        self._neg = _grown(self._neg, self.size, capacity)
        self._fresh = _grown(self._fresh, self.size, capacity)
        self._evidence = _grown(self._evidence, self.size, capacity)
        self._reach = _grown(self._reach, self.size, capacity)
        self._last_time = _grown(self._last_time, self.size, capacity)
        self._slot = _grown(self._slot, self.size, capacity)

    def _reserve(self, extra: int) -> None:
        need = self.size + extra
        if need > self._pos.shape[0]:
            self._alloc(max(need + need // 4, 2 * self._pos.shape[0]))

    # Views of the live rows --------------------------------------------------------------
    @property
    def producer(self) -> I64:
        return self._producer[: self.size]

    @property
    def esp(self) -> I64:
        return self._esp[: self.size]

    @property
    def pos(self) -> F64:
        return self._pos[: self.size]

    @property
    def neg(self) -> F64:
        return self._neg[: self.size]

    @property
    def fresh(self) -> F64:
        return self._fresh[: self.size]

    @property
    def evidence(self) -> F64:
        """pos + negative_weight * neg per row (reference epoch)."""
        return self._evidence[: self.size]

    @property
    def reach(self) -> F64:
        """(pos + neg) * fresh per row: the recommender weight at the reference epoch."""
        return self._reach[: self.size]

    @property
    def last_time(self) -> I64:
        return self._last_time[: self.size]

    def producer_total(self, producers: I64, epoch: int) -> F64:
        """Each producer's pos + neg summed over all its ESPs at ``epoch``, by producer code."""
        pos = self._ptotal[producers] * self.scale(epoch)
        return np.asarray(pos + self._ptotal_neg[producers] * self.scale_neg(epoch), np.float64)

    def _grow_producers(self, top: int) -> None:
        self.producer_count = max(self.producer_count, top + 1)
        if top >= self._ptotal.shape[0]:
            size = max(top + 1, 2 * self._ptotal.shape[0])
            self._ptotal = _grown(self._ptotal, self._ptotal.shape[0], size)
            self._ptotal_neg = _grown(self._ptotal_neg, self._ptotal_neg.shape[0], size)

    def row(self, producer: int, esp: int) -> int | None:
        """The row of the pair, or None if the pair has no evidence yet (rows move when the
        tail is merged: do not keep a row across an ``add_many`` or a ranking pass)."""
        slot = self._rows.get((producer << 32) | esp)
        return None if slot is None else int(self._where[slot])

    def _new_slots(self, rows: I64) -> I64:
        """Slots for rows just appended (``rows``), recorded both ways."""
        slots = np.arange(self._slots, self._slots + rows.shape[0], dtype=np.int64)
        if self._slots + rows.shape[0] > self._where.shape[0]:
            need = self._slots + rows.shape[0]
            self._where = _grown(self._where, self._slots, max(need + need // 4, 2 * self._slots))
        self._where[slots] = rows
        self._slot[rows] = slots
        self._slots += rows.shape[0]
        return slots

    def merge_tail(self) -> None:
        """Sorts the unsorted tail by ESP and merges it into the sorted rows (O(rows), stable:
        rows of one ESP keep their relative order)."""
        m, n = self.sorted_size, self.size
        if m == n:
            return
        tail = m + np.argsort(self._esp[m:n], kind="stable")
        dest = np.searchsorted(self._esp[:m], self._esp[tail], side="right") + np.arange(n - m)
        perm = np.empty(n, np.int64)  # perm[new row] = old row
        kept = np.ones(n, np.bool_)
        kept[dest] = False
        perm[dest] = tail
        perm[kept] = np.arange(m)
        for name in (
            "_producer",
            "_esp",
            "_pos",
            "_neg",
            "_fresh",
            "_evidence",
            "_reach",
            "_last_time",
            "_slot",
        ):
            column = getattr(self, name)
            column[:n] = column[perm]
        self._where[self._slot[:n]] = np.arange(n)
        self.sorted_size = n
        self._order_id += 1
        self.version += 1

    def layout(self, block_rows: int = BLOCK_ROWS) -> EspLayout:
        """The blocks of a pass over every row (see :class:`EspLayout`); merges the tail first
        when it has grown past its share."""
        if (self.size - self.sorted_size) * _MERGE_SHARE > self.size:
            self.merge_tail()
        key = (self._order_id, self.size, block_rows)
        if self._layout is not None and self._layout.key == key:
            return self._layout
        m = self.sorted_size
        sorted_blocks: list[tuple[int, int, I64 | None, I64 | None]] = []
        if self._layout is not None and self._layout.key[::2] == key[::2]:
            # only the tail grew: the sorted rows' blocks stand
            sorted_blocks = [b for b in self._layout.blocks if b[2] is not None]
        else:
            esp = self._esp[:m]
            starts = (
                np.flatnonzero(np.r_[True, esp[1:] != esp[:-1]]) if m else np.zeros(0, np.int64)
            )
            first = 0
            while first < starts.shape[0]:
                lo = int(starts[first])
                # segments starting before lo + block_rows make the block (at least one)
                last = max(first + 1, int(np.searchsorted(starts, lo + block_rows, side="left")))
                hi = int(starts[last]) if last < starts.shape[0] else m
                seg = starts[first:last]
                sorted_blocks.append((lo, hi, esp[seg].copy(), seg - lo))
                first = last
        tail = [
            (lo, min(self.size, lo + block_rows), None, None)
            for lo in range(m, self.size, block_rows)
        ]
        self._layout = EspLayout(key=key, blocks=(*sorted_blocks, *tail))
        return self._layout

    def scale(self, epoch: int) -> float:
        """The factor taking reference-epoch values to ``epoch``: decay ** (epoch - ref)."""
        if self.ref_epoch is None:
            return 1.0
        return float(self.decay ** (epoch - self.ref_epoch))

    def scale_neg(self, epoch: int) -> float:
        """Like :meth:`scale` for negative evidence (``negative_decay``)."""
        if self.ref_epoch is None:
            return 1.0
        return float(self.negative_decay ** (epoch - self.ref_epoch))

    def _ensure_ref(self, max_epoch: int) -> None:
        if self.ref_epoch is None:
            self.ref_epoch = max_epoch
        elif max_epoch - self.ref_epoch > self._rebase_after:
            factor = self.decay ** (max_epoch - self.ref_epoch)
            factor_neg = self.negative_decay ** (max_epoch - self.ref_epoch)
            n = self.size
            self._pos[:n] *= factor
            self._neg[:n] *= factor_neg
            self._fresh[:n] *= factor
            self._ptotal *= factor
            self._ptotal_neg *= factor_neg
            self._derive(slice(0, n))
            self.ref_epoch = max_epoch
            self.version += 1

    def _derive(self, rows: I64 | slice) -> None:
        pos, neg = self._pos[rows], self._neg[rows]
        self._evidence[rows] = pos + self.negative_weight * neg
        self._reach[rows] = (pos + neg) * self._fresh[rows]

    def add_one(
        self, producer: int, esp: int, *, pos: float, neg: float, epoch: int, time: int
    ) -> int:
        """Adds one interaction's evidence; returns its row (appended if the pair is new)."""
        self._ensure_ref(epoch)
        self.version += 1
        assert self.ref_epoch is not None
        factor = float(self.decay ** (self.ref_epoch - epoch))
        factor_neg = float(self.negative_decay ** (self.ref_epoch - epoch))
        key = (producer << 32) | esp
        slot = self._rows.get(key)
        if slot is None:
            self._reserve(1)
            row = self.size
            self._rows[key] = int(self._new_slots(np.array([row]))[0])
            self._producer[row], self._esp[row] = producer, esp
            self._pos[row] = self._neg[row] = self._fresh[row] = 0.0
            self._last_time[row] = time
            self.size += 1
        else:
            row = int(self._where[slot])
        self._pos[row] += pos * factor
        self._neg[row] += neg * factor_neg
        self._grow_producers(producer)
        self._ptotal[producer] += pos * factor
        self._ptotal_neg[producer] += neg * factor_neg
        self._fresh[row] = max(self._fresh[row], factor)
        self._last_time[row] = max(int(self._last_time[row]), time)
        pos, neg = float(self._pos[row]), float(self._neg[row])
        self._evidence[row] = pos + self.negative_weight * neg
        self._reach[row] = (pos + neg) * float(self._fresh[row])
        return row

    def add_many(
        self,
        producer: I64,
        esp: I64,
        *,
        pos: F64,
        neg: F64,
        epoch: I64,
        time: I64,
    ) -> None:
        """Merges a batch of interactions, grouped by pair with one sort (vectorised)."""
        if producer.shape[0] == 0:
            return
        self._ensure_ref(int(epoch.max()))
        self.version += 1
        assert self.ref_epoch is not None
        factor = np.power(self.decay, (self.ref_epoch - epoch).astype(np.float64))
        factor_neg = np.power(self.negative_decay, (self.ref_epoch - epoch).astype(np.float64))
        # grouped by pair, ESP-major: new rows come out sorted by ESP (cheap to merge)
        order = np.argsort((esp << 32) | producer, kind="stable")
        keys_sorted = (producer[order] << 32) | esp[order]
        starts = np.flatnonzero(np.r_[True, keys_sorted[1:] != keys_sorted[:-1]])
        pos_add = np.add.reduceat((pos * factor)[order], starts)
        neg_add = np.add.reduceat((neg * factor_neg)[order], starts)
        self._grow_producers(int(producer.max()))
        totals = np.bincount(producer, weights=pos * factor)
        self._ptotal[: totals.shape[0]] += totals
        totals = np.bincount(producer, weights=neg * factor_neg)
        self._ptotal_neg[: totals.shape[0]] += totals
        fresh_new = np.maximum.reduceat(factor[order], starts)
        time_new = np.maximum.reduceat(time[order], starts)
        uniq = keys_sorted[starts]
        slots = np.fromiter((self._rows.get(k, -1) for k in uniq.tolist()), np.int64, uniq.size)
        old = slots >= 0
        if old.any():
            r = self._where[slots[old]]
            self._pos[r] += pos_add[old]
            self._neg[r] += neg_add[old]
            self._fresh[r] = np.maximum(self._fresh[r], fresh_new[old])
            self._last_time[r] = np.maximum(self._last_time[r], time_new[old])
            self._derive(r)
        new = ~old
        count = int(new.sum())
        if count:
            self._reserve(count)
            lo, hi = self.size, self.size + count
            new_keys = uniq[new]
            self._producer[lo:hi] = new_keys >> 32
            self._esp[lo:hi] = new_keys & 0xFFFFFFFF
            self._pos[lo:hi] = pos_add[new]
            self._neg[lo:hi] = neg_add[new]
            self._fresh[lo:hi] = fresh_new[new]
            self._last_time[lo:hi] = time_new[new]
            self._derive(slice(lo, hi))
            self.size = hi
            new_slots = self._new_slots(np.arange(lo, hi, dtype=np.int64))
            self._rows.update(zip(new_keys.tolist(), new_slots.tolist(), strict=True))
        if (self.size - self.sorted_size) * _MERGE_SHARE > self.size:
            self.merge_tail()  # the new rows are many: into the ESP order now
