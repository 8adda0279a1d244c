"""Attacks on ESP selection at scale: on-off, badmouthing, ballot stuffing, collusion, whitewashing.

A market of ``esps`` ESPs (``malicious_share`` of them malicious), ``producers`` honest
producers and ``sybils`` Sybil producers controlled by the malicious ESPs. One round is one decay
period; every round each honest producer issues one task, chooses an ESP from its own view
(local opinion fused with everybody else's recommendations, itself excluded exactly) and records
the outcome honestly; Sybils then act for the attack. Every lock is worth the reference value
(one full interaction). Two weightings are compared on the same seed:

* ``hardened``: :meth:`ReputationParams.hardened` (recommender cap, diversity discount,
  recommendation prior) and :func:`exploring_probabilities` (floor 0.55 above the base rate,
  temperature 0.2, a 2% exploration share for newcomers);
* ``legacy``: the on-chain subset (:class:`ReputationParams` defaults) with the previous
  selection (softmax, temperature 0.15, floor 0.2, newcomers compete like everyone).

Every ESP has a capacity (``capacity`` times the fair share ``producers / esps`` tasks a round,
5 by default): tasks arrive in a random order, an ESP declines those beyond it and the producer
draws again among the ESPs with room left. Without it, the few ESPs established first share 98%
of the tasks for a few rounds (a herd) and can carry that stale crowd into a downward spiral
(docs/reputation.md, the collusion load ratio of 2.54).

Attacks (Sybil locks are acknowledged Ether locks like any other: each costs gas, the fee goes
back to the malicious side unless a protocol fee is burned):

* ``on-off``: malicious ESPs serve well for ``on_rounds`` then badly for ``off_rounds``, repeat.
* ``badmouthing``: malicious ESPs fail; each Sybil pays ``sybil_locks`` random honest ESPs per
  round and rates them negative.
* ``ballot-stuffing``: malicious ESPs fail; each Sybil is bound to one malicious ESP and pays it
  ``sybil_locks`` times per round (wash trading), rating it positive.
* ``collusion``: malicious ESPs fail and form rings of ``ring_size``; each Sybil pays
  ``sybil_locks`` random members of its ring (positive) and as many random honest ESPs
  (negative) per round, so it has history with several ESPs.
* ``whitewashing``: malicious ESPs fail; as soon as a stranger would rate one below the base
  rate, it re-registers under a fresh address (its evidence is gone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from services.reputation._aggregate import EspSums, stranger_expectation, weighted_sums
from services.reputation.errors import InvalidParameterError
from services.reputation.params import ReputationParams
from services.reputation.selection import NEWCOMER_UNCERTAINTY, exploring_probabilities

__all__ = ["ATTACKS", "WEIGHTINGS", "AttackConfig", "AttackResult", "run_attack"]

ATTACKS = ("on-off", "badmouthing", "ballot-stuffing", "collusion", "whitewashing")
WEIGHTINGS = ("hardened", "legacy")

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_SELECTION = {  # (temperature, floor, explore_share, newcomer uncertainty)
    "hardened": (0.2, 0.55, 0.02, NEWCOMER_UNCERTAINTY),
    "legacy": (0.15, 0.2, 0.0, 2.0),  # 2.0: nobody counts as a newcomer
}


@dataclass(frozen=True, slots=True)
class AttackConfig:
    """One simulation run; the defaults are the published setting (docs/reputation.md)."""

    attack: str
    weighting: str = "hardened"
    esps: int = 1_000
    malicious_share: float = 0.3
    producers: int = 10_000
    sybils: int = 1_000
    rounds: int = 60
    warmup: int = 25
    honest_quality: float = 0.95
    malicious_quality: float = 0.3
    on_rounds: int = 8
    off_rounds: int = 4
    ring_size: int = 10
    sybil_locks: int = 1
    seed: int = 0
    chunk: int = 2_000
    params: ReputationParams | None = field(default=None)
    # (temperature, floor, explore share, newcomer uncertainty); None: the weighting's own
    selection: tuple[float, float, float, float] | None = None
    # tasks an ESP takes per round, as a multiple of the fair share producers / esps; None:
    # unlimited (an ESP at capacity declines, and the producer draws again among the others)
    capacity: float | None = 5.0

    def __post_init__(self) -> None:
        if self.attack not in (*ATTACKS, "none"):
            raise InvalidParameterError("attack", self.attack, f"one of {', '.join(ATTACKS)}")
        if self.weighting not in WEIGHTINGS:
            raise InvalidParameterError("weighting", self.weighting, "'hardened' or 'legacy'")
        for name in ("esps", "producers", "rounds", "on_rounds", "off_rounds", "ring_size"):
            if getattr(self, name) < 1:
                raise InvalidParameterError(name, getattr(self, name), "a whole number >= 1")
        for name in ("sybils", "sybil_locks", "warmup"):
            if getattr(self, name) < 0:
                raise InvalidParameterError(name, getattr(self, name), "a whole number >= 0")
        if self.warmup >= self.rounds:
            raise InvalidParameterError("warmup", self.warmup, f"fewer than {self.rounds} rounds")
        if self.capacity is not None and not 1.0 <= self.capacity < float("inf"):
            raise InvalidParameterError("capacity", self.capacity, "None or a number >= 1")
        if not 0.0 < self.malicious_share < 1.0:
            raise InvalidParameterError("malicious_share", self.malicious_share, "in (0, 1)")
        n_mal = round(self.esps * self.malicious_share)
        if not 1 <= n_mal < self.esps:
            raise InvalidParameterError("esps", self.esps, "enough for honest and malicious ESPs")

    def capacity_tasks(self) -> int | None:
        """Tasks per ESP per round (``capacity`` times the fair share, at least 1), or None."""
        if self.capacity is None:
            return None
        return max(1, round(self.capacity * self.producers / self.esps))

    def model(self) -> ReputationParams:
        if self.params is not None:
            return self.params
        return ReputationParams.hardened() if self.weighting == "hardened" else ReputationParams()


@dataclass(frozen=True, slots=True)
class AttackResult:
    """Per-round series and the goals' verdicts of one run."""

    config: AttackConfig
    bad_share: list[float]  # honest tasks sent to malicious ESPs / honest tasks, per round
    waited: list[int]  # honest producers with no eligible ESP, per round
    honest_reputation: list[float]  # mean T of honest ESPs from a stranger's view, per round
    malicious_reputation: list[float]  # the same for malicious ESPs
    honest_load: list[int]  # tasks per honest ESP after the warm-up
    sybil_locks: int
    malicious_tasks: int  # honest tasks malicious ESPs won over the whole run
    whitewashes: int
    peak_load: int  # the most tasks one ESP took in one round (the herd, without capacity)

    @property
    def max_bad_share(self) -> float:
        """The worst round after the warm-up."""
        return max(self.bad_share[self.config.warmup :])

    @property
    def mean_bad_share(self) -> float:
        return float(np.mean(self.bad_share[self.config.warmup :]))

    @property
    def load_ratio(self) -> float:
        """Busiest / idlest honest ESP (all of equal quality) after the warm-up."""
        lo = min(self.honest_load)
        return float("inf") if lo == 0 else max(self.honest_load) / lo

    @property
    def break_even_fee(self) -> float | None:
        """Burned fee per Sybil lock, in lock values, at which the Sybils' fees equal all the
        honest revenue the malicious ESPs took (their gain at most): above it the attack loses
        money even before gas. None without Sybil locks."""
        if self.sybil_locks == 0:
            return None
        return self.malicious_tasks / self.sybil_locks

    def goals(self) -> dict[str, bool]:
        return {
            f"honest tasks to malicious <= 5% every round after {self.config.warmup}": (
                self.max_bad_share <= 0.05
            ),
            "busiest/idlest honest ESP <= 1.5": self.load_ratio <= 1.5,
        }

    def to_json(self) -> dict[str, Any]:
        config = asdict(self.config)
        config["params"] = asdict(self.config.model())
        return {
            "config": config,
            "max_bad_share_after_warmup": self.max_bad_share,
            "mean_bad_share_after_warmup": self.mean_bad_share,
            "load_ratio": self.load_ratio,
            "sybil_locks": self.sybil_locks,
            "malicious_tasks": self.malicious_tasks,
            "break_even_fee_per_lock_value": self.break_even_fee,
            "whitewashes": self.whitewashes,
            "peak_load": self.peak_load,
            "goals": self.goals(),
            "bad_share": self.bad_share,
            "waited": self.waited,
            "honest_reputation": self.honest_reputation,
            "malicious_reputation": self.malicious_reputation,
        }


