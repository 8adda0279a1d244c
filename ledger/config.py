"""Ledger settings (environment variables with the ``AIGC_`` prefix, or a ``.env`` file).

| setting            | env                  | default                     |
|--------------------|----------------------|-----------------------------|
| chain              | AIGC_CHAIN           | ``embedded`` (or ``devnet``, ``rpc``) |
| rpc_url            | AIGC_RPC_URL         | none (required for ``rpc``) |
| data_dir           | AIGC_DATA_DIR        | ``.aigc``                   |
| devnet_port        | AIGC_DEVNET_PORT     | 8545                        |
| manifest           | AIGC_MANIFEST        | ``<data_dir>/deployments/<chain id>.json`` |
| keystore_dir       | AIGC_KEYSTORE_DIR    | ``<data_dir>/keystore``     |
| anvil              | AIGC_ANVIL           | the npm-pinned binary, else ``anvil`` on PATH |
| artifacts_dir      | AIGC_ARTIFACTS_DIR   | ``contracts/artifacts``     |
| public_url         | AIGC_PUBLIC_URL      | none: the caller's (``aigc serve``'s address) |

The API's and the generators' settings read the same environment and the same ``.env``;
``marketplace_api.config.load_settings`` composes all three.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class LedgerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIGC_", env_file=".env", extra="ignore")

    chain: Literal["embedded", "devnet", "rpc"] = "embedded"
    rpc_url: str | None = None
    data_dir: Path = Path(".aigc")
    devnet_port: int = 8545
    manifest: Path | None = None
    keystore_dir: Path | None = None
    anvil: Path | None = None
    artifacts_dir: Path | None = None
    # Where the marketplace API is reached: a deployment points tokenURI and contractURI there.
    public_url: str = ""

    @property
    def devnet_dir(self) -> Path:
        return self.data_dir / "devnet"

    @property
    def devnet_pidfile(self) -> Path:
        return self.devnet_dir / "anvil.json"

    @property
    def devnet_state(self) -> Path:
        return self.devnet_dir / "state.json"

    def manifest_path(self, chain_id: int) -> Path:
        return self.manifest or self.data_dir / "deployments" / f"{chain_id}.json"

    @property
    def keystores(self) -> Path:
        return self.keystore_dir or self.data_dir / "keystore"


@lru_cache
def get_settings() -> LedgerSettings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env)."""
    return LedgerSettings()
