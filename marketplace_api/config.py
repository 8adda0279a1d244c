"""Settings: the API's own (:class:`ApiSettings`), and :class:`Settings`, which composes the
ledger's, the API's and the generators' from one environment and one ``.env`` (prefix ``AIGC_``).

Each package keeps its own settings class (a package reads only what it owns); the processes that
run the whole product (``aigc serve``, its replicas, the demo, the benchmarks) load
:func:`load_settings` once and hand each part its own.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from generators.settings import GeneratorSettings
from ledger.config import LedgerSettings
from marketplace_api.proxies import parse_trusted_proxies


class ApiSettings(BaseSettings):
    """Every setting has a working default for a local run; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="AIGC_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///.aigc/marketplace.db"
    # Connections per process (SQLAlchemy's own defaults, 5 + 10): replicas x (pool + overflow)
    # plus the indexer must stay under the server's max_connections (PostgreSQL's default is
    # 100; a connection refused there would be a 500), so a bigger pool is a deployment choice.
    # A request that waits longer than db_pool_timeout_s for a connection (uvicorn runs up to
    # 40 request threads) is answered 503 `database_busy` with Retry-After.
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    blob_dir: Path = Path(".aigc/blobs")
    # Where images and sealed deliveries live: a local folder (blob_dir), or the database, which
    # every replica on it reads (`db`).
    blob_store: Literal["dir", "db"] = "dir"
    # Sign-In with Ethereum: what a message must name to be accepted.
    siwe_domain: str = "localhost:8000"
    siwe_uri: str = "http://localhost:8000"
    # Signs bearer tokens; unset: a secret created once in the database, shared by all replicas.
    token_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_hex(32)))
    token_ttl_s: int = 900
    nonce_ttl_s: int = 300
    max_upload_bytes: int = 4 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    rate_nonce_per_minute: int = 30
    rate_upload_per_minute: int = 60
    rate_tasks_per_minute: int = 30
    # Per signed-in address: offers listed (POST /v1/listings) and trade requests (POST
    # /v1/trades); each write also costs chain reads (ownership, disputes, the holds).
    rate_listings_per_minute: int = 30
    # Per signed-in address: POST /v1/tx/relay; each relayed transaction is first simulated on
    # the node (an eth_call with the gas its signer chose, up to the block's limit).
    rate_relay_per_minute: int = 60
    rate_trades_per_minute: int = 30
    # Per signed-in address: batch attestation requests (POST /v1/batch-requests); each is
    # stored, answered or not, and costs the ESP's worker a look at its records.
    rate_batch_requests_per_minute: int = 10
    # PUT /v1/products/{id}/generation regenerates the image (about 0.5 s of CPU) to check an
    # opening: per product and hour, its parties (producer, owner, ESP; signed in) may make
    # regenerations_per_token_hour, everyone else together regenerations_per_token_hour_others
    # and, across all products, regenerations_per_hour_others; at most max_concurrent_regenerations
    # run at once in a process. A refused opening sent again costs none (remembered).
    regenerations_per_token_hour: int = 12
    regenerations_per_token_hour_others: int = 3
    regenerations_per_hour_others: int = 60
    max_concurrent_regenerations: int = Field(default=2, ge=1)
    # Task event streams (GET /v1/tasks/{id}/events) one signed-in address may hold open at once
    # in one process: each reads the database twice a second for up to ten minutes.
    max_streams_per_account: int = Field(default=32, ge=1)
    # ... and of all accounts together (addresses are free: 30 sign-ins a minute per IP, each
    # with 32 streams, made 960 more streams, 1,920 reads a second, every minute).
    max_streams_per_process: int = Field(default=256, ge=1)
    # > 0: this process indexes every this many seconds, when it holds the single-indexer lock
    # (`aigc serve --index`; `aigc index` is the separate process). 0: it does not index.
    indexer_interval_s: float = 0.0
    # A process that does not index re-reads the indexer's writes this often (0: never).
    follow_interval_s: float = 1.0
    confirmations: int = 0
    # The ESP reads a task's prompt only once its fee lock is this many blocks deep in what the
    # indexer has seen (its checkpoint minus the lock's block): a reorg that takes the lock back
    # must not leave the ESP with a prompt nobody paid for. Unset: 0 on a local dev chain (the
    # embedded chain, chain id 31337 or 1337: anvil, hardhat, ganache), where no block comes
    # without a transaction so any depth would stall every generation; 2 on any other chain.
    prompt_release_depth: int | None = Field(default=None, ge=0)
    # Browser origins allowed cross-origin (comma-separated, "*" for any); none: same-origin only.
    cors_origins: str = ""
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR
    # networks); the client is the rightmost address there that is no trusted proxy
    # (marketplace_api.proxies). Empty (the default): the header is ignored, every client is its
    # TCP peer.
    trusted_proxies: str = ""
    # The API's public base URL (AIGC_PUBLIC_URL), for the absolute URLs in token metadata (image,
    # external_url) and the Registry's deployed tokenURI base; empty: the request's own base URL.
    public_url: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        parse_trusted_proxies(value)  # a typo must not silently trust nobody (or everybody)
        return value


DEV_CHAIN_IDS = frozenset({31337, 1337})
"""Chain ids of local automining dev chains (anvil, hardhat, ganache/geth --dev)."""
DEV_PROMPT_RELEASE_DEPTH = 0
PROMPT_RELEASE_DEPTH = 2


def prompt_release_depth(settings: ApiSettings, *, chain_id: int, embedded: bool) -> int:
    """``settings.prompt_release_depth`` when set; else 0 on a local dev chain (``embedded``, or
    a chain id in :data:`DEV_CHAIN_IDS`) and :data:`PROMPT_RELEASE_DEPTH` on any other."""
    if settings.prompt_release_depth is not None:
        return settings.prompt_release_depth
    if embedded or chain_id in DEV_CHAIN_IDS:
        return DEV_PROMPT_RELEASE_DEPTH
    return PROMPT_RELEASE_DEPTH


@lru_cache
def get_settings() -> ApiSettings:
    """The process-wide settings (tests override through FastAPI's dependency overrides)."""
    return ApiSettings()


class Settings(BaseModel):
    """Every setting of the product, from one environment and one ``.env``."""

    model_config = ConfigDict(frozen=True)

    ledger: LedgerSettings
    api: ApiSettings
    generator: GeneratorSettings

    def configured(self, name: str) -> bool:
        """Whether the API setting ``name`` was set by the environment or ``.env`` (or by the
        caller), rather than left at its default: what a process may derive stays unset."""
        return name in self.api.model_fields_set


def load_settings(env_file: Path | str | None = ".env") -> Settings:
    """Reads the ledger's, the API's and the generators' settings from the process environment
    and ``env_file`` (relative to the working directory; ``None``: the environment only)."""
    return Settings(
        ledger=LedgerSettings(_env_file=env_file),  # type: ignore[call-arg]
        api=ApiSettings(_env_file=env_file),  # type: ignore[call-arg]
        generator=GeneratorSettings(_env_file=env_file),  # type: ignore[call-arg]
    )
