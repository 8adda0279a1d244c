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
and ``esp_draws`` sums them per ESP and decay period as they are written (:func:`record_draw`,
:func:`record_quote`, in the route's transaction). So the log is the database's: it outlives a
restart and every API process reads the same; a check reads a row per candidate ESP and period
of the last :data:`HORIZON` periods, plus the draws of the last quote window still unanswered
(they count neither way yet), whatever the market's history.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from marketplace_api.models import EspDraws, Task
from services.reputation import ReputationParams
from services.reputation.responsiveness import QUOTE_WINDOW, DrawCount, unresponsive_counts

__all__ = ["HORIZON", "record_draw", "record_quote", "unresponsive_esps"]

# Periods of draws a check reads: a miss older than that weighs 0.95 ** 365 (7e-9) at the
# hardened decay, nothing the 0.5 margin could tell.
HORIZON = 365


def record_draw(session: Session, task: Task, *, now: int, params: ReputationParams) -> None:
    """The selection drew ``task.esp`` for ``task`` at ``now`` (before the task is committed)."""
    task.drawn_at = now
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    t = EspDraws.__table__.c
    session.execute(
        insert(EspDraws)
        .values(esp=task.esp, epoch=params.epoch(now), drawn=1, answered=0)
        .on_conflict_do_update(index_elements=[t.esp, t.epoch], set_={"drawn": t.drawn + 1})
    )


def record_quote(session: Session, task: Task, *, now: int, params: ReputationParams) -> None:
    """``task``'s ESP quoted it at ``now``: an answer if the selection drew it and the quote
    came within :data:`QUOTE_WINDOW` (a late one stays a miss)."""
    if task.drawn_at is None or task.quoted_at is not None:
        return
    task.quoted_at = now
    if now - task.drawn_at <= QUOTE_WINDOW:
        session.execute(
            update(EspDraws)
            .where(EspDraws.esp == task.esp, EspDraws.epoch == params.epoch(task.drawn_at))
            .values(answered=EspDraws.answered + 1)
        )


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
    names = list(esps)
    pending: dict[tuple[str, int], int] = {}
    epoch = (Task.drawn_at // params.period).label("epoch")  # whole periods, as params.epoch
    for esp, ep, n in session.execute(
        select(Task.esp, epoch, func.count())
        .where(
            Task.esp.in_(names),
            Task.drawn_at >= now - window,  # still inside the window, unanswered: neither way
            Task.quoted_at.is_(None),
        )
        .group_by(Task.esp, epoch)
    ):
        pending[(str(esp), int(ep))] = int(n)
    counts = []
    for row in session.scalars(
        select(EspDraws).where(
            EspDraws.esp.in_(names), EspDraws.epoch >= params.epoch(now) - HORIZON
        )
    ):
        open_ = pending.get((row.esp, int(row.epoch)), 0)
        counts.append(DrawCount(row.esp, int(row.epoch), answered=True, count=row.answered))
        missed = row.drawn - row.answered - open_
        counts.append(DrawCount(row.esp, int(row.epoch), answered=False, count=missed))
    return unresponsive_counts(counts, now=now, params=params)