class _Side:
    """Dense evidence of a group of producers about every ESP (float32, one row per producer);
    computations run over its non-zero pairs only."""

    def __init__(self, rows: int, esps: int) -> None:
        self.pos: F32 = np.zeros((rows, esps), np.float32)
        self.neg: F32 = np.zeros((rows, esps), np.float32)
        self.fresh: F32 = np.zeros((rows, esps), np.float32)

    def pairs(self) -> tuple[I64, I64, F64, F64, F64]:
        """(row, ESP, pos, neg, fresh) of every pair with evidence."""
        flat = np.flatnonzero(self.fresh.ravel())
        rows, esps = np.divmod(flat, self.fresh.shape[1])
        return (
            rows,
            esps,
            self.pos.ravel()[flat].astype(np.float64),
            self.neg.ravel()[flat].astype(np.float64),
            self.fresh.ravel()[flat].astype(np.float64),
        )

    def decay(self, params: ReputationParams) -> None:
        self.pos *= np.float32(params.decay)
        self.fresh *= np.float32(params.decay)
        nd = params.decay if params.negative_decay is None else params.negative_decay
        self.neg *= np.float32(nd)

    def add(self, rows: I64, esps: I64, positive: npt.NDArray[np.bool_]) -> None:
        np.add.at(self.pos, (rows, esps), positive.astype(np.float32))
        np.add.at(self.neg, (rows, esps), (~positive).astype(np.float32))
        self.fresh[rows, esps] = 1.0

    def forget(self, esps: I64) -> None:
        for arr in (self.pos, self.neg, self.fresh):
            arr[:, esps] = 0.0


