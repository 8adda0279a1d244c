"""The servers under test and the load client of ``aigc bench api``."""

from __future__ import annotations

import json
import multiprocessing
import socket
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, BinaryIO, cast

import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from aigc_lab.bench._report import TIMEOUT_S, ApiBenchError, ServerMode, Throughput


def bare_app(document: dict[str, Any]) -> Starlette:
    """The baseline: one route answering ``document`` as a ``JSONResponse`` (encoded per call)."""

    async def endpoint(_: Request) -> JSONResponse:
        return JSONResponse(document)

    return Starlette(routes=[Route("/doc", endpoint)])


def _run_server(server: uvicorn.Server, sock: socket.socket, app: Any) -> None:
    engine = getattr(getattr(app, "state", None), "engine", None)
    if isinstance(engine, Engine):
        engine.dispose(close=False)  # a forked child must not share the parent's connections
    server.run(sockets=[sock])


@contextmanager
def serving(app: ASGIApp, *, mode: ServerMode = "process") -> Iterator[int]:
    """Serves ``app`` with uvicorn on a free 127.0.0.1 port (yielded) until the block ends."""
    # proto IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections, as for a server
    # uvicorn binds itself (with proto 0, Nagle + delayed ACKs cap each connection at ~25 req/s)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections queue until the server accepts: no start-up race
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    args = (server, sock, app)
    if mode == "process" and "fork" not in multiprocessing.get_all_start_methods():
        sock.close()
        raise ApiBenchError("this platform cannot fork: serve in a thread (--server thread)")
    if mode == "process":
        worker: Any = multiprocessing.get_context("fork").Process(
            target=_run_server, args=args, daemon=True
        )
    else:
        worker = threading.Thread(target=_run_server, args=args, daemon=True)
    worker.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        if mode == "process":
            worker.terminate()  # SIGTERM: uvicorn shuts down gracefully
        server.should_exit = True
        worker.join(TIMEOUT_S)
        if mode == "process" and worker.is_alive():
            worker.kill()
            worker.join()
        sock.close()


# -- client --------------------------------------------------------------------------------------
def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")


def _response(reader: BinaryIO) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 response with a Content-Length (what uvicorn sends)."""
    status_line = reader.readline()
    if not status_line:
        raise ApiBenchError("the server closed the connection")
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status_line.split()[1]), reader.read(length)


def get_json(port: int, path: str) -> Any:
    """One GET on a fresh connection; the JSON body of a 200, else :class:`ApiBenchError`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
            sock.sendall(_request(path))
            status, body = _response(cast(BinaryIO, sock.makefile("rb")))
        if status != 200:
            raise ApiBenchError(f"GET {path} answered {status}: {body[:200]!r}")
        return json.loads(body)
    except (OSError, ValueError) as exc:
        raise ApiBenchError(f"GET {path} failed: {exc}") from None


def _client(
    port: int, wires: Sequence[bytes], offset: int, count: int, start: threading.Barrier,
    latencies: list[float], failures: list[str],
) -> None:  # fmt: skip
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = cast(BinaryIO, sock.makefile("rb"))
            start.wait(TIMEOUT_S)
            for i in range(count):
                began = time.perf_counter()
                sock.sendall(wires[(offset + i) % len(wires)])
                status, body = _response(reader)
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    raise ApiBenchError(f"answer {status}: {body[:200]!r}")
    except (OSError, ValueError, threading.BrokenBarrierError, ApiBenchError) as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
        start.abort()


def hammer(
    port: int, paths: Sequence[str], *, target: str, requests: int, concurrency: int
) -> Throughput:
    """``requests`` GETs over ``paths`` (round robin) from ``concurrency`` keep-alive clients."""
    if requests < concurrency or concurrency < 1 or not paths:
        raise ApiBenchError("need concurrency >= 1, requests >= concurrency and at least one path")
    wires = [_request(p) for p in paths]
    start = threading.Barrier(concurrency + 1)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures: list[str] = []
    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    clients = [
        threading.Thread(
            target=_client,
            args=(port, wires, i * len(wires) // concurrency, n, start, latencies[i], failures),
            daemon=True,
        )
        for i, n in enumerate(shares)
    ]
    for c in clients:
        c.start()
    with suppress(threading.BrokenBarrierError):
        start.wait(TIMEOUT_S)
    began = time.perf_counter()
    for c in clients:
        c.join()
    seconds = time.perf_counter() - began
    if failures:
        raise ApiBenchError(f"{target}: {len(failures)} client(s) failed, first: {failures[0]}")
    times = sorted(t for ts in latencies for t in ts)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return Throughput(target, requests, seconds, statistics.median(times) * 1e3, p99 * 1e3)
