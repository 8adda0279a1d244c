"""An ESP worker whose delivery upload lands but whose answer is lost (the replica serving it is
killed under the request): the next round claims the fee, and only for the delivery it sealed.

Before the fix the worker recorded ``delivered`` only after the answer, so it never claimed: the
producer's fee stayed locked until the deadline and the lifecycle was lost."""

from __future__ import annotations

import httpx
import pytest

from ledger import LockStatus
from tests.api.conftest import api  # noqa: F401  (the in-process API on the parametrized databases)
from tests.api.test_generation_flow import parties  # noqa: F401


def _lost_answer(worker, monkeypatch):
    """The next delivery POST reaches the API, then the connection drops before the answer."""
    post = worker.client.post

    def cut(path, **kwargs):
        out = post(path, **kwargs)
        if path.endswith("/delivery"):
            monkeypatch.setattr(worker.client, "post", post)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return out

    monkeypatch.setattr(worker.client, "post", cut)


def _locked(api, worker, producer):  # noqa: F811
    task = producer.post("a lost answer", seed=3, max_price=10**15)
    worker.step()
    lock = producer.lock_fee(producer.task(task["id"]))
    api.index()
    return task, lock


def test_a_lost_delivery_answer_still_ends_in_a_claim(api, parties, monkeypatch):  # noqa: F811
    worker, producer = parties
    task, lock = _locked(api, worker, producer)
    _lost_answer(worker, monkeypatch)
    with pytest.raises(httpx.RemoteProtocolError):
        worker.step()
    assert producer.task(task["id"])["status"] == "delivered"  # the upload landed
    assert worker.step() == [f"claimed {task['id'][:10]}"]
    assert worker.htlc.status(lock) is LockStatus.WITHDRAWN


def test_a_delivery_it_did_not_seal_is_never_claimed(api, parties, monkeypatch):  # noqa: F811
    """Attack: the API (or another holder of the ESP's session) shows a delivery other than the
    one this worker sent; the worker must not reveal its secret for it."""
    worker, producer = parties
    task, lock = _locked(api, worker, producer)
    _lost_answer(worker, monkeypatch)
    with pytest.raises(httpx.RemoteProtocolError):
        worker.step()
    worker.state.tasks[task["id"]]["content_hash"] = "0x" + "ab" * 32  # not what the API holds
    assert worker.step() == []
    assert worker.htlc.status(lock) is LockStatus.OPEN