def _stranger(sums: EspSums, params: ReputationParams) -> tuple[F64, F64]:
    """(T, u) of every ESP from the view of a producer without evidence of its own."""
    has = (sums.count > 0) & (sums.total() > 0)
    u = np.where(has, sums.uncertainty + params.recommendation_prior, 1.0)
    total = np.where(has, sums.belief + sums.disbelief, 0.0) + u
    return stranger_expectation(sums, params), u / total


def _own_views(
    sums: EspSums,
    own: tuple[F64, F64, F64, F64],
    pos: F64,
    neg: F64,
    esp: I64,
    params: ReputationParams,
) -> tuple[F64, F64]:
    """(T, u) at each of a producer's own pairs: its local opinion fused with everybody
    else's recommendations (its own contribution ``own`` taken out)."""
    cb, cd, cu, w = own
    b2 = np.maximum(sums.belief[esp] - cb, 0.0)
    d2 = np.maximum(sums.disbelief[esp] - cd, 0.0)
    u2 = np.maximum(sums.uncertainty[esp] - cu, 0.0)
    has = (sums.count[esp] - (w > 0) > 0) & (b2 + d2 + u2 > 1e-12)
    u2 = np.where(has, u2 + params.recommendation_prior, 1.0)
    b2, d2 = np.where(has, b2, 0.0), np.where(has, d2, 0.0)
    tot = b2 + d2 + u2
    b2, u2 = b2 / tot, u2 / tot
    s = neg * params.negative_weight
    den = pos + s + params.prior_weight
    b1, u1 = pos / den, params.prior_weight / den
    k = u1 + u2 - u1 * u2
    u = u1 * u2 / k
    return (b1 * u2 + b2 * u1) / k + params.base_rate * u, u


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(lo, min(n, lo + size)) for lo in range(0, n, size)]


