"""The responsiveness log in the database: which ESPs the selection drew for a task, and whether
they quoted it in time (``services.reputation.responsiveness``; docs/reputation.md, "Crowding
the exploration slice").

An operator that registers idle ESPs crowds the newcomers' exploration slice; a newcomer whose
drawn tasks went unquoted loses its slot. Only a draw its ESP could answer is recorded:

* only the selection's draws (``POST /v1/tasks`` without ``esp``), never a task a producer
  addressed to an ESP of its choice, which anyone may post and which the ESP may ignore;
* in the transaction that stores the task, so a draw exists only with a task its ESP lists and
  may quote at once (the ESP quotes on the prompt's commitment, not the prompt);
* only among the active ESPs whose registered price is within the task's ``max_price`` (the
  draw's candidates): a task posted at 1 wei draws no one it could not pay, and an idle ESP that
  prices itself out of every task is drawn for none and crowds none.

The draw's time is ``tasks.drawn_at`` and the ESP's quote ``tasks.quoted_at`` (chain seconds),
so the log is the database's: it outlives a restart and every API process reads the same. A
check sums the draws per ESP, decay period and outcome in one grouped query over the candidates'
drawn tasks.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.orm import Session

from marketplace_api.models import Task
from services.reputation import ReputationParams
from services.reputation.responsiveness import QUOTE_WINDOW, DrawCount, unresponsive_counts

__all__ = ["unresponsive_esps"]


def unresponsive_esps(
    session: Session,
    esps: Collection[str],
    *,
    now: int,
    params: ReputationParams,
    window: int = QUOTE_WINDOW,
) -> frozenset[str]:
    """Of ``esps`` (checksummed, as tasks store them), those whose missed draws outweigh their
    answered ones at ``now`` (lowercase, as ``rank_exploring(unresponsive=...)`` takes them)."""
    if not esps:
        return frozenset()
    answered = and_(
        Task.quoted_at.is_not(None),
        Task.quoted_at - Task.drawn_at <= window,
        Task.quoted_at <= now,
    )
    outcome = case((answered, True), else_=False).label("answered")
    epoch = (Task.drawn_at // params.period).label("epoch")  # whole periods, as params.epoch
    rows = session.execute(
        select(Task.esp, epoch, outcome, func.count())
        .where(
            Task.esp.in_(list(esps)),
            Task.drawn_at.is_not(None),
            Task.drawn_at <= now,
            answered | (not_(answered) & (Task.drawn_at < now - window)),
        )
        .group_by(Task.esp, epoch, outcome)
    )
    counts = [
        DrawCount(str(esp), int(ep), answered=bool(ok), count=int(n)) for esp, ep, ok, n in rows
    ]
    return unresponsive_counts(counts, now=now, params=params)
