"""Who answers when drawn: newcomers that let drawn tasks go unquoted lose their exploration slot.

The exploration slice (``selection.exploring_probabilities``) is split evenly among newcomers,
so an operator that registers k idle ESPs (they need never quote) leaves an honest newcomer
``slice / (k + 1)``. The chain cannot tell an idle newcomer from a new one; the marketplace
can: it knows which ESP the selection drew for a task and whether that ESP quoted it within the
quote window. Each such draw is a :class:`Draw`. Per ESP, the draws it answered and the draws
whose window passed unanswered are summed, each faded by ``decay`` per period like evidence;
an ESP whose unanswered weight exceeds its answered weight by more than ``margin`` (0.5) is
*unresponsive* and gets no exploration slot (``rank_exploring(..., unresponsive=...)``). An idle
ESP is drawn once, then waits until its miss has faded below the margin (14 periods at 0.95
a period) to be drawn again; a newcomer that quotes what it is drawn for never loses its slot
(a decline when full is a miss too, but one answered draw outweighs it). Established ESPs are
not affected (their reputation speaks for them).

The API feeds it from its tasks table (``marketplace_api/draws.py``: a draw is stored with the
task the selection drew it for, a quote answers it, :data:`QUOTE_WINDOW`), summing the draws per
ESP, period and outcome in the database (:class:`DrawCount`, :func:`unresponsive_counts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.reputation.errors import InvalidParameterError
from services.reputation.params import ReputationParams

__all__ = ["QUOTE_WINDOW", "Draw", "DrawCount", "DrawLog", "unresponsive", "unresponsive_counts"]

#: The marketplace's quote window (seconds): a drawn ESP that quotes within it answered the draw.
QUOTE_WINDOW = 600


@dataclass(frozen=True, slots=True)
class Draw:
    """The selection drew ``esp`` for a task at ``time`` (seconds); ``quoted``: when the ESP
    quoted it (None: not yet). Only draws by the selection count, not tasks a producer
    addressed to one ESP."""

    esp: str
    time: int
    quoted: int | None = None


def unresponsive(
    draws: Iterable[Draw],
    *,
    now: int,
    window: int,
    params: ReputationParams | None = None,
    margin: float = 0.5,
) -> frozenset[str]:
    """ESPs (lowercase) whose unanswered draws outweigh their answered ones by more than
    ``margin`` at ``now``.

    A draw is answered if its quote came within ``window`` seconds; unanswered once ``window``
    has passed without one (a draw still inside its window counts neither way). Weights fade by
    ``params.decay`` per ``params.period`` since the draw."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InvalidParameterError("window", window, "a whole number of seconds >= 1")
    if not 0.0 <= margin < float("inf"):
        raise InvalidParameterError("margin", margin, "a finite number >= 0")
    p = params if params is not None else ReputationParams()
    counts = []
    for d in draws:
        if d.time > now:
            continue
        if d.quoted is not None and d.quoted - d.time <= window and d.quoted <= now:
            counts.append(DrawCount(d.esp, p.epoch(d.time), answered=True))
        elif now - d.time > window:
            counts.append(DrawCount(d.esp, p.epoch(d.time), answered=False))
    return unresponsive_counts(counts, now=now, params=p, margin=margin)


@dataclass(frozen=True, slots=True)
class DrawCount:
    """``count`` draws of ``esp`` made in decay period ``epoch``, all answered or all missed
    (classified as :func:`unresponsive` does): what a database sums per ESP and period."""

    esp: str
    epoch: int
    answered: bool
    count: int = 1


def unresponsive_counts(
    counts: Iterable[DrawCount],
    *,
    now: int,
    params: ReputationParams | None = None,
    margin: float = 0.5,
) -> frozenset[str]:
    """:func:`unresponsive` over draws already classified and counted per ESP and period."""
    if not 0.0 <= margin < float("inf"):
        raise InvalidParameterError("margin", margin, "a finite number >= 0")
    p = params if params is not None else ReputationParams()
    epoch = p.epoch(now)
    answered: dict[str, float] = {}
    missed: dict[str, float] = {}
    for c in counts:
        esp = c.esp.lower()
        weight = c.count * p.decay ** max(0, epoch - c.epoch)
        side = answered if c.answered else missed
        side[esp] = side.get(esp, 0.0) + weight
    return frozenset(e for e, m in missed.items() if m > answered.get(e, 0.0) + margin)


class DrawLog:
    """The draws the marketplace fed, by task id: :meth:`drawn` when the selection picks an ESP
    for a task, :meth:`quoted` when that ESP quotes it; :meth:`unresponsive` at any time."""

    def __init__(self, window: int, params: ReputationParams | None = None) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise InvalidParameterError("window", window, "a whole number of seconds >= 1")
        self.window = window
        self.params = params if params is not None else ReputationParams()
        self._draws: dict[tuple[str, str], Draw] = {}

    def drawn(self, task: str, esp: str, time: int) -> None:
        """The selection drew ``esp`` for ``task`` at ``time`` (a task redrawn after a silent
        ESP keeps that ESP's draw: one draw per task and ESP)."""
        self._draws.setdefault((task, esp.lower()), Draw(esp, int(time)))

    def quoted(self, task: str, esp: str, time: int) -> None:
        """``esp`` quoted ``task`` at ``time`` (ignored unless the selection drew it for it)."""
        key = (task, esp.lower())
        draw = self._draws.get(key)
        if draw is not None and draw.quoted is None:
            self._draws[key] = Draw(draw.esp, draw.time, int(time))

    def unresponsive(self, *, now: int) -> frozenset[str]:
        """:func:`unresponsive` over the logged draws."""
        return unresponsive(self._draws.values(), now=now, window=self.window, params=self.params)
