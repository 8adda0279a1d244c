"""The three ways of choosing an ESP compared by the experiment, behind one small interface."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from aigc_lab.reputation.baselines import AuthorsModel, HabitModel
from services.reputation.engine import ReputationEngine
from services.reputation.errors import InvalidParameterError, NoEligibleEspError
from services.reputation.interactions import Interaction
from services.reputation.params import ReputationParams
from services.reputation.selection import rank, select

__all__ = ["POLICIES", "Chooser", "make_chooser"]

POLICIES = ("mwsl", "authors", "habit")
_ESPS = ("ESP1", "ESP2", "ESP3")


class Chooser(Protocol):
    def scores(self, producer: str, now: int) -> list[float]: ...
    def choose(self, producer: str, now: int, rng: np.random.Generator) -> str | None: ...
    def record(self, interaction: Interaction) -> None: ...


class _Mwsl:
    def __init__(self, params: ReputationParams, temperature: float, floor: float) -> None:
        self.engine = ReputationEngine(params)
        self.temperature, self.floor = temperature, floor

    def scores(self, producer: str, now: int) -> list[float]:
        ranked = dict(rank(producer, _ESPS, self.engine, now=now))
        return [ranked[esp] for esp in _ESPS]

    def choose(self, producer: str, now: int, rng: np.random.Generator) -> str | None:
        ranking = rank(producer, _ESPS, self.engine, now=now)
        try:
            return select(ranking, temperature=self.temperature, floor=self.floor, rng=rng)
        except NoEligibleEspError:
            return None  # every ESP is below the floor: the producer waits this round

    def record(self, interaction: Interaction) -> None:
        self.engine.record(interaction)


class _Authors:
    def __init__(self, params: ReputationParams, temperature: float, floor: float) -> None:
        self.model = AuthorsModel(negative_weight=params.negative_weight)
        self.temperature, self.floor = temperature, floor

    def scores(self, producer: str, now: int) -> list[float]:
        return self.model.scores(_ESPS)

    def choose(self, producer: str, now: int, rng: np.random.Generator) -> str | None:
        top = self.model.max_score
        ranking = [(esp, s / top) for esp, s in zip(_ESPS, self.model.scores(_ESPS), strict=True)]
        try:
            return select(ranking, temperature=self.temperature, floor=self.floor, rng=rng)
        except NoEligibleEspError:
            return None

    def record(self, interaction: Interaction) -> None:
        self.model.record(interaction)


class _Habit:
    def __init__(self) -> None:
        self.model = HabitModel()

    def scores(self, producer: str, now: int) -> list[float]:
        return self.model.scores(producer, _ESPS)

    def choose(self, producer: str, now: int, rng: np.random.Generator) -> str | None:
        return self.model.choose(producer, _ESPS)

    def record(self, interaction: Interaction) -> None:
        self.model.record(interaction)


def make_chooser(
    policy: str, params: ReputationParams, *, temperature: float, floor: float
) -> Chooser:
    """A fresh chooser for ``policy`` (one of :data:`POLICIES`)."""
    if policy == "mwsl":
        return _Mwsl(params, temperature, floor)
    if policy == "authors":
        return _Authors(params, temperature, floor)
    if policy == "habit":
        return _Habit()
    raise InvalidParameterError("policy", policy, f"one of {', '.join(POLICIES)}")
