"""The paper's experiment: 3 ESPs, 3 producers, rounds of tasks chosen by reputation.

(a) Trend: ESP1 serves best, then from ``onset_round`` on its locks time out; each ESP's score
    per round from one producer's view (``viewer``). (b) Load: equally good ESPs with a capacity
    per round (tasks beyond it time out); cumulative tasks per ESP.

Each experiment runs once per policy with the same seed: ``mwsl`` (this package: softmax over
MWSL reputations above a floor), ``authors`` (the authors' formulas, same selection on
R / max R) and ``habit`` (the producer's most positive ESP so far).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from aigc_lab.reputation._policies import POLICIES, Chooser, make_chooser
from services.reputation.errors import InvalidParameterError
from services.reputation.interactions import Interaction
from services.reputation.params import ReputationParams

__all__ = ["ESPS", "POLICIES", "ExperimentConfig", "ExperimentResult", "run_experiment"]

ESPS = ("ESP1", "ESP2", "ESP3")


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """Settings of both experiments; every default is the documented setting."""

    trend_rounds: int = 35
    onset_round: int = 15
    load_rounds: int = 20
    producers: int = 3
    tasks_per_round: int = 4
    quality: tuple[float, float, float] = (1.0, 0.9, 0.9)
    load_quality: float = 0.95
    capacity: int = 4
    temperature: float = 0.15
    floor: float = 0.2
    seed: int = 2023
    viewer: int = 0
    params: ReputationParams = field(default_factory=ReputationParams)

    def __post_init__(self) -> None:
        for name in ("trend_rounds", "load_rounds", "producers", "tasks_per_round", "capacity"):
            if getattr(self, name) < 1:
                raise InvalidParameterError(name, getattr(self, name), "a whole number >= 1")
        if not 1 <= self.onset_round <= self.trend_rounds:
            raise InvalidParameterError(
                "onset_round", self.onset_round, f"a round in 1..{self.trend_rounds}"
            )
        if len(self.quality) != len(ESPS) or not all(0 <= q <= 1 for q in self.quality):
            raise InvalidParameterError("quality", self.quality, "three probabilities in [0, 1]")
        if not 0 <= self.load_quality <= 1:
            raise InvalidParameterError("load_quality", self.load_quality, "a number in [0, 1]")
        if not 0 <= self.viewer < self.producers:
            raise InvalidParameterError(
                "viewer", self.viewer, f"a producer in 0..{self.producers - 1}"
            )

    @property
    def producer_ids(self) -> tuple[str, ...]:
        return tuple(f"P{i + 1}" for i in range(self.producers))


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """Per policy and ESP: (a) scores per round from the viewer, (b) cumulative tasks per round."""

    config: ExperimentConfig
    reputation: dict[str, dict[str, list[float]]]
    trend_tasks: dict[str, dict[str, list[int]]]
    load: dict[str, dict[str, list[int]]]

    @property
    def onset_round(self) -> int:
        return self.config.onset_round

    @property
    def tasks(self) -> dict[str, dict[str, int]]:
        """Cumulative tasks per ESP at the last round of experiment (b)."""
        return {p: {e: series[-1] for e, series in per.items()} for p, per in self.load.items()}

    def fall_round(self, policy: str) -> int | None:
        """First round from the onset on after which ESP1 stays below both others, or None."""
        rep = self.reputation[policy]
        below = [
            rep["ESP1"][i] < min(rep["ESP2"][i], rep["ESP3"][i])
            for i in range(self.config.trend_rounds)
        ]
        for r in range(self.onset_round, self.config.trend_rounds + 1):
            if all(below[r - 1 :]):
                return r
        return None

    def first_before_onset(self, policy: str, rounds: int = 5) -> bool:
        """Whether ESP1 ranks first in each of the ``rounds`` rounds before the onset."""
        rep = self.reputation[policy]
        start = max(1, self.onset_round - rounds)
        return all(
            rep["ESP1"][r - 1] > max(rep["ESP2"][r - 1], rep["ESP3"][r - 1])
            for r in range(start, self.onset_round)
        )

    def load_ratio(self, policy: str) -> float:
        """Busiest ESP's task count over the idlest's (inf when one got none)."""
        counts = list(self.tasks[policy].values())
        return math.inf if min(counts) == 0 else max(counts) / min(counts)

    def expected_shape(self) -> dict[str, bool]:
        """The issue's expected outcome, check by check (all True for the default settings)."""
        fall = self.fall_round("mwsl")
        return {
            "mwsl: ESP1 first before the onset": self.first_before_onset("mwsl"),
            "mwsl: ESP1 below both others within 8 rounds": fall is not None
            and fall <= self.onset_round + 8,
            "mwsl: busiest/idlest <= 1.5": self.load_ratio("mwsl") <= 1.5,
            "habit: busiest/idlest > 1.5": self.load_ratio("habit") > 1.5,
        }

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``aigc simulate reputation --json``."""
        config = asdict(self.config)
        return {
            "onset_round": self.onset_round,
            "viewer": self.config.producer_ids[self.config.viewer],
            "esps": list(ESPS),
            "policies": list(POLICIES),
            "reputation": self.reputation,
            "tasks": self.tasks,
            "trend_tasks": self.trend_tasks,
            "load": self.load,
            "fall_round": {p: self.fall_round(p) for p in POLICIES},
            "load_ratio": {
                p: (None if math.isinf(r) else r) for p in POLICIES for r in [self.load_ratio(p)]
            },
            "expected_shape": self.expected_shape(),
            "config": config,
        }


def _play_round(
    chooser: Chooser,
    config: ExperimentConfig,
    start: int,
    success: list[float],
    rngs: tuple[np.random.Generator, np.random.Generator],
    capacity: int | None,
) -> dict[str, int]:
    """Assigns every producer's tasks at ``start``, settles them, returns tasks per ESP."""
    choose_rng, outcome_rng = rngs
    assigned: dict[str, list[str]] = {esp: [] for esp in ESPS}
    for producer in config.producer_ids:
        for _ in range(config.tasks_per_round):
            esp = chooser.choose(producer, start, choose_rng)
            if esp is not None:
                assigned[esp].append(producer)
    settled_at = start + config.params.period // 2
    for k, esp in enumerate(ESPS):
        producers = assigned[esp]
        served = set(range(len(producers)))
        if capacity is not None and len(producers) > capacity:
            served = set(outcome_rng.permutation(len(producers))[:capacity].tolist())
        for i, producer in enumerate(producers):
            ok = i in served and outcome_rng.random() < success[k]
            value = config.params.value_reference or 1
            chooser.record(Interaction(producer, esp, ok, value, settled_at))
    return {esp: len(p) for esp, p in assigned.items()}


