"""`aigc serve` (the marketplace API), `aigc index` (the indexer) and `aigc esp run` (an ESP)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_cli._console import (
    check_url,
    clean_errors,
    console,
    err_console,
    fail,
    keystore_account,
)
from aigc_cli._console import dev_account as dev_account_of
from ledger.errors import LedgerError

DEFAULT_INDEX_INTERVAL_S = 2.0
WORKER_STARTUP_S = 120
# `aigc esp run` waits this long before its next round when the API does not answer.
API_RETRY_S = 5.0

app = typer.Typer()
esp_app = typer.Typer(help="Run an edge service provider (ESP) worker, manage its stake.")
app.add_typer(esp_app, name="esp")


@app.command("serve")
@clean_errors(LedgerError)
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8000,
    index: Annotated[
        bool | None,
        typer.Option(
            "--index/--no-index",
            help="Also index the chain in this process (under the single-indexer lock). "
            "Default: only on the embedded chain, or when AIGC_INDEXER_INTERVAL_S > 0; "
            "otherwise run `aigc index` beside the replicas",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="API replicas (processes) sharing the database")
    ] = 1,
) -> None:
    """Serve the marketplace API on the configured chain (AIGC_CHAIN), database and blob store."""
    import uvicorn

    from ledger.deploy import DeployParams, public_url
    from marketplace_api.config import load_settings
    from marketplace_api.migrate import upgrade
    from marketplace_api.stack import open_app, open_chain, served_at

    if not host.strip():  # uvicorn would listen on every interface
        raise fail("--host is empty: name the interface (127.0.0.1; 0.0.0.0 for every one)")
    config = load_settings()  # the environment and .env, once
    embedded = config.ledger.chain == "embedded"
    if embedded and workers > 1:
        raise fail(
            "the embedded chain lives in one process: --workers needs a shared chain "
            "(`aigc devnet up`, or AIGC_CHAIN=rpc)"
        )
    settings = served_at(config.api, host=host, port=port)
    if index is None:
        index = embedded or settings.indexer_interval_s > 0
    if index and settings.indexer_interval_s <= 0:
        settings = settings.model_copy(update={"indexer_interval_s": DEFAULT_INDEX_INTERVAL_S})
    elif not index:
        settings = settings.model_copy(update={"indexer_interval_s": 0.0})
    if workers > 1:
        # Each replica is a fresh process: what this one derived goes into the environment the
        # replicas inherit (the one place a child process's environment is built on purpose).
        derived = ("siwe_domain", "siwe_uri", "indexer_interval_s")
        os.environ.update({f"AIGC_{k.upper()}": str(getattr(settings, k)) for k in derived})
        upgrade(settings.database_url)
        console.print(
            f"[green]serving[/] {workers} replicas on http://{host}:{port} "
            f"({'indexing under the lock' if index else 'run `aigc index` to index'}); "
            "docs at /docs"
        )
        uvicorn.run(
            "marketplace_api.stack:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            # A replica answers the supervisor's health pings once it has imported the product
            # (seconds on a busy machine); uvicorn's 5 s default kills and restarts it forever.
            timeout_worker_healthcheck=WORKER_STARTUP_S,
            proxy_headers=False,  # X-Forwarded-For is the API's: AIGC_TRUSTED_PROXIES
        )
        return
    # Token and collection metadata resolve at this server (AIGC_PUBLIC_URL overrides).
    params = DeployParams().served_at(public_url(f"http://{host}:{port}"))
    scratch = None
    if embedded and not config.configured("database_url"):
        # The chain is new on every start: a kept database would describe a chain that is gone.
        scratch = Path(tempfile.mkdtemp(prefix="aigc-serve-"))
        settings = settings.model_copy(
            update={"database_url": f"sqlite:///{scratch / 'marketplace.db'}"}
        )
        # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it lets the
        # `finally` below remove the scratch database instead of the process dying first.
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        with open_chain(
            "embedded" if embedded else "configured", settings=config.ledger, params=params
        ) as opened:
            if embedded:
                console.print(
                    "[yellow]embedded chain: ephemeral, it lives and dies with this server[/]"
                )
            if scratch is not None:
                console.print(
                    f"[yellow]... and so is its database ({scratch}); AIGC_DATABASE_URL keeps "
                    "one[/]"
                )
            api = open_app(settings, opened.deployment, schema="migrate")
            console.print(
                f"[green]serving[/] on http://{host}:{port} ({opened.chain.describe()}"
                f"{'' if index else '; not indexing: run `aigc index`'}); docs at /docs"
            )
            # uvicorn's own X-Forwarded-For handling (on by default, trusting loopback) is off:
            # the API reads the header itself, from AIGC_TRUSTED_PROXIES only.
            uvicorn.run(api, host=host, port=port, log_level="info", proxy_headers=False)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


@app.command("index")
@clean_errors(LedgerError)
def index_chain(
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between rounds")
    ] = DEFAULT_INDEX_INTERVAL_S,
    rounds: Annotated[int, typer.Option(min=0, help="Stop after N rounds (0: until stopped)")] = 0,
) -> None:
    """Follow the chain into the database (AIGC_DATABASE_URL): the one indexer process.

    Start several for availability: one holds the single-indexer lock (PostgreSQL advisory lock;
    a lock file beside a SQLite database) and writes, the others stand by and take over from the
    stored checkpoint when it dies.
    """
    import logging

    from ledger.connect import connect_deployment
    from marketplace_api.config import load_settings
    from marketplace_api.db import make_engine
    from marketplace_api.indexing import ChainFollower
    from marketplace_api.market import Market
    from marketplace_api.migrate import upgrade

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    config = load_settings()
    deployment = connect_deployment(config.ledger)
    settings = config.api
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    market = Market(deployment, engine, confirmations=settings.confirmations)
    follower = ChainFollower(market, index=True)
    assert follower.lock is not None
    console.print(
        f"indexer (pid {os.getpid()}) for {deployment.chain.describe()} into "
        f"{engine.url.render_as_string(hide_password=True)}; lock: {follower.lock.kind}"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if rounds:
            for _ in range(rounds):
                done = follower.step()
                console.print(f"  {done.role}: {done.events} events")
                stop.wait(interval)
            follower.close()
            return
        follower.run(stop, interval)
    except KeyboardInterrupt:
        stop.set()
        follower.close()
    finally:
        engine.dispose()


def check_state_file(state: Path) -> None:
    """A clean exit, before anything is sent, when ``state`` exists but is no worker's state
    (its JSON is read whole when the worker starts)."""
    import json

    if not state.exists():
        return
    try:
        json.loads(state.read_text())
    except (ValueError, OSError) as exc:  # not JSON, not UTF-8, a folder
        raise fail(
            f"{state}: not an ESP state file (`aigc esp run` writes it; --state names "
            f"another): {exc}"
        ) from None


MAX_ENDPOINT = 2048


def _check_registration(
    deployment: Any, address: str, endpoint: str, price: int, stake: int | None
) -> int | None:
    """The stake `aigc esp run` registers with (None: the ESP is already registered), checked
    before anything is sent: exactly the --stake named (the minimum only when none is), within
    the Registry's minimum and 128 bits and the account's balance; a price that fits a uint256;
    an http(s) endpoint. Clean one-line exits otherwise."""
    from ledger import EspRegistryClient
    from services.esp_stake import MAX_STAKE

    if price >= 2**256:
        raise fail(f"--price {price}: more than a uint256 holds")
    if EspRegistryClient(deployment).is_active(address):
        if stake is not None:
            console.print(
                f"[yellow]{address} is registered already: --stake is not sent "
                "(`aigc esp add-stake AMOUNT` tops up)[/]"
            )
        return None
    if not endpoint.startswith(("http://", "https://")) or len(endpoint) > MAX_ENDPOINT:
        raise fail(
            f"--endpoint {endpoint[:80]!r}: not an http:// or https:// URL of at most "
            f"{MAX_ENDPOINT} characters"
        )
    minimum = int(deployment.manifest.params["esp_min_stake"])
    chosen = minimum if stake is None else stake
    if chosen < minimum:
        raise fail(f"--stake {chosen}: below the Registry's minimum stake, {minimum} wei")
    if chosen > MAX_STAKE:
        raise fail(f"--stake {chosen}: more than the Registry's 128-bit stake holds")
    balance = deployment.chain.w3.eth.get_balance(address)
    if chosen >= balance:
        raise fail(f"--stake {chosen}: not less than {address}'s balance, {balance} wei")
    return chosen


@esp_app.command("run")
@clean_errors(LedgerError)
def esp_run(
    api: Annotated[str, typer.Option(help="Marketplace API base URL")] = "http://127.0.0.1:8000",
    dev_account: Annotated[
        int | None, typer.Option(help="Use dev account N (local chains only)")
    ] = None,
    keystore: Annotated[Path | None, typer.Option(help="Keystore of the ESP's key")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="AIGC_KEYSTORE_PASSWORD",
            hide_input=True,
            help="The --keystore password (asked for when not given)",
        ),
    ] = None,
    price: Annotated[int, typer.Option(min=0, help="Price per image, wei")] = 10**15,
    stake: Annotated[
        int | None,
        typer.Option(min=0, help="Stake when registering, wei (default: the minimum)"),
    ] = None,
    endpoint: Annotated[str, typer.Option(help="Public endpoint to register")] = "http://esp.local",
    state: Annotated[Path, typer.Option(help="State file (holds unrevealed secrets)")] = Path(
        ".aigc/esp-state.json"
    ),
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between rounds")] = 1.0,
    rounds: Annotated[
        int, typer.Option(min=0, help="Stop after N rounds (0: run until Ctrl-C)")
    ] = 0,
    lazy: Annotated[bool, typer.Option(help="Quote but never deliver (for demos)")] = False,
    juror: Annotated[
        bool,
        typer.Option(
            "--juror",
            help="Also draw the requested committee reviews and serve those this ESP is drawn "
            "for (enrol first with "
            "`aigc esp enroll`; docs/committee-jurors.md)",
        ),
    ] = False,
) -> None:
    """Register (if needed) and serve generation tasks: quote, generate, seal, deliver, claim."""
    import httpx

    from generators import GeneratorError
    from generators import get_settings as get_generator_settings
    from generators.maker import image_maker
    from ledger import EspRegistryClient, HtlcClient, Transactor
    from ledger.config import get_settings
    from ledger.connect import connect_deployment
    from services.esp_worker import EspWorker
    from services.market_client import MarketClient
    from services.provenance import fingerprint

    check_url(api)
    deployment = connect_deployment(get_settings())
    if keystore is not None:
        account = keystore_account(keystore, password)
    elif dev_account is not None:
        account = dev_account_of(deployment.chain, dev_account)
    else:
        raise fail("choose --keystore or --dev-account")
    check_state_file(state)
    registering = _check_registration(deployment, account.address, endpoint, price, stake)
    # The generator loads before the ESP registers: one that cannot run must not leave a stake
    # behind. AIGC_GENERATOR (bundled by default), AIGC_CHECKPOINT_DIR, AIGC_GENERATOR_DEVICE.
    try:
        make_image = image_maker(None)
    except (GeneratorError, AssertionError, RuntimeError) as exc:  # torch: a device not built in
        gen = get_generator_settings()
        raise fail(
            f"cannot load the generator (AIGC_GENERATOR={gen.generator!r} on "
            f"AIGC_GENERATOR_DEVICE={gen.generator_device!r}): {exc}"
        ) from None
    tx = Transactor(deployment.chain, account)
    registry = EspRegistryClient(deployment, tx)
    if registering is not None:
        registry.register(endpoint, price=price, stake=registering)
        console.print(f"registered ESP {account.address} (stake {registering} wei)")
    market = MarketClient(httpx.Client(base_url=api, timeout=60), account)
    duty = None
    if juror:
        from services.provenance.juror import ApiImages
        from services.provenance.jury import JurorDuty, has_committee

        if not has_committee(deployment):
            raise fail("this deployment has no CommitteeVerifier: --juror needs one (redeploy)")
        duty = JurorDuty(
            deployment, tx, ApiImages(market), state_path=state.with_suffix(".juror.json")
        )
        if account.address not in duty.committee.jurors_enrolled():
            console.print("not enrolled as a juror: run `aigc esp enroll` to be drawn")

    worker = EspWorker(
        market,
        HtlcClient(deployment, tx),
        make_image=make_image,
        fingerprint=lambda img: fingerprint(img).to_bytes32(),
        state_path=state,
        price=price,
        lazy=lazy,
        batches=True,  # answers producers' batch attestation requests too (docs/batches.md)
        juror=duty,
    )
    console.print(f"ESP {account.address} serving tasks from {api} (state {state})")
    if rounds:
        for _ in range(rounds):
            for action in worker.step():
                console.print(f"  {action}")
            threading.Event().wait(interval)
        return
    stop = threading.Event()
    try:
        while not stop.is_set():
            try:
                worker.run(stop, interval)
            except httpx.TransportError as exc:  # the API restarts, or is not up yet
                err_console.print(
                    f"[yellow]the marketplace API at {api} does not answer "
                    f"({exc or type(exc).__name__}); retrying in {API_RETRY_S:g} s[/]"
                )
                stop.wait(API_RETRY_S)
    except KeyboardInterrupt:
        stop.set()


@esp_app.command("enroll")
@clean_errors(LedgerError)
def esp_enroll(
    dev_account: Annotated[
        int | None, typer.Option(help="Use dev account N (local chains only)")
    ] = None,
    keystore: Annotated[Path | None, typer.Option(help="Keystore of the ESP's key")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="AIGC_KEYSTORE_PASSWORD",
            hide_input=True,
            help="The --keystore password (asked for when not given)",
        ),
    ] = None,
) -> None:
    """Enrol the (registered, active) ESP as a committee juror, posting the juror bond."""
    from ledger.clients.committee import CommitteeClient

    committee = CommitteeClient(*_juror(dev_account, keystore, password))
    address = committee.tx.address
    if address in committee.jurors_enrolled():
        console.print(f"{address} is already enrolled")
        return
    committee.enroll()
    bond = committee.params().juror_bond
    console.print(
        f"{address} enrolled as a juror (bond {bond} wei); "
        "serve the reviews it is drawn for with `aigc esp run --juror`"
    )


@esp_app.command("leave")
@clean_errors(LedgerError)
def esp_leave(
    dev_account: Annotated[
        int | None, typer.Option(help="Use dev account N (local chains only)")
    ] = None,
    keystore: Annotated[Path | None, typer.Option(help="Keystore of the ESP's key")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="AIGC_KEYSTORE_PASSWORD",
            hide_input=True,
            help="The --keystore password (asked for when not given)",
        ),
    ] = None,
) -> None:
    """Leave the committee: the bond and all the juror is owed come back (refused while drawn)."""
    from ledger.clients.committee import CommitteeClient

    committee = CommitteeClient(*_juror(dev_account, keystore, password))
    committee.leave()
    console.print(f"{committee.tx.address} left the committee")


@esp_app.command("add-stake")
@clean_errors(LedgerError)
def esp_add_stake(
    amount: Annotated[int, typer.Argument(min=1, help="Wei to add to the stake")],
    dev_account: Annotated[
        int | None, typer.Option(help="Use dev account N (local chains only)")
    ] = None,
    keystore: Annotated[Path | None, typer.Option(help="Keystore of the ESP's key")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="AIGC_KEYSTORE_PASSWORD",
            hide_input=True,
            help="The --keystore password (asked for when not given)",
        ),
    ] = None,
) -> None:
    """Add AMOUNT wei to the ESP's stake: a top-up after a slash, or back in service once at the
    minimum after a slash took it out (a deregistered ESP cannot: its exit runs its course)."""
    from aigc_cli.batch_cmds import _account, _deployment  # batch_cmds imports this module
    from ledger import EspRegistryClient, Transactor
    from services.esp_stake import TopUpRefused, check_top_up

    deployment = _deployment()
    account = _account(deployment, dev_account, keystore, password)
    esps = EspRegistryClient(deployment, Transactor(deployment.chain, account))
    try:
        check_top_up(
            stake=esps.esp_info(account.address).stake,
            amount=amount,
            balance=deployment.chain.w3.eth.get_balance(account.address),
        )
    except TopUpRefused as exc:
        raise fail(f"{exc.code}: {exc}") from None
    esps.add_stake(amount)
    info = esps.esp_info(account.address)
    state = "serving" if info.active else "not serving"
    console.print(f"{account.address} added {amount} wei: stake {info.stake} wei, {state}")


def _juror(dev_account: int | None, keystore: Path | None, password: str | None) -> Any:
    """(deployment, transactor) of the ESP, on a deployment that has a committee."""
    from aigc_cli.batch_cmds import _account, _deployment  # batch_cmds imports this module
    from ledger import Transactor
    from services.provenance.jury import has_committee

    deployment = _deployment()
    if not has_committee(deployment):
        raise fail("this deployment has no CommitteeVerifier (made before committee review)")
    return deployment, Transactor(
        deployment.chain, _account(deployment, dev_account, keystore, password)
    )
