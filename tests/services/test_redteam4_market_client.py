"""Red team 4: an API that answers deeply nested JSON cannot crash its clients.

The ESP worker, the defender and the committee jurors read the marketplace API through
``services.market_client.MarketClient``; a juror reads generation openings from an API it does
not trust. The client parsed answers with the standard library's JSON parser, and the processes
that import py-evm or py_ecc (the ledger does) run with Python's recursion limit raised to
100,000: an answer of 200,000 nested ``[`` overflowed the stack and killed the process (a
segfault: pytest exited 139 on this file before the fix). Now answers are parsed by
pydantic-core, which bounds nesting: such an answer raises ``ValueError`` like any other
answer that is not JSON, which the callers already treat as a failed read.
"""

from __future__ import annotations

import sys

import httpx
import pytest
from eth_account import Account

import ledger  # noqa: F401  (what the worker, defender and jurors import)
from services.market_client import MarketClient

DEEP = b"[" * 200_000 + b"]" * 200_000


def _client(status: int) -> MarketClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=DEEP, headers={"content-type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://api")
    return MarketClient(http, Account.create())


def test_the_clients_run_with_the_raised_recursion_limit():
    import eth  # noqa: F401

    assert sys.getrecursionlimit() >= 100_000


@pytest.mark.parametrize("status", [200, 500])
def test_a_deeply_nested_answer_is_a_failed_read_not_a_crash(status):
    client = _client(status)
    with pytest.raises(Exception) as caught:  # crashed the process before
        client._call("GET", "/v1/products/1/generation", auth=False)
    assert isinstance(caught.value, ValueError) or "500" in str(caught.value)


def test_ordinary_answers_still_parse():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": 2**80, "x": [1.5, None, True]}]})

    http = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://api")
    client = MarketClient(http, Account.create())
    assert client._call("GET", "/v1/x", auth=False) == {
        "items": [{"id": 2**80, "x": [1.5, None, True]}]
    }
