"""Live task progress as server-sent events (issue 15: the studio watches without a polling loop).

``GET /v1/tasks/{task_id}/events`` answers ``text/event-stream``: one ``task`` event with the task
as ``GET /v1/tasks/{task_id}`` shows it, then one more each time the indexer or a party changes it,
until it reaches a final state (registered, refunded, fraud_proven, refused) or the stream's
lifetime ends (the client reconnects; the first event always carries the current state). The server
reads the task's row from the database, the one place every replica and the indexer share; the
browser holds one open request instead of asking again and again. Who may listen is checked once,
up front, exactly as for the task itself (its producer and its ESP). One signed-in address holds at
most ``max_streams_per_account`` streams open at once in a process (429 ``rate_limited`` beyond):
each costs a database read twice a second for ten minutes, and without a bound one account opened
streams until the server's connections ran out. Addresses are free and tasks free to post, so the
process holds at most ``max_streams_per_process`` streams of all accounts together, too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from marketplace_api.deps import CurrentAccount, SessionDep, SettingsDep
from marketplace_api.errors import RateLimited, declare
from marketplace_api.routers.tasks import PromptReleaseDep, TaskId, load_task, task_json
from marketplace_api.schemas import TaskOut
from services.generation import TaskState

router = APIRouter(prefix="/v1", tags=["tasks"], responses=declare())

FINAL = frozenset(
    {TaskState.REGISTERED, TaskState.REFUNDED, TaskState.FRAUD_PROVEN, TaskState.REFUSED}
)
CHECK_S = 0.5  # how often the server looks at the row (server side, one cheap primary-key read)
KEEPALIVE_S = 15.0  # a comment line now and then keeps proxies from closing an idle stream
LIFETIME_S = 600.0  # then the stream ends and the client reconnects


def _frame(body: str) -> bytes:
    return f"event: task\ndata: {body}\n\n".encode()


class StreamSlots:
    """The event streams each account holds open in this process (one event loop: no lock)."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}
        self.total = 0

    def take(self, account: str, limit: int, *, total: int | None = None) -> None:
        """Counts a new stream of ``account``; :class:`RateLimited` when it holds ``limit``, or
        when the process holds ``total`` streams of all accounts together."""
        held = self._open.get(account, 0)
        if held >= limit:
            raise RateLimited(
                f"{account} already holds {held} open task event streams (at most {limit}): "
                "close one, or poll GET /v1/tasks/{id}",
                retry_after_s=KEEPALIVE_S,
            )
        if total is not None and self.total >= total:
            raise RateLimited(
                f"this server holds {self.total} open task event streams (at most {total}): "
                "poll GET /v1/tasks/{id}, or retry later",
                retry_after_s=KEEPALIVE_S,
            )
        self._open[account] = held + 1
        self.total += 1

    def give_back(self, account: str) -> None:
        if account in self._open:
            self.total -= 1
        held = self._open.get(account, 0) - 1
        if held > 0:
            self._open[account] = held
        else:
            self._open.pop(account, None)

    def held(self, account: str) -> int:
        return self._open.get(account, 0)


def _slots(request: Request) -> StreamSlots:
    state = request.app.state
    if not hasattr(state, "stream_slots"):
        state.stream_slots = StreamSlots()
    slots: StreamSlots = state.stream_slots
    return slots


@router.get(
    "/tasks/{task_id}/events",
    response_class=StreamingResponse,
    responses={
        **declare(401, 403, 404, 429),
        200: {
            "description": "`event: task` frames; each `data` is the task as GET returns it",
            "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/TaskOut"}}},
        },
    },
)
async def task_events(
    task_id: TaskId,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    release: PromptReleaseDep,
) -> StreamingResponse:
    """The task's state now and at every change (its producer and ESP only; at most
    `AIGC_MAX_STREAMS_PER_ACCOUNT` open streams per address and `AIGC_MAX_STREAMS_PER_PROCESS`
    in all, 429 beyond)."""
    first = task_json(load_task(session, task_id, account), account, release)
    sessions = request.app.state.sessions
    slots = _slots(request)
    slots.take(account, settings.max_streams_per_account, total=settings.max_streams_per_process)
    held = [True]

    def give_back() -> None:  # once: from the stream's end, or after a response never streamed
        if held:
            held.clear()
            slots.give_back(account)

    def current() -> TaskOut:
        with sessions() as s:
            return task_json(load_task(s, task_id, account), account, release)

    async def stream() -> AsyncIterator[bytes]:
        try:
            task, last = first, first.model_dump_json()
            yield _frame(last)
            waited = quiet = 0.0
            while task.status not in FINAL and waited < LIFETIME_S:
                await asyncio.sleep(CHECK_S)
                waited += CHECK_S
                quiet += CHECK_S
                if await request.is_disconnected():
                    return
                task = await asyncio.to_thread(current)
                now = task.model_dump_json()
                if now != last:
                    last, quiet = now, 0.0
                    yield _frame(last)
                elif quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield b": keep-alive\n\n"
        finally:  # ended, disconnected or cancelled: the slot is free again
            give_back()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers=headers,
        background=BackgroundTask(give_back),  # a client gone before the first frame
    )
