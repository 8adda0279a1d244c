"""A node that is down makes every indexer round fail the same way: the log gets the traceback
once, then one line at the 2nd, 4th, 8th... failure in a row, and a line when rounds succeed
again (before: a ~60-line traceback every round, every 2 s, for as long as the node was down)."""

from __future__ import annotations

import logging
import threading

from marketplace_api.indexing import ChainFollower


class _Flaky(ChainFollower):
    def __init__(self, outcomes: list[Exception | None], stop: threading.Event):
        self.outcomes, self.stop_event, self.lock, self.leading = outcomes, stop, None, False

    def step(self):  # type: ignore[override]
        outcome = self.outcomes.pop(0)
        if not self.outcomes:
            self.stop_event.set()
        if outcome is not None:
            raise outcome

    def close(self) -> None:
        pass


def test_a_repeated_failure_is_logged_once_with_its_traceback(caplog):
    down = ConnectionError("node refused")
    stop = threading.Event()
    follower = _Flaky([down] * 9 + [None, ValueError("other")], stop)
    with caplog.at_level(logging.WARNING, logger="aigc.indexer"):
        follower.run(stop, interval=0)
    records = [r for r in caplog.records if r.name == "aigc.indexer"]
    with_traceback = [r for r in records if r.exc_info]
    assert len(with_traceback) == 2  # the first of the streak, and the new failure after it
    lines = [r.getMessage() for r in records if not r.exc_info]
    assert lines == [
        "indexer round failed 2 times in a row: ConnectionError: node refused",
        "indexer round failed 4 times in a row: ConnectionError: node refused",
        "indexer round failed 8 times in a row: ConnectionError: node refused",
        "indexer rounds succeed again after 9 failures",
    ]
