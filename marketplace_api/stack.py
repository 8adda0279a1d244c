"""The composition root: opens the stack the marketplace runs on, chain -> deployment -> database
-> app, for ``aigc serve`` (and each of its replicas), the demo and the API benchmark.

They differ only in which chain (:data:`ChainKind`) and which settings; the order of the steps,
who deploys, when the schema is created or migrated, and what is stopped on the way out are here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import FastAPI

from ledger import Chain, Deployment, DeployParams, EmbeddedChain, RpcChain, deploy
from ledger.config import LedgerSettings
from ledger.connect import connect_deployment
from ledger.devnet import DevnetProcess, start_anvil
from ledger.errors import ChainError
from marketplace_api.config import ApiSettings, load_settings
from marketplace_api.main import create_app
from marketplace_api.migrate import upgrade

ChainKind = Literal["configured", "embedded", "anvil", "auto"]
"""``configured``: the chain ``AIGC_CHAIN`` names, with the deployment its manifest records;
``embedded``: a new py-evm chain in this process; ``anvil``: a new anvil started (and stopped)
here; ``auto``: anvil, else embedded (saying so). Every new chain gets the contracts deployed by
its first dev account."""

Schema = Literal["create", "migrate", "existing"]
"""How the database gets its tables: created directly (tests, the demo, benchmarks), migrated
with Alembic (a long-lived database), or already there (a replica: its parent migrated it)."""


@dataclass(frozen=True)
class OpenChain:
    """A deployment to serve, and the anvil started for it (stopped when the stack closes)."""

    deployment: Deployment
    devnet: DevnetProcess | None = None

    @property
    def chain(self) -> Chain:
        return self.deployment.chain


@contextlib.contextmanager
def open_chain(
    kind: ChainKind,
    *,
    settings: LedgerSettings | None = None,
    params: DeployParams | None = None,
    anvil_state: Path | None = None,
    anvil_state_interval: int = 2,
    say: Callable[[str], None] = print,
) -> Iterator[OpenChain]:
    """The chain and deployment of ``kind`` (:data:`ChainKind`); ``params`` for a new
    deployment, ``anvil_state`` the state file of an anvil started here."""
    if kind == "configured":
        yield OpenChain(connect_deployment(settings or LedgerSettings()))
        return
    dev: DevnetProcess | None = None
    if kind in ("anvil", "auto"):
        if anvil_state is None:
            raise ValueError("anvil_state: an anvil started here needs a state file")
        try:
            dev = start_anvil(anvil_state, state_interval=anvil_state_interval)
        except ChainError as exc:
            if kind == "anvil":
                raise
            say(f"anvil cannot run here ({exc}); using the embedded py-evm chain instead")
    try:
        chain: Chain = RpcChain(dev.url, dev=True) if dev is not None else EmbeddedChain()
        yield OpenChain(deploy(chain, chain.dev_accounts()[0], params), dev)
    finally:
        if dev is not None:
            dev.stop()


def open_app(
    settings: ApiSettings, deployment: Deployment, *, schema: Schema = "create"
) -> FastAPI:
    """The API app on ``deployment`` and the database of ``settings`` (:data:`Schema`)."""
    if schema == "migrate":
        upgrade(settings.database_url)
    return create_app(settings, deployment, create_schema=schema == "create")


def served_at(settings: ApiSettings, *, host: str, port: int) -> ApiSettings:
    """``settings`` for a server at ``host:port``: sign-in messages name that address unless
    ``AIGC_SIWE_DOMAIN`` / ``AIGC_SIWE_URI`` were configured (environment or ``.env``)."""
    derived = {"siwe_domain": f"{host}:{port}", "siwe_uri": f"http://{host}:{port}"}
    update = {k: v for k, v in derived.items() if k not in settings.model_fields_set}
    return settings.model_copy(update=update)


def app_from_environment() -> FastAPI:
    """The app of one replica of ``aigc serve --workers N``: the settings from the environment
    and ``.env`` (the parent put what it derived in the replicas' environment), the configured
    chain's deployment, the database already migrated by the parent."""
    settings = load_settings()
    with open_chain("configured", settings=settings.ledger) as opened:
        return open_app(settings.api, opened.deployment, schema="existing")