def run_experiment(config: ExperimentConfig | None = None) -> ExperimentResult:
    """Runs experiments (a) and (b) for every policy (deterministic for a given seed)."""
    cfg = config if config is not None else ExperimentConfig()
    period = cfg.params.period
    viewer = cfg.producer_ids[cfg.viewer]
    reputation: dict[str, dict[str, list[float]]] = {}
    trend_tasks: dict[str, dict[str, list[int]]] = {}
    load: dict[str, dict[str, list[int]]] = {}
    for policy in POLICIES:
        rngs = tuple(np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(2))
        chooser = make_chooser(policy, cfg.params, temperature=cfg.temperature, floor=cfg.floor)
        reputation[policy] = {esp: [] for esp in ESPS}
        trend_tasks[policy] = {esp: [] for esp in ESPS}
        for r in range(1, cfg.trend_rounds + 1):
            success = list(cfg.quality)
            if r >= cfg.onset_round:
                success[0] = 0.0  # ESP1 delays: every lock it takes times out
            counts = _play_round(chooser, cfg, r * period, success, (rngs[0], rngs[1]), None)
            scores = chooser.scores(viewer, (r + 1) * period - 1)
            for esp, score in zip(ESPS, scores, strict=True):
                reputation[policy][esp].append(score)
                trend_tasks[policy][esp].append(counts[esp])
        rngs = tuple(
            np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed + 1).spawn(2)
        )
        chooser = make_chooser(policy, cfg.params, temperature=cfg.temperature, floor=cfg.floor)
        load[policy] = {esp: [] for esp in ESPS}
        total = dict.fromkeys(ESPS, 0)
        for r in range(1, cfg.load_rounds + 1):
            success = [cfg.load_quality] * len(ESPS)
            counts = _play_round(
                chooser, cfg, r * period, success, (rngs[0], rngs[1]), cfg.capacity
            )
            for esp in ESPS:
                total[esp] += counts[esp]
                load[policy][esp].append(total[esp])
    return ExperimentResult(cfg, reputation, trend_tasks, load)
