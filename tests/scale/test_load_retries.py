"""The load bench's client retries (aigc_lab.bench._load_faults.Retries) against a fake API
whose connections drop: reads are retried a bounded number of times, a task whose answer was lost
is adopted rather than posted twice, a listing is found by its signed offer, and a trade request
whose answer was lost is found among the buyer's trades rather than sent twice."""

from __future__ import annotations

import httpx
import pytest

from aigc_lab.bench._load_faults import Retries
from services.market_client import MarketError


class FakeApi:
    """Stores what it is sent; ``cut_after`` drops the next answer after doing the work."""

    def __init__(self) -> None:
        self.tasks: list[dict] = []
        self.listings: list[dict] = []
        self.trades: list[dict] = []
        self.address = "0xBuyer"
        self.cut_before = 0  # the next N calls fail before reaching the server
        self.cut_after = 0  # the next N POSTs do their work, then lose the answer

    def _maybe_cut_before(self) -> None:
        if self.cut_before:
            self.cut_before -= 1
            raise httpx.ConnectError("connection refused")

    def _answer(self, out):
        if self.cut_after:
            self.cut_after -= 1
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return out

    def get(self, path, **params):
        self._maybe_cut_before()
        if path == "/v1/tasks":
            return {"items": list(self.tasks)}
        if path == "/v1/listings":
            return {"items": [x for x in self.listings if x["status"] == params["status"]]}
        if path == "/v1/me/trades":
            return {"items": list(self.trades)}
        raise AssertionError(path)

    def post(self, path, *, json=None):
        self._maybe_cut_before()
        if path == "/v1/tasks":
            task = {"id": f"0x{len(self.tasks):064x}", **json}
            self.tasks.append(task)
            return self._answer(task)
        if path == "/v1/listings":
            if any(x["signature"] == json["signature"] for x in self.listings):
                raise MarketError(409, "conflict", "this signed offer is already listed")
            item = {"id": len(self.listings) + 1, "status": "open", **json}
            self.listings.append(item)
            return self._answer(item)
        if path == "/v1/trades":
            trade = {"id": len(self.trades) + 1, "buyer": self.address, **json}
            self.trades.append(trade)
            return self._answer(trade)
        raise AssertionError(path)


BODY = {"prompt": "p", "seed": 1, "max_price": 10}


def fast() -> Retries:
    return Retries(tries=4, backoff_s=0)


def test_a_task_whose_answer_was_lost_is_adopted_not_posted_twice():
    api, retries = FakeApi(), fast()
    api.cut_after = 1
    task = retries.post_task(api, BODY)
    assert len(api.tasks) == 1 and task == api.tasks[0]
    assert retries.counts["post task: found, not posted again"] == 1


def test_a_task_that_never_arrived_is_posted_again_once():
    api, retries = FakeApi(), fast()
    api.cut_before = 1
    task = retries.post_task(api, BODY)
    assert len(api.tasks) == 1 and task == api.tasks[0]
    assert retries.counts["post task: posted again"] == 1


def test_another_task_with_other_terms_is_not_adopted():
    api, retries = FakeApi(), fast()
    api.tasks.append({"id": "0xold", "prompt": "p", "seed": 2, "max_price": 10})
    api.cut_before = 1
    task = retries.post_task(api, BODY)
    assert task["seed"] == 1 and len(api.tasks) == 2


def test_a_listing_whose_answer_was_lost_is_found_by_its_signature():
    api, retries = FakeApi(), fast()
    api.cut_after = 1
    body = {"token_id": "1", "price": "1", "expiry": 9, "nonce": "5", "signature": "0xab"}
    item = retries.post_listing(api, body)
    assert len(api.listings) == 1 and item["id"] == api.listings[0]["id"]
    assert retries.counts["list: found, not listed again"] == 1


def test_a_trade_request_whose_answer_was_lost_is_not_sent_twice():
    api, retries = FakeApi(), fast()
    api.trades.append(
        {"id": 1, "buyer": "0xOther", "listing_id": 7}
    )  # someone else's, same listing
    api.cut_after = 1
    trade = retries.post_trade(api, 7)
    assert len(api.trades) == 2 and trade == api.trades[1]
    assert retries.counts["trade request: found, not asked again"] == 1


def test_a_trade_request_that_never_arrived_is_asked_again_once():
    api, retries = FakeApi(), fast()
    api.cut_before = 1
    trade = retries.post_trade(api, 7)
    assert len(api.trades) == 1 and trade == api.trades[0]
    assert retries.counts["trade request: asked again"] == 1


def test_retries_are_bounded():
    api, retries = FakeApi(), fast()
    api.cut_before = 100
    with pytest.raises(httpx.ConnectError):
        retries.call("get task", lambda: api.get("/v1/tasks"))
    assert api.cut_before == 100 - 4 and retries.counts["get task"] == 3


def test_other_errors_are_not_retried():
    retries = fast()
    calls = []

    def refused():
        calls.append(1)
        raise MarketError(403, "forbidden", "no")

    with pytest.raises(MarketError):
        retries.call("get task", refused)
    assert len(calls) == 1
