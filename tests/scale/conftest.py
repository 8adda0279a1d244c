"""Scale-out fixtures: an anvil devnet with a deployment and its manifest on disk, so that
separate processes (`aigc index`, `aigc serve`) can follow one chain; databases as in the API
suite (SQLite, and PostgreSQL from ``AIGC_TEST_POSTGRES_URL``, required under CI)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import RpcChain, deploy
from ledger.devnet import start_anvil, write_pidfile
from tests.api.conftest import database_url  # noqa: F401  (the same parametrized databases)
from tests.conftest import World, require_anvil


@dataclass
class Devnet:
    world: World
    data_dir: Path

    def env(self, db_url: str, **extra: str) -> dict[str, str]:
        """The environment of a CLI process on this devnet and ``db_url``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
        return env | {
            "AIGC_CHAIN": "devnet",
            "AIGC_DATA_DIR": str(self.data_dir),
            "AIGC_DATABASE_URL": db_url,
            **extra,
        }


@pytest.fixture
def devnet(tmp_path):
    require_anvil()
    data = tmp_path / "data"
    dev = start_anvil(data / "devnet" / "state.json")
    try:
        chain = RpcChain(dev.url, dev=True)
        deployment = deploy(chain, chain.dev_accounts()[0])
        deployment.manifest.save(data / "deployments" / f"{chain.chain_id}.json")
        write_pidfile(data / "devnet" / "anvil.json", dev)
        world = World(chain, deployment, None, chain.dev_accounts())  # type: ignore[arg-type]
        yield Devnet(world, data)
    finally:
        dev.stop()