@dataclass(frozen=True, slots=True)
class _Views:
    """Every honest producer's view of every ESP this round: the stranger's view, overridden at
    the producer's own pairs (``rows`` sorted, as :meth:`_Side.pairs` returns them)."""

    stranger_t: F64
    stranger_u: F64
    rows: I64
    esps: I64
    own_t: F64
    own_u: F64

    def draw(
        self,
        producers: I64,
        rng: np.random.Generator,
        select: dict[str, Any],
        *,
        chunk: int,
        available: npt.NDArray[np.bool_] | None = None,
    ) -> I64:
        """One ESP drawn for each of ``producers`` (sorted) by :func:`exploring_probabilities`
        among the ``available`` ESPs; -1 where none is eligible (the producer waits)."""
        n_esp = self.stranger_t.shape[0]
        choice = np.full(producers.shape[0], -1, np.int64)
        for c in _chunks(producers.shape[0], chunk):
            who = producers[c]
            t = np.repeat(self.stranger_t[None, :], who.shape[0], axis=0)
            u = np.repeat(self.stranger_u[None, :], who.shape[0], axis=0)
            lo = np.searchsorted(self.rows, who, "left")
            n = np.searchsorted(self.rows, who, "right") - lo
            at = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
            line = np.repeat(np.arange(who.shape[0]), n)
            t[line, self.esps[at]] = self.own_t[at]
            u[line, self.esps[at]] = self.own_u[at]
            probs = exploring_probabilities(t, u, available=available, **select)
            cum = np.cumsum(probs, axis=1)
            total = cum[:, -1]
            draw = rng.random(total.shape[0]) * total
            picked = np.minimum((cum < draw[:, None]).sum(axis=1), n_esp - 1)
            choice[c] = np.where(total > 0, picked, -1)
        return choice


def _enforce_capacity(
    choice: I64,
    capacity: int,
    views: _Views,
    rng: np.random.Generator,
    select: dict[str, Any],
    *,
    chunk: int,
    passes: int = 50,
) -> None:
    """Each ESP takes at most ``capacity`` tasks this round (in place): tasks arrive in a
    random order, an ESP declines those beyond its capacity, and a declined producer draws
    again among the ESPs with room left (a full ESP is out of both the softmax and the
    exploration slice, so when every established ESP is full the newcomers get the task)."""
    n_esp = views.stranger_t.shape[0]
    if np.bincount(choice[choice >= 0], minlength=n_esp).max(initial=0) <= capacity:
        return  # nobody declines: the round draws no more randomness than without capacity
    taken = np.zeros(n_esp, np.int64)
    pending = rng.permutation(np.flatnonzero(choice >= 0))
    for _ in range(passes):
        if pending.shape[0] == 0:
            return
        wanted = choice[pending]
        order = np.argsort(wanted, kind="stable")
        sorted_esp = wanted[order]
        first = np.searchsorted(sorted_esp, sorted_esp, "left")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0]) - first
        accept = rank < capacity - taken[wanted]
        taken += np.bincount(wanted[accept], minlength=n_esp)
        declined = np.sort(pending[~accept])
        if declined.shape[0] == 0:
            return
        redrawn = views.draw(declined, rng, select, chunk=chunk, available=taken < capacity)
        choice[declined] = redrawn
        pending = rng.permutation(declined[redrawn >= 0])
    choice[pending] = -1  # still declined after every pass: the producer waits


