"""The off-chain MWSL engine: ingests interaction records, answers reputations from any view.

For producer i choosing among ESPs at time ``now`` (epoch K = now // period):

1. Evidence per (producer x, ESP j): p = sum of weights of positive interactions, n = of
   negative ones, each weight = value weight * decay ** (K - epoch of the interaction).
2. Opinion of x about j: r = p, s = negative_weight * n, (b, d, u) = (r, s, W) / (r + s + W).
3. Local opinion: i's own opinion about j (vacuous without evidence).
4. Recommended (overall) opinion: the average of the other producers' opinions about j weighted
   by familiarity (p + n) times timeliness decay ** (K - last epoch they dealt with j).
5. Combined opinion: the consensus of local and overall; reputation T = b + a * u.

This is exactly what ``contracts/ReputationView.sol`` computes in fixed point from
``EvidenceLib``'s evidence, so with the default parameters the two agree (to ~1e-12 here).

Ranking one producer's view over all ESPs is a handful of numpy passes over the pair rows;
the per-ESP sums are cached per epoch, so further views at the same epoch only touch the
viewer's own rows, and :meth:`ReputationEngine.record` keeps that cache current in O(1).

With ``ReputationParams.hardened()`` (off chain only) step 4 changes: each recommender's
familiarity and evidence are capped, it is discounted by its evidence with other ESPs and by
its credibility (distance from a stranger's view), the average includes a vacuous opinion of
weight ``recommendation_prior``, and negative evidence fades by ``negative_decay``
(``services.reputation._aggregate.weighted_sums``; docs/reputation.md, "Wave 2").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from services.reputation._aggregate import (
    EspSums,
    all_esp_sums,
    esp_sums,
    hardened_sums,
    pair_terms,
)
from services.reputation._store import PairStore
from services.reputation._trust import Endorsements, endorsements, personal_trust
from services.reputation._view import view_opinions
from services.reputation.errors import TimeOrderError
from services.reputation.interactions import Interaction, InteractionLog
from services.reputation.opinion import Opinion
from services.reputation.params import ReputationParams

__all__ = ["ReputationEngine"]

F64 = npt.NDArray[np.float64]
_TRUST_VIEWS = 64  # personalised views kept per epoch (the last viewers')


class ReputationEngine:
    """MWSL reputations over a growing set of interactions (see the module docstring)."""

    def __init__(self, params: ReputationParams | None = None) -> None:
        self.params = params if params is not None else ReputationParams()
        self._store = PairStore(
            self.params.decay, self.params.negative_weight, self.params.negative_decay
        )
        self._producer_ids: list[str] = []
        self._producer_index: dict[str, int] = {}
        self._esp_ids: list[str] = []
        self._esp_index: dict[str, int] = {}
        self._latest_time: int | None = None
        self._cache: tuple[int, EspSums] | None = None
        self._cred: F64 | None = None  # per-producer credibility of the cached sums
        # personalised trust (trust_steps): the rows' endorsements at the cached epoch and the
        # last viewer's factors, both dropped with the cached sums
        self._endorse: Endorsements | None = None
        self._trust_epoch: tuple[int, int] | None = None  # (epoch, store version)
        self._trust_views: dict[int, tuple[EspSums, F64 | None] | None] = {}
        self._views_lock = threading.Lock()  # views may come from several threads (the API)

    @classmethod
    def from_log(
        cls, log: InteractionLog, params: ReputationParams | None = None
    ) -> ReputationEngine:
        """An engine holding the evidence of ``log``."""
        engine = cls(params)
        engine.ingest(log)
        return engine

    @classmethod
    def from_records(
        cls, records: Iterable[Interaction], params: ReputationParams | None = None
    ) -> ReputationEngine:
        """An engine holding the evidence of ``records``."""
        return cls.from_log(InteractionLog.from_records(records), params)

    @property
    def producers(self) -> tuple[str, ...]:
        """Producer ids in the engine's internal order."""
        return tuple(self._producer_ids)

    @property
    def esps(self) -> tuple[str, ...]:
        """ESP ids in the order of :meth:`reputations`' output."""
        return tuple(self._esp_ids)

    @property
    def latest_time(self) -> int | None:
        """The latest interaction time held (queries must be at or after it)."""
        return self._latest_time

    @property
    def pair_count(self) -> int:
        """How many (producer, ESP) pairs have evidence."""
        return self._store.size

    def clear_cache(self) -> None:
        """Drops the per-epoch sums (the next view recomputes them; used by the benchmark)."""
        self._cache = None
        self._trust_epoch = None

    def _intern(self, ids: list[str], index: dict[str, int], key: str) -> int:
        code = index.get(key)
        if code is None:
            code = index[key] = len(ids)
            ids.append(key)
        return code

    def ingest(self, log: InteractionLog) -> None:
        """Adds a batch of interactions (vectorised; any order)."""
        if len(log) == 0:
            return
        pmap = np.array(
            [self._intern(self._producer_ids, self._producer_index, x) for x in log.producer_ids],
            np.int64,
        )
        emap = np.array(
            [self._intern(self._esp_ids, self._esp_index, x) for x in log.esp_ids], np.int64
        )
        self._store.add_many(
            pmap[log.producer],
            emap[log.esp],
            **dict(
                zip(
                    ("pos", "neg"),
                    self.params.evidence_split(
                        log.value,
                        log.positive,
                        quality=log.quality,
                        elapsed=log.elapsed,
                        steps=log.steps,
                    ),
                    strict=True,
                )
            ),
            epoch=log.time // self.params.period,
            time=log.time,
        )
        self._note_time(int(log.time.max()))
        self._cache = None
        self._trust_epoch = None

    def record(self, interaction: Interaction) -> None:
        """Adds one interaction in O(1), keeping the per-epoch cache current."""
        n_esp = len(self._esp_ids)
        p = self._intern(self._producer_ids, self._producer_index, interaction.producer)
        e = self._intern(self._esp_ids, self._esp_index, interaction.esp)
        epoch = self.params.epoch(interaction.time)
        cache = self._cache
        if cache is not None and (
            len(self._esp_ids) != n_esp
            or epoch > cache[0]
            or self.params.diversity_reference is not None
            or self.params.credibility_reference is not None
            or self.params.trust_steps is not None
        ):
            # new ESP or a later epoch: rebuild on the next query. With the diversity discount
            # or credibility a new interaction changes the weight of other rows: rebuild too.
            cache = self._cache = None
            self._trust_epoch = None
        old = self._store.row(p, e)
        if cache is not None and old is not None:
            self._adjust(cache, old, -1.0)
        pos, neg = self.params.evidence_split(
            [interaction.value],
            [interaction.positive],
            quality=[math.nan if interaction.quality is None else interaction.quality],
            elapsed=[math.nan if interaction.elapsed is None else interaction.elapsed],
            steps=[math.nan if interaction.steps is None else interaction.steps],
        )
        row = self._store.add_one(
            p,
            e,
            pos=float(pos[0]),
            neg=float(neg[0]),
            epoch=epoch,
            time=interaction.time,
        )
        if cache is not None:
            self._adjust(cache, row, 1.0)
        self._note_time(interaction.time)

    def _note_time(self, time: int) -> None:
        if self._latest_time is None or time > self._latest_time:
            self._latest_time = time

    def _adjust(self, cache: tuple[int, EspSums], row: int, sign: float) -> None:
        epoch, sums = cache
        t = pair_terms(self._store, self.params, epoch, np.array([row]))
        j = int(self._store.esp[row])
        sums.belief[j] = max(0.0, sums.belief[j] + sign * float(t.cb[0]))
        sums.disbelief[j] = max(0.0, sums.disbelief[j] + sign * float(t.cd[0]))
        sums.uncertainty[j] = max(0.0, sums.uncertainty[j] + sign * float(t.cu[0]))
        sums.count[j] += int(sign) * int(t.weight[0] > 0)

    def _epoch(self, now: int) -> int:
        if self._latest_time is not None and now < self._latest_time:
            raise TimeOrderError(now, self._latest_time)
        return self.params.epoch(now)

    def _sums(self, epoch: int) -> EspSums:
        if self._cache is None or self._cache[0] != epoch:
            n_esp = len(self._esp_ids)
            if self.params.sybil_resistant:
                sums, self._cred = hardened_sums(self._store, self.params, epoch, n_esp)
            else:
                sums, self._cred = all_esp_sums(self._store, self.params, epoch, n_esp), None
            self._cache = (epoch, sums)
        return self._cache[1]

    def _personal(self, epoch: int, viewer: int | None) -> tuple[EspSums, F64 | None] | None:
        """The sums and recommender factors (credibility times trust) of ``viewer``'s
        personalised view at ``epoch`` (``trust_steps``), or None: off, an unknown viewer, or
        one that endorses nobody (it gets the stranger's weights). Kept for the last
        ``_TRUST_VIEWS`` viewers of the cached epoch."""
        if self.params.trust_steps is None or viewer is None:
            return None
        self._store.layout()  # merges a grown tail now: rows stay put until the store changes
        key = (epoch, self._store.version)
        if self._trust_epoch != key:
            self._endorse, self._trust_views, self._trust_epoch = None, {}, key
        if viewer in self._trust_views:
            return self._trust_views[viewer]
        if self._endorse is None:
            self._endorse = endorsements(self._store, self.params, epoch, len(self._esp_ids))
        trust = personal_trust(self._store, self.params, self._endorse, viewer, len(self._esp_ids))
        view: tuple[EspSums, F64 | None] | None = None
        if trust is not None and not (trust[self._endorse.familiarity > 0] >= 1.0).all():
            # (every recommender fully trusted: the stranger's sums are the same, cached)
            sums, cred = hardened_sums(
                self._store, self.params, epoch, len(self._esp_ids), trust=trust
            )
            view = (sums, trust if cred is None else cred * trust)
        if len(self._trust_views) >= _TRUST_VIEWS:
            self._trust_views.pop(next(iter(self._trust_views)))
        self._trust_views[viewer] = view
        return view

    def opinion_arrays(
        self, producer: str, *, now: int, verdicts: F64 | None = None
    ) -> tuple[F64, F64, F64]:
        """Combined (b, d, u) arrays about every ESP in :attr:`esps`, from ``producer``'s view.

        ``verdicts``: per ESP of :attr:`esps`, the familiarity of its lost challenges
        (``services.reputation.verdicts.verdict_familiarity``), one more recommender of failed
        tasks in its recommended opinion; None: the on-chain evidence alone."""
        epoch = self._epoch(now)
        viewer = self._producer_index.get(producer)
        sums, cred = self._view_sums(epoch, viewer)
        return view_opinions(
            self._store,
            self.params,
            epoch,
            sums,
            viewer=viewer,
            n_esp=len(self._esp_ids),
            cred=cred,
            verdicts=verdicts,
        )

    def _view_sums(self, epoch: int, viewer: int | None) -> tuple[EspSums, F64 | None]:
        """The recommendation sums and per-producer recommender factors of ``viewer``'s view:
        personalised (``trust_steps``) where the viewer has endorsements of its own, else the
        stranger's, cached per epoch."""
        with self._views_lock:  # the walk and the hardened pass reuse work columns
            personal = self._personal(epoch, viewer)
            if personal is not None:
                return personal
            return self._sums(epoch), self._cred

    def reputations(self, producer: str, *, now: int) -> F64:
        """Reputation T = b + a*u of every ESP in :attr:`esps`, from ``producer``'s view."""
        b, _, u = self.opinion_arrays(producer, now=now)
        out: F64 = b + self.params.base_rate * u
        return out

    def local_opinion(self, producer: str, esp: str, *, now: int) -> Opinion:
        """``producer``'s own opinion about ``esp`` (vacuous without evidence)."""
        epoch = self._epoch(now)
        p, e = self._producer_index.get(producer), self._esp_index.get(esp)
        row = None if p is None or e is None else self._store.row(p, e)
        if row is None:
            return Opinion.vacuous(self.params.base_rate)
        t = pair_terms(self._store, self.params, epoch, np.array([row]))
        return Opinion.from_evidence(
            positive=float(t.r[0]),
            negative=float(t.s[0]),
            prior_weight=self.params.prior_weight,
            base_rate=self.params.base_rate,
        )

    def recommended_opinion(self, producer: str, esp: str, *, now: int) -> Opinion:
        """The weighted average of the other producers' opinions about ``esp``."""
        epoch = self._epoch(now)
        e = self._esp_index.get(esp)
        if e is None:
            return Opinion.vacuous(self.params.base_rate)
        viewer = self._producer_index.get(producer)
        # the credibility (and trust) of this view, if any (may reorder rows: first)
        _, cred = self._view_sums(epoch, viewer)
        store = self._store
        p = -1 if viewer is None else viewer
        rows = np.flatnonzero((store.esp == e) & (store.producer != p))
        sums = esp_sums(
            pair_terms(store, self.params, epoch, rows, cred),
            store.esp[rows],
            e + 1,
            self.params,
        )
        total = float(sums.total()[e])
        if sums.count[e] == 0 or total <= 0:
            return Opinion.vacuous(self.params.base_rate)
        sums.uncertainty[e] += self.params.recommendation_prior
        total += self.params.recommendation_prior
        return Opinion(
            float(sums.belief[e]) / total,
            float(sums.disbelief[e]) / total,
            float(sums.uncertainty[e]) / total,
            self.params.base_rate,
        )

    def opinion(self, producer: str, esp: str, *, now: int) -> Opinion:
        """The consensus of the local and the recommended opinion about ``esp``."""
        return self.local_opinion(producer, esp, now=now).fuse(
            self.recommended_opinion(producer, esp, now=now)
        )

    def reputation(self, producer: str, esp: str, *, now: int) -> float:
        """Reputation T = b + a*u of ``esp`` from ``producer``'s view (base rate if unknown)."""
        return self.opinion(producer, esp, now=now).expected()
