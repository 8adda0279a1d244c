"""Event logs over a block range, read in bounded chunks.

A JSON-RPC node caps what one ``eth_getLogs`` may cover (a number of blocks, often 10,000 or
fewer, or of results): a query from the deployment block to the head works on a young chain
and fails once the chain is long enough. :func:`chunked` reads a range ``chunk`` blocks at a
time, oldest or newest first; a chunk the node refuses is halved (down to one block, whose
refusal is raised) and the smaller size kept for the chunks after it, so a node's cap needs no
configuration. :func:`event_logs`, :func:`first_log` and :func:`latest_log` are the reads the
clients need; :func:`log_chunks` hands out one event's logs a chunk at a time, for a reader that
may stop early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from web3.contract import Contract
from web3.exceptions import Web3RPCError

__all__ = ["LOG_CHUNK", "chunked", "event_logs", "first_log", "latest_log", "log_chunks"]

LOG_CHUNK = 5_000
"""Blocks per ``eth_getLogs`` to start with (halved where the node refuses)."""

# what a node's refusal of a range looks like: an error answer (web3 raises Web3RPCError; some
# providers' error paths raise ValueError)
_REFUSALS: tuple[type[Exception], ...] = (Web3RPCError, ValueError)

T = TypeVar("T")


def chunked(
    fetch: Callable[[int, int], T],
    start: int,
    stop: int,
    *,
    chunk: int = LOG_CHUNK,
    newest_first: bool = False,
) -> Iterator[T]:
    """``fetch(from_block, to_block)`` over ``start..stop`` (inclusive) in chunks of at most
    ``chunk`` blocks, in block order (``newest_first``: from ``stop`` down), one result per
    chunk. A refused chunk is split in two and read as two; a refused single block raises."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 block, got {chunk}")
    size = chunk
    split: list[tuple[int, int]] = []  # halves of refused chunks, the next to read on top
    low, high = start, stop  # the part of the range not yet handed out
    while split or low <= high:
        if split:
            frm, to = split.pop()
        elif newest_first:
            frm, to = max(low, high - size + 1), high
            high = frm - 1
        else:
            frm, to = low, min(high, low + size - 1)
            low = to + 1
        try:
            result = fetch(frm, to)
        except _REFUSALS:
            if frm == to:
                raise
            middle = (frm + to) // 2
            size = min(size, middle - frm + 1)
            halves = [(frm, middle), (middle + 1, to)]
            split += halves if newest_first else halves[::-1]
            continue
        yield result


def _head(contract: Contract) -> int:
    return int(contract.w3.eth.block_number)


def _fetch(
    contract: Contract, event: str, argument_filters: dict[str, Any] | None
) -> Callable[[int, int], list[Any]]:
    def fetch(frm: int, to: int) -> list[Any]:
        return list(
            getattr(contract.events, event)().get_logs(
                from_block=frm, to_block=to, argument_filters=argument_filters
            )
        )

    return fetch


def log_chunks(
    contract: Contract,
    event: str,
    start: int,
    stop: int | None = None,
    *,
    argument_filters: dict[str, Any] | None = None,
    chunk: int = LOG_CHUNK,
    newest_first: bool = False,
) -> Iterator[list[Any]]:
    """The ``event`` logs of ``contract`` from ``start`` to ``stop`` (the head when None), one
    list per chunk read, the chunks in chain order (``newest_first``: from ``stop`` down) and the
    logs in each in chain order."""
    stop = _head(contract) if stop is None else stop
    fetch = _fetch(contract, event, argument_filters)
    return chunked(fetch, start, stop, chunk=chunk, newest_first=newest_first)


def event_logs(
    contract: Contract,
    event: str,
    start: int,
    stop: int | None = None,
    *,
    argument_filters: dict[str, Any] | None = None,
    chunk: int = LOG_CHUNK,
) -> list[Any]:
    """Every ``event`` log of ``contract`` from ``start`` to ``stop`` (the head when None), in
    chain order."""
    chunks = log_chunks(
        contract, event, start, stop, argument_filters=argument_filters, chunk=chunk
    )
    return [log for logs in chunks for log in logs]


def first_log(
    contract: Contract,
    event: str,
    start: int,
    stop: int | None = None,
    *,
    argument_filters: dict[str, Any] | None = None,
    chunk: int = LOG_CHUNK,
) -> Any | None:
    """The oldest ``event`` log of ``contract`` between ``start`` and ``stop`` (the head when
    None), or None: read on from ``start`` and stopped at the first chunk holding one."""
    chunks = log_chunks(
        contract, event, start, stop, argument_filters=argument_filters, chunk=chunk
    )
    return next((logs[0] for logs in chunks if logs), None)


def latest_log(
    contract: Contract,
    event: str,
    start: int,
    stop: int | None = None,
    *,
    argument_filters: dict[str, Any] | None = None,
    chunk: int = LOG_CHUNK,
) -> Any | None:
    """The newest ``event`` log of ``contract`` between ``start`` and ``stop`` (the head when
    None), or None: read back from ``stop`` and stopped at the first chunk holding one."""
    chunks = log_chunks(
        contract,
        event,
        start,
        stop,
        argument_filters=argument_filters,
        chunk=chunk,
        newest_first=True,
    )
    return next((logs[-1] for logs in chunks if logs), None)
