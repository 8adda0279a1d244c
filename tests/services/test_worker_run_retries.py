"""`EspWorker.run` outlives its API: a round that cannot reach it (httpx's TransportError: the
API restarting, or not up yet when both start together) is retried next round; before, the
ConnectError ended the worker thread (the demo's and any embedding process's)."""

from __future__ import annotations

import threading

import httpx

from services.esp_worker import EspWorker


def test_a_round_that_cannot_reach_the_api_is_retried(monkeypatch):
    worker = EspWorker.__new__(EspWorker)
    stop = threading.Event()
    calls: list[int] = []

    def step() -> list[str]:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused")
        stop.set()
        return []

    monkeypatch.setattr(worker, "step", step)
    worker.run(stop, interval=0)
    assert len(calls) == 3
