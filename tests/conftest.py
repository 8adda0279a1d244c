"""Shared fixtures: chain backends (parametrized: embedded py-evm and anvil), a deployment per
backend at session scope, and a snapshot/revert around each test so tests stay isolated and fast.

A test that takes the ``chain`` fixture runs on one backend (anvil, else embedded where anvil is
not installed), on both when marked ``both_chains`` (see ``pytest_generate_tests``). Anvil comes
from the pinned npm package; CI=true requires it (``require_anvil``).

``api_database_url`` gives the API tests an empty database of each kind without building the
schema per test (tests/api/_databases.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger import (
    Chain,
    Deployment,
    DeployParams,
    EmbeddedChain,
    EspRegistryClient,
    HtlcClient,
    RegistryClient,
    RpcChain,
    Transactor,
    deploy,
)
from ledger.errors import ChainError

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_anvil() -> None:
    """Returns if anvil is installed; else skips the test, or fails it under CI=true (where a
    missing tool must not pass as a skip). Every anvil test and fixture asks here."""
    from ledger.devnet import anvil_binary

    try:
        anvil_binary()
    except ChainError as exc:
        if IN_CI:
            pytest.fail(f"anvil is required in CI: {exc}")
        pytest.skip(str(exc))


def _start_anvil(tmp_path_factory: pytest.TempPathFactory):
    from ledger.devnet import start_anvil

    require_anvil()
    state = tmp_path_factory.mktemp("anvil") / "state.json"
    return start_anvil(state)


def _anvil_installed() -> bool:
    from ledger.devnet import anvil_binary

    try:
        anvil_binary()
    except ChainError:
        return False
    return True


# The backend of a test that takes ``chain`` and asks for no other: anvil (the real EVM behind
# the JSON-RPC interface every deployment talks to), required in CI; where it is not installed,
# the embedded chain, so a checkout without npm still runs every contract test.
DEFAULT_BACKEND = "anvil" if IN_CI or _anvil_installed() else "embedded"
BACKENDS = ("embedded", "anvil")


def _backend_param(name: str) -> Any:
    return pytest.param(name, marks=pytest.mark.anvil) if name == "anvil" else name


def _parametrizes(metafunc: pytest.Metafunc, argname: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if argname in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes ``chain`` (or ``world``) runs on one backend, DEFAULT_BACKEND: the
    contracts and the Python clients are the same on both, and py-evm costs about twice anvil's
    time per transaction. Tests marked ``both_chains`` run on each backend (where the backend
    is what is checked: gas agreement, revert decoding, log reading); a test that parametrizes
    ``chain`` itself keeps its own choice."""
    if "chain" not in metafunc.fixturenames or _parametrizes(metafunc, "chain"):
        return
    names = (
        BACKENDS if metafunc.definition.get_closest_marker("both_chains") else (DEFAULT_BACKEND,)
    )
    metafunc.parametrize(
        "chain", [_backend_param(n) for n in names], indirect=True, scope="session"
    )


@pytest.fixture(scope="session")
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chain]:
    if request.param == "embedded":
        c: Chain = EmbeddedChain()
        yield c
        return
    dev = _start_anvil(tmp_path_factory)
    try:
        yield RpcChain(dev.url, dev=True)
    finally:
        dev.stop()


@pytest.fixture(scope="session")
def embedded_chain() -> Chain:
    """One embedded chain for tests that need no backend parametrization (Hypothesis, ledger)."""
    return EmbeddedChain()