def run_attack(config: AttackConfig) -> AttackResult:
    """Runs one simulation (deterministic for a given config)."""
    params = config.model()
    temperature, floor, explore, newcomer_u = _SELECTION[config.weighting]
    if config.selection is not None:
        temperature, floor, explore, newcomer_u = config.selection
    rng = np.random.default_rng(config.seed)
    n_esp, n_h, n_s = config.esps, config.producers, config.sybils
    n_mal = round(n_esp * config.malicious_share)
    malicious = np.zeros(n_esp, np.bool_)
    malicious[rng.permutation(n_esp)[:n_mal]] = True
    mal_idx, hon_idx = np.flatnonzero(malicious), np.flatnonzero(~malicious)
    rings = [mal_idx[i : i + config.ring_size] for i in range(0, n_mal, config.ring_size)]
    sybil_target = mal_idx[np.arange(n_s) % n_mal]
    sybil_ring = np.arange(n_s) % len(rings)
    honest, sybil = _Side(n_h, n_esp), _Side(max(n_s, 1), n_esp)
    capacity = config.capacity_tasks()
    load = np.zeros(n_esp, np.int64)
    bad_share: list[float] = []
    waited: list[int] = []
    rep_h: list[float] = []
    rep_m: list[float] = []
    sybil_locks = malicious_tasks = whitewashes = peak_load = 0
    for rnd in range(config.rounds):
        quality = np.where(malicious, config.malicious_quality, config.honest_quality)
        if config.attack == "on-off":
            cycle = rnd % (config.on_rounds + config.off_rounds)
            if cycle < config.on_rounds:
                quality = np.full(n_esp, config.honest_quality)
        h_rows, h_esp, h_pos, h_neg, h_fresh = honest.pairs()
        s_rows, s_esp, s_pos, s_neg, s_fresh = sybil.pairs()
        producer = np.r_[h_rows, s_rows + n_h]
        pos, neg = np.r_[h_pos, s_pos], np.r_[h_neg, s_neg]
        totals = np.bincount(producer, weights=pos + neg, minlength=n_h + max(n_s, 1)).astype(
            np.float64
        )
        sums, _, terms = weighted_sums(
            producer,
            np.r_[h_esp, s_esp],
            pos,
            neg,
            np.r_[h_fresh, s_fresh],
            totals,
            n_esp,
            params,
        )
        stranger_t, stranger_u = _stranger(sums, params)
        rep_h.append(float(stranger_t[~malicious].mean()))
        rep_m.append(float(stranger_t[malicious].mean()))
        n_pairs = h_rows.shape[0]
        own = (terms[0][:n_pairs], terms[1][:n_pairs], terms[2][:n_pairs], terms[3][:n_pairs])
        own_t, own_u = _own_views(sums, own, h_pos, h_neg, h_esp, params)
        views = _Views(stranger_t, stranger_u, h_rows, h_esp, own_t, own_u)
        select = {
            "temperature": temperature,
            "floor": floor,
            "explore_share": explore,
            "newcomer_uncertainty": newcomer_u,
            "probation_from": params.base_rate if config.weighting == "hardened" else None,
        }
        choice = views.draw(np.arange(n_h), rng, select, chunk=config.chunk)
        if capacity is not None:
            _enforce_capacity(choice, capacity, views, rng, select, chunk=config.chunk)
        served = choice >= 0
        rows, esps = np.flatnonzero(served), choice[served]
        ok = rng.random(rows.shape[0]) < quality[esps]
        to_bad = int(malicious[esps].sum())
        bad_share.append(to_bad / max(1, rows.shape[0]))
        waited.append(int((~served).sum()))
        malicious_tasks += to_bad
        peak_load = max(peak_load, int(np.bincount(esps, minlength=n_esp).max(initial=0)))
        if rnd >= config.warmup:
            np.add.at(load, esps, 1)
        honest.decay(params)
        sybil.decay(params)
        honest.add(rows, esps, ok)
        who, where, rated = _sybil_actions(config, rng, sybil_target, sybil_ring, rings, hon_idx)
        if who.shape[0]:
            sybil.add(who, where, rated)
            sybil_locks += int(who.shape[0])
        if config.attack == "whitewashing":
            caught = mal_idx[(stranger_t[mal_idx] < params.base_rate) & (stranger_u[mal_idx] < 1.0)]
            if caught.shape[0]:
                honest.forget(caught)
                sybil.forget(caught)
                whitewashes += int(caught.shape[0])
    return AttackResult(
        config=config,
        bad_share=bad_share,
        waited=waited,
        honest_reputation=rep_h,
        malicious_reputation=rep_m,
        honest_load=load[hon_idx].tolist(),
        sybil_locks=sybil_locks,
        malicious_tasks=malicious_tasks,
        whitewashes=whitewashes,
        peak_load=peak_load,
    )


def _sybil_actions(
    config: AttackConfig,
    rng: np.random.Generator,
    target: I64,
    ring_of: I64,
    rings: list[I64],
    hon_idx: I64,
) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
    """(sybil row, ESP, positive) of every Sybil lock this round."""
    n_s, k = config.sybils, config.sybil_locks
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.bool_))
    if n_s == 0 or k == 0:
        return empty
    who = np.repeat(np.arange(n_s), k)
    if config.attack == "badmouthing":
        return who, rng.choice(hon_idx, size=who.shape[0]), np.zeros(who.shape[0], np.bool_)
    if config.attack == "ballot-stuffing":
        return who, target[who], np.ones(who.shape[0], np.bool_)
    if config.attack == "collusion":
        sizes = np.array([len(r) for r in rings])[ring_of[who]]
        starts = np.cumsum([0] + [len(r) for r in rings])[:-1][ring_of[who]]
        flat = np.concatenate(rings)
        mates = flat[starts + rng.integers(0, 1 << 30, size=who.shape[0]) % sizes]
        bad = rng.choice(hon_idx, size=who.shape[0])
        return (
            np.r_[who, who],
            np.r_[mates, bad],
            np.r_[np.ones(who.shape[0], np.bool_), np.zeros(who.shape[0], np.bool_)],
        )
    return empty
