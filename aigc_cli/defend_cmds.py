"""`aigc defend`: the owner's unattended defender (services/provenance/defender.py).

It contests, within the dispute window, every challenge of the account's tokens that the detail
rule rejects (and resolves it: the contester takes both deposits), and concedes the ones it
matches. With a committee (stage 3) it asks for a review before contesting and predicts the
jurors' vote from the two images (the API's, or ``--images DIR``). Run it from cron with
``--once`` or as a long-lived process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from aigc_cli._console import check_url, clean_errors, console, fail
from aigc_cli._options import DevAccount, Keystore, Password
from aigc_cli.batch_cmds import _account, _deployment
from ledger.errors import LedgerError
from services.errors import ServiceError

app = typer.Typer()


@app.command("defend")
@clean_errors(LedgerError, ServiceError)
def defend(
    dev_account: DevAccount = None,
    keystore: Keystore = None,
    password: Password = None,
    api: Annotated[
        str | None,
        typer.Option(
            help="Hear of challenges through this marketplace API's notifications, and read "
            "batch items' descriptors from their published manifests there (default: the "
            "chain's ChallengeOpened logs; a batch item's challenge then cannot be judged)"
        ),
    ] = None,
    state: Annotated[
        Path, typer.Option(help="State file (the cursor and each challenge's plan)")
    ] = (Path(".aigc/defend-state.json")),
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron)")] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between passes (the window is a week)")
    ] = 60.0,
    manifest: Annotated[
        list[Path] | None,
        typer.Option(
            help="The owner's batch manifest (DIR/batch-manifest.json of `aigc register --batch`; "
            "repeat for several): a challenged batch item is opened from it to contest"
        ),
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="A folder of images named by token id in hex (0x + 64 digits, any extension) "
            "to predict the committee's stage-3 vote with (default: the API's images, with --api)",
        ),
    ] = None,
    only_if_profitable: Annotated[
        bool,
        typer.Option(
            "--only-if-profitable",
            help="Contest only when the deposit won exceeds the contest's and resolve's gas at "
            "the current price (default: defend anyway, the token is worth more than the gas)",
        ),
    ] = False,
) -> None:
    """Defend the account's tokens: contest and resolve each challenge the detail rule rejects."""
    import httpx

    from ledger import RegistryClient, Transactor
    from ledger.clients.batch_registry import BatchRegistryClient
    from services.market_client import MarketClient, MarketError
    from services.provenance.accusations import (
        AccusationSource,
        ApiAccusations,
        ApiItemDetails,
        ChainAccusations,
        ManifestItems,
        first_found,
    )
    from services.provenance.defender import Defender
    from services.provenance.juror import (
        ApiImages,
        ApiOpeningPublisher,
        ApiOpenings,
        DirectoryImages,
        ImageSource,
    )

    if api is not None:
        check_url(api)
    if state.is_dir():
        raise fail(f"--state {state}: is a folder, not the defender's state file")
    deployment = _deployment()
    account = _account(deployment, dev_account, keystore, password)
    registry = RegistryClient(deployment, Transactor(deployment.chain, account))
    source: AccusationSource = ChainAccusations(registry, account.address)
    batches = (
        BatchRegistryClient(deployment)
        if "BatchRegistry" in deployment.manifest.contracts
        else None
    )
    items = None  # a batch item's descriptor comes from its published manifest, at the API
    pictures: ImageSource | None = None if images is None else DirectoryImages(images)
    openings, publish = None, None
    if api is not None:
        market = MarketClient(httpx.Client(base_url=api, timeout=60), account)
        source = ApiAccusations(market)
        pictures = pictures or ApiImages(market)
        openings, publish = ApiOpenings(market), ApiOpeningPublisher(market)
        if batches is not None:
            items = ApiItemDetails(market, batches)
    own = []  # the owner's items: its manifest files first, then the API's
    if manifest and batches is not None:
        own.append(ManifestItems.load(manifest, batches).opening)
    if items is not None:
        own.append(items.opening)
    defender = Defender(
        registry,
        source,
        state_path=state,
        profitable_only=only_if_profitable,
        item_details=items,
        own_items=first_found(own),
        images=pictures,
        openings=openings,
        publish=publish,
    )
    console.print(
        f"defending the tokens of {account.address} (challenges from {source.name}; "
        f"a defence now {defender.cost().describe()}; state {state})"
    )
    stop = threading.Event()
    try:
        if once:
            for line in defender.step():
                console.print(f"  {line}")
            console.print("one pass done")
            return
        defender.run(stop, interval, report=lambda line: console.print(f"  {line}"))
    except (MarketError, httpx.HTTPError) as exc:
        raise fail(f"the marketplace API at {api}: {exc}") from None
    except KeyboardInterrupt:
        stop.set()