@dataclass
class World:
    """A deployment plus named dev accounts and per-account clients."""

    chain: Chain
    deployment: Deployment
    params: DeployParams
    accounts: list[LocalAccount]
    _tx: dict[str, Transactor] = field(default_factory=dict)

    @property
    def deployer(self) -> LocalAccount:
        return self.accounts[0]

    @property
    def producer(self) -> LocalAccount:
        return self.accounts[1]

    @property
    def esp(self) -> LocalAccount:
        return self.accounts[2]

    @property
    def buyer(self) -> LocalAccount:
        return self.accounts[3]

    @property
    def attacker(self) -> LocalAccount:
        return self.accounts[4]

    def tx(self, account: LocalAccount) -> Transactor:
        key = account.address
        if key not in self._tx:
            self._tx[key] = Transactor(self.chain, account)
        return self._tx[key]

    def htlc(self, account: LocalAccount) -> HtlcClient:
        return HtlcClient(self.deployment, self.tx(account))

    def esps(self, account: LocalAccount) -> EspRegistryClient:
        return EspRegistryClient(self.deployment, self.tx(account))

    def registry(self, account: LocalAccount) -> RegistryClient:
        return RegistryClient(self.deployment, self.tx(account))

    def deploy_test_contract(self, name: str, *args) -> str:
        from ledger.deploy import deploy_contract

        address, _ = deploy_contract(self.tx(self.deployer), name, *args)
        return address

    def contract(self, name: str, address: str):
        from ledger import artifacts

        return self.chain.w3.eth.contract(address=address, abi=artifacts.abi(name))

    def balance(self, address: str) -> int:
        return int(self.chain.w3.eth.get_balance(address))


TEST_PARAMS = DeployParams(
    esp_unbonding_period=3600,
    commit_ttl_blocks=8,
    registration_window_blocks=40,
    dispute_window_blocks=10,
    # Review phases of 8 blocks (the product's are 3,600), so that the least hold the Registry
    # accepts (2 x dispute window + 2 + the review's phases + 3) mines few blocks.
    review_commit_blocks=8,
    review_reveal_blocks=8,
    reward_hold_blocks=41,  # 2 x dispute window + 2 + 8 + 8 + 3, the least the contracts accept
)


def _make_world(chain: Chain) -> World:
    accounts = chain.dev_accounts()
    return World(chain, deploy(chain, accounts[0], TEST_PARAMS), TEST_PARAMS, accounts)


@pytest.fixture(scope="session")
def _world_cache() -> dict[int, World]:
    return {}


def _isolated(chain: Chain, cache: dict[int, World]) -> Iterator[World]:
    """The chain's deployment (made once), with the chain reverted to clean after the test."""
    w = cache.get(id(chain))
    if w is None:
        w = cache[id(chain)] = _make_world(chain)
    snap = chain.snapshot()
    w._tx.clear()
    try:
        yield w
    finally:
        chain.revert(snap)


@pytest.fixture
def world(chain: Chain, _world_cache: dict[int, World]) -> Iterator[World]:
    """A deployment on ``chain`` (every backend), reverted to clean after each test."""
    yield from _isolated(chain, _world_cache)


@pytest.fixture
def embedded_world(embedded_chain: Chain, _world_cache: dict[int, World]) -> Iterator[World]:
    """Like ``world`` but on the embedded chain only."""
    yield from _isolated(embedded_chain, _world_cache)


# -- API databases (here, not in tests/api, because tests/scale reuses the ``api`` fixture) --------


@pytest.fixture(scope="session")
def _sqlite_api_template(tmp_path_factory: pytest.TempPathFactory):
    from tests.api._databases import sqlite_template

    return sqlite_template(tmp_path_factory.mktemp("api-db"))


@pytest.fixture(scope="session")
def _postgres_api_database():
    from tests.api._databases import postgres_server_url, postgres_session_database

    with postgres_session_database(postgres_server_url()) as database:
        yield database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database with the API's schema, on SQLite and on the test PostgreSQL server
    (required under CI): a copy of a session template, or the session's database emptied."""
    from tests.api._databases import empty_postgres, sqlite_copy

    if request.param == "sqlite":
        return sqlite_copy(request.getfixturevalue("_sqlite_api_template"), tmp_path / "api.db")
    url, engine = request.getfixturevalue("_postgres_api_database")
    empty_postgres(engine)
    return url
