"""`aigc serve` (the marketplace API) and `aigc esp run` (one ESP worker process)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from aigc_cli._console import clean_errors, console, fail
from ledger.errors import LedgerError

app = typer.Typer()
esp_app = typer.Typer(help="Run an edge service provider (ESP) worker.")
app.add_typer(esp_app, name="esp")


@app.command("serve")
@clean_errors(LedgerError)
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Serve the marketplace API on the configured chain (AIGC_CHAIN), database and blob store."""
    import uvicorn

    from ledger.chain import EmbeddedChain
    from ledger.config import get_settings
    from ledger.connect import connect_deployment
    from ledger.deploy import deploy
    from marketplace_api.config import ApiSettings
    from marketplace_api.main import create_app
    from marketplace_api.migrate import upgrade

    chain_settings = get_settings()
    if chain_settings.chain == "embedded":
        chain = EmbeddedChain()
        deployment = deploy(chain, chain.dev_accounts()[0])
        console.print("[yellow]embedded chain: ephemeral, it lives and dies with this server[/]")
    else:
        deployment = connect_deployment(chain_settings)
    settings = ApiSettings()
    overrides = {}
    scratch = None
    if chain_settings.chain == "embedded" and "database_url" not in settings.model_fields_set:
        # The chain is new on every start: a kept database would describe a chain that is gone.
        scratch = Path(tempfile.mkdtemp(prefix="aigc-serve-"))
        overrides["database_url"] = f"sqlite:///{scratch / 'marketplace.db'}"
        console.print(
            f"[yellow]... and so is its database ({scratch}); AIGC_DATABASE_URL keeps one[/]"
        )
        # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it lets the
        # `finally` below remove the scratch database instead of the process dying first.
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        if "AIGC_SIWE_DOMAIN" not in os.environ:
            overrides["siwe_domain"] = f"{host}:{port}"
        if "AIGC_SIWE_URI" not in os.environ:
            overrides["siwe_uri"] = f"http://{host}:{port}"
        settings = settings.model_copy(update=overrides)
        upgrade(settings.database_url)
        api = create_app(settings, deployment, create_schema=False)
        console.print(
            f"[green]serving[/] on http://{host}:{port} ({deployment.chain.describe()}); "
            "docs at /docs"
        )
        uvicorn.run(api, host=host, port=port, log_level="info")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


@esp_app.command("run")
@clean_errors(LedgerError)
def esp_run(
    api: Annotated[str, typer.Option(help="Marketplace API base URL")] = "http://127.0.0.1:8000",
    dev_account: Annotated[
        int | None, typer.Option(help="Use dev account N (local chains only)")
    ] = None,
    keystore: Annotated[Path | None, typer.Option(help="Keystore of the ESP's key")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="AIGC_KEYSTORE_PASSWORD", hide_input=True)
    ] = None,
    price: Annotated[int, typer.Option(help="Price per image, wei")] = 10**15,
    stake: Annotated[
        int | None, typer.Option(help="Stake when registering, wei (default: the minimum)")
    ] = None,
    endpoint: Annotated[str, typer.Option(help="Public endpoint to register")] = "http://esp.local",
    state: Annotated[Path, typer.Option(help="State file (holds unrevealed secrets)")] = Path(
        ".aigc/esp-state.json"
    ),
    interval: Annotated[float, typer.Option(help="Seconds between rounds")] = 1.0,
    rounds: Annotated[int, typer.Option(help="Stop after N rounds (0: run until Ctrl-C)")] = 0,
    lazy: Annotated[bool, typer.Option(help="Quote but never deliver (for demos)")] = False,
) -> None:
    """Register (if needed) and serve generation tasks: quote, generate, seal, deliver, claim."""
    import httpx

    from aigc_cli._images import image_maker
    from ledger import EspRegistryClient, HtlcClient, Transactor
    from ledger.accounts import load_keystore
    from ledger.config import get_settings
    from ledger.connect import connect_deployment
    from services.esp_worker import EspWorker
    from services.market_client import MarketClient
    from services.provenance import fingerprint

    deployment = connect_deployment(get_settings())
    if keystore is not None:
        account = load_keystore(
            keystore, password or typer.prompt("keystore password", hide_input=True)
        )
    elif dev_account is not None:
        account = deployment.chain.dev_accounts()[dev_account]
    else:
        raise fail("choose --keystore or --dev-account")
    tx = Transactor(deployment.chain, account)
    registry = EspRegistryClient(deployment, tx)
    if not registry.is_active(account.address):
        registry.register(
            endpoint, price=price, stake=stake or deployment.manifest.params["esp_min_stake"]
        )
        console.print(f"registered ESP {account.address}")
    make_image = image_maker(None)  # AIGC_GENERATOR (bundled by default), AIGC_CHECKPOINT_DIR

    worker = EspWorker(
        MarketClient(httpx.Client(base_url=api, timeout=60), account),
        HtlcClient(deployment, tx),
        make_image=make_image,
        fingerprint=lambda img: fingerprint(img).to_bytes32(),
        state_path=state,
        price=price,
        lazy=lazy,
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
        worker.run(stop, interval)
    except KeyboardInterrupt:
        stop.set()
