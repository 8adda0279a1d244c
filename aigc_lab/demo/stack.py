"""What the demo runs on: a chain (anvil devnet, else embedded), the contracts, the API server
(opened by the composition root, :mod:`marketplace_api.stack`).

The API is a real uvicorn server on a loopback port in a thread; everyone talks to it over HTTP.
Its indexer is polled by the story between steps (``Stack.sync``) instead of a background thread,
so the run is deterministic and the embedded chain (not thread-safe) works too.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from ledger import Chain, Deployment, DeployParams
from ledger.deploy import public_url
from ledger.devnet import DevnetProcess, free_port
from ledger.errors import ChainError
from marketplace_api.config import ApiSettings
from marketplace_api.stack import ChainKind, open_app, open_chain

# Production defaults give the accused a week (50,400 blocks) to contest and hold a revocation's
# bond two weeks and a day (two windows, two blocks and a committee review's phases + 3); the demo
# plays the same rules with a few blocks each.
DEMO_PARAMS = DeployParams(
    dispute_window_blocks=5,
    review_commit_blocks=8,
    review_reveal_blocks=8,
    reward_hold_blocks=31,  # 2 x 5 + 2 + 8 + 8 + 3
)


@dataclass
class Stack:
    chain: Chain
    deployment: Deployment
    app: FastAPI
    http: httpx.Client
    workdir: Path
    devnet: DevnetProcess | None

    def sync(self) -> int:
        """Lets the API's indexer catch up with the chain; returns the events ingested."""
        return int(self.app.state.market.poll())


@contextlib.contextmanager
def start_stack(kind: str, workdir: Path, *, say: Callable[[str], None] = print) -> Iterator[Stack]:
    """``kind``: ``auto`` (anvil, else embedded, saying so), ``anvil`` or ``embedded``."""
    workdir.mkdir(parents=True, exist_ok=True)
    chain_kind: ChainKind = (
        "anvil" if kind == "anvil" else "embedded" if kind == "embedded" else "auto"
    )
    port = free_port()
    # The demo's windows are blocks, not days, so its challenge settles within the run;
    # tokenURI and contractURI point at this run's API, so the tokens resolve.
    served = DEMO_PARAMS.served_at(public_url(f"http://127.0.0.1:{port}"))
    with open_chain(
        chain_kind, params=served, anvil_state=workdir / "anvil-state.json", say=say
    ) as opened:
        settings = ApiSettings(
            database_url=f"sqlite:///{workdir / 'marketplace.db'}",
            blob_dir=workdir / "blobs",
            siwe_domain=f"127.0.0.1:{port}",
            siwe_uri=f"http://127.0.0.1:{port}",
            indexer_interval_s=0,
            rate_nonce_per_minute=10_000,
            rate_upload_per_minute=10_000,
            rate_tasks_per_minute=10_000,
        )
        app = open_app(settings, opened.deployment)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="api", daemon=True)
        thread.start()
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        _wait_ready(http)
        try:
            yield Stack(opened.chain, opened.deployment, app, http, workdir, opened.devnet)
        finally:
            http.close()
            server.should_exit = True
            thread.join(timeout=10)


def _wait_ready(http: httpx.Client, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if http.get("/healthz").status_code == 200:
                return
        time.sleep(0.05)
    raise ChainError("the API server did not start")
