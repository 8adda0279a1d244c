"""The comparison models of the paper's experiment: the authors' formulas and the habit baseline.

* :class:`AuthorsModel` reproduces the formulas of the authors' own simulation: a fixed
  uncertainty u = 0.5, no time decay, and reputation R = 10 b + u d. The pieces their text leaves
  open are filled in like MWSL so that the comparison isolates those three choices: negative
  interactions weigh ``negative_weight``, and the opinions of all producers who dealt with the
  ESP (the chooser included) are averaged weighted by their interaction counts.
* :class:`HabitModel` is the baseline without reputation: a producer always goes back to the
  ESP it has had the most positive interactions with (ties go to the first listed ESP).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from services.reputation.errors import InvalidParameterError
from services.reputation.interactions import Interaction

__all__ = ["AuthorsModel", "HabitModel"]


class AuthorsModel:
    """Fixed-uncertainty subjective logic without decay; score R = 10 b + u d."""

    def __init__(self, *, uncertainty: float = 0.5, negative_weight: float = 2.0) -> None:
        if not 0.0 <= uncertainty < 1.0:
            raise InvalidParameterError("uncertainty", uncertainty, "a number in [0, 1)")
        if negative_weight < 1.0:
            raise InvalidParameterError("negative_weight", negative_weight, "a number >= 1")
        self.uncertainty = uncertainty
        self.negative_weight = negative_weight
        self._counts: dict[str, dict[str, list[int]]] = defaultdict(dict)

    @property
    def max_score(self) -> float:
        """The highest score possible (all belief): 10 (1 - u)."""
        return 10.0 * (1.0 - self.uncertainty)

    def record(self, interaction: Interaction) -> None:
        """Counts one interaction (no value weighting, no decay)."""
        counts = self._counts[interaction.esp].setdefault(interaction.producer, [0, 0])
        counts[0 if interaction.positive else 1] += 1

    def opinion(self, esp: str) -> tuple[float, float, float]:
        """(b, d, u): count-weighted mean of every producer's fixed-uncertainty opinion."""
        u = self.uncertainty
        weighted_b = weighted_d = total = 0.0
        for positive, negative in self._counts.get(esp, {}).values():
            n = positive + negative
            evidence = positive + self.negative_weight * negative
            weighted_b += n * (1 - u) * positive / evidence
            weighted_d += n * (1 - u) * self.negative_weight * negative / evidence
            total += n
        if total == 0:
            return (1 - u) / 2, (1 - u) / 2, u
        return weighted_b / total, weighted_d / total, u

    def score(self, esp: str) -> float:
        """The authors' reputation R = 10 b + u d."""
        b, d, u = self.opinion(esp)
        return 10.0 * b + u * d

    def scores(self, esps: Sequence[str]) -> list[float]:
        """:meth:`score` of each ESP in ``esps``."""
        return [self.score(esp) for esp in esps]


class HabitModel:
    """Picks the ESP with the most positive interactions with this producer so far."""

    def __init__(self) -> None:
        self._positives: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def record(self, interaction: Interaction) -> None:
        """Counts a positive interaction (negative ones do not break a habit)."""
        if interaction.positive:
            self._positives[interaction.producer][interaction.esp] += 1

    def scores(self, producer: str, esps: Sequence[str]) -> list[float]:
        """The producer's positive-interaction count with each ESP."""
        mine = self._positives.get(producer, {})
        return [float(mine.get(esp, 0)) for esp in esps]

    def choose(self, producer: str, esps: Sequence[str]) -> str:
        """The ESP with the highest count (the first listed among equals)."""
        counts = self.scores(producer, esps)
        return esps[counts.index(max(counts))]
