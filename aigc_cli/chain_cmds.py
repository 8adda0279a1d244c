"""`aigc` commands for contracts and the chain: build, devnet, deploy, account, bench gas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aigc_cli._console import clean_errors, console, fail, keystore_account
from aigc_cli.groups import bench_app
from ledger import accounts as ledger_accounts
from ledger.config import get_settings
from ledger.deploy import DeployParams
from ledger.errors import LedgerError

app = typer.Typer()
contracts_app = typer.Typer(help="Solidity contracts: build the committed artifacts.")
devnet_app = typer.Typer(help="A local anvil devnet whose state persists in a file.")
account_app = typer.Typer(
    help="Encrypted keystores for real networks (dev chains use dev accounts)."
)
app.add_typer(contracts_app, name="contracts")
app.add_typer(devnet_app, name="devnet")
app.add_typer(account_app, name="account")

GAS_SNAPSHOT = Path(__file__).resolve().parent.parent / "tests" / "contracts" / "gas_snapshot.json"
GAS_BATCH_SNAPSHOT = GAS_SNAPSHOT.with_name("gas_batch_snapshot.json")


@contracts_app.command("build")
@clean_errors(LedgerError)
def contracts_build() -> None:
    """Compile every contract with the pinned solc (0.8.28, cancun) into contracts/artifacts/."""
    from ledger.build import EVM_VERSION, SOLC_VERSION, build

    with console.status(f"compiling with solc {SOLC_VERSION} (evm {EVM_VERSION})..."):
        written = build()
    for path in written:
        console.print(
            f"  wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
        )


@devnet_app.command("up")
@clean_errors(LedgerError)
def devnet_up(
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="JSON-RPC port (default AIGC_DEVNET_PORT)"),
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Discard the saved chain state first")] = False,
) -> None:
    """Start anvil with a state file, deploy the contracts if needed, write the manifest."""
    from ledger.chain import RpcChain
    from ledger.deploy import deploy, load_manifest
    from ledger.devnet import read_pidfile, start_anvil, write_pidfile
    from ledger.errors import DeploymentError

    s = get_settings()
    running = read_pidfile(s.devnet_pidfile)
    if running:
        console.print(f"devnet already running at {running.url} (pid {running.pid})")
        dev = running
    else:
        if fresh and s.devnet_state.exists():
            s.devnet_state.unlink()
        dev = start_anvil(s.devnet_state, port=port or s.devnet_port)
        write_pidfile(s.devnet_pidfile, dev)
        console.print(
            f"[green]anvil started[/] at {dev.url} (pid {dev.pid}, state {dev.state_file})"
        )
    chain = RpcChain(dev.url, dev=True)
    manifest_path = s.manifest_path(chain.chain_id)
    try:
        deployment = load_manifest(manifest_path, chain)
        console.print(f"contracts already deployed (manifest {manifest_path})")
    except DeploymentError:
        deployment = deploy(chain, chain.dev_accounts()[0], DeployParams())
        deployment.manifest.save(manifest_path)
        console.print(f"[green]deployed[/]; manifest written to {manifest_path}")
    _print_manifest(deployment.manifest.contracts)


@devnet_app.command("down")
@clean_errors(LedgerError)
def devnet_down() -> None:
    """Stop the devnet (its state is saved to the state file first)."""
    from ledger.devnet import read_pidfile

    s = get_settings()
    dev = read_pidfile(s.devnet_pidfile)
    if dev is None:
        console.print("no devnet is running")
        return
    dev.stop()
    s.devnet_pidfile.unlink(missing_ok=True)
    console.print(f"[green]devnet stopped[/]; state kept in {dev.state_file}")


@devnet_app.command("status")
@clean_errors(LedgerError)
def devnet_status() -> None:
    """Say whether the devnet runs, where, and at which block."""
    from ledger.chain import RpcChain
    from ledger.devnet import read_pidfile

    dev = read_pidfile(get_settings().devnet_pidfile)
    if dev is None:
        raise fail("no devnet is running (start one with `aigc devnet up`)")
    chain = RpcChain(dev.url, dev=True)
    console.print(
        f"devnet at {dev.url}, pid {dev.pid}, chain {chain.chain_id}, "
        f"block {chain.w3.eth.block_number}"
    )


@app.command("deploy")
@clean_errors(LedgerError)
def deploy_cmd(
    keystore: Annotated[
        Path | None, typer.Option(help="Keystore of the deployer (real networks)")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="AIGC_KEYSTORE_PASSWORD",
            hide_input=True,
            help="The --keystore password (asked for when not given)",
        ),
    ] = None,
) -> None:
    """Deploy the contracts to the configured chain (AIGC_CHAIN) and write the manifest.

    Every run is a new deployment: a manifest already there for the chain is replaced (a devnet's
    own comes from `aigc devnet up`), and `aigc serve` then needs a fresh AIGC_DATABASE_URL.
    """
    from ledger.connect import connect
    from ledger.deploy import deploy

    s = get_settings()
    chain = connect(s)
    if chain.ephemeral:
        raise fail(
            "the embedded chain is ephemeral (it dies with this process): "
            "deploy to `aigc devnet up` or AIGC_CHAIN=rpc"
        )
    if keystore is not None:
        deployer = keystore_account(keystore, password)
    else:
        deployer = chain.dev_accounts()[0]
    deployment = deploy(chain, deployer, DeployParams())
    path = s.manifest_path(chain.chain_id)
    if path.exists():
        console.print(
            f"[yellow]replacing {path}: the earlier deployment's API database does not serve "
            "this one (use a fresh AIGC_DATABASE_URL)[/]"
        )
    deployment.manifest.save(path)
    console.print(f"[green]deployed[/] on {chain.describe()}; manifest {path}")
    _print_manifest(deployment.manifest.contracts)


@account_app.command("new")
@clean_errors(LedgerError)
def account_new(
    password: Annotated[
        str,
        typer.Option(
            prompt=True, confirmation_prompt=True, hide_input=True, envvar="AIGC_KEYSTORE_PASSWORD"
        ),
    ],
) -> None:
    """Create an encrypted keystore with a fresh random key."""
    address, path = ledger_accounts.new_keystore(get_settings().keystores, password)
    console.print(f"[green]created[/] {address} in {path}")


@account_app.command("list")
def account_list() -> None:
    """List the keystores (and, for reference, the public dev accounts of local chains)."""
    table = Table("kind", "address", "where")
    for address, path in ledger_accounts.list_keystores(get_settings().keystores):
        table.add_row("keystore", address, str(path))
    for i, acct in enumerate(ledger_accounts.dev_accounts()):
        table.add_row("dev (public key!)", acct.address, f"dev mnemonic #{i}")
    console.print(table)


@bench_app.command("gas")
@clean_errors(LedgerError)
def bench_gas(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object op -> gas")
    ] = False,
    write_snapshot: Annotated[
        bool,
        typer.Option(
            help=f"Also write {GAS_SNAPSHOT.name} and {GAS_BATCH_SNAPSHOT.name} for the tests"
        ),
    ] = False,
) -> None:
    """Gas used per operation (exact, 21,000 base included), beside the reference and goals.

    Measured on a fresh embedded chain with the snapshot tests' deployment parameters
    (``ledger.gas.SNAPSHOT_PARAMS``), so what ``--write-snapshot`` writes is what the tests
    check; the table says whether the figures still match the committed snapshots."""
    import skimage.data
    from PIL import Image

    from ledger.chain import EmbeddedChain
    from ledger.gas import GOALS, REFERENCE, SNAPSHOT_PARAMS, measure
    from ledger.gas_batch import GOALS as BATCH_GOALS
    from ledger.gas_batch import measure_batches
    from services.provenance import detail_descriptor

    chain = EmbeddedChain()
    # scikit-image's camera, as the contract tests use: a contested resolve runs to a match
    camera = Image.fromarray(skimage.data.camera()).convert("RGB")  # type: ignore[no-untyped-call]
    gas = measure(chain, chain.dev_accounts(), SNAPSHOT_PARAMS, detail=detail_descriptor(camera))
    batch = measure_batches(chain, chain.dev_accounts())  # SNAPSHOT_PARAMS, its default
    differs = _snapshot_differences(gas, GAS_SNAPSHOT) + _snapshot_differences(
        batch, GAS_BATCH_SNAPSHOT
    )
    if write_snapshot:
        GAS_SNAPSHOT.write_text(json.dumps(gas, indent=2, sort_keys=True) + "\n")
        GAS_BATCH_SNAPSHOT.write_text(json.dumps(batch, indent=2, sort_keys=True) + "\n")
    if as_json:
        print(json.dumps({**gas, **batch}))
        return
    table = Table(
        "operation",
        "gas",
        "reference",
        "goal",
        "status",
        title="Gas per transaction (py-evm, cancun)",
    )
    for op, used in gas.items():
        goal = GOALS.get(op)
        ref = REFERENCE.get(op)
        status = "" if goal is None else ("[green]met[/]" if used <= goal else "[red]missed[/]")
        table.add_row(
            op, f"{used:,}", f"{ref:,}" if ref else "", f"<= {goal:,}" if goal else "", status
        )
    console.print(table)
    console.print("reference for registry_reveal: an OpenZeppelin ERC-721 first mint alone")
    batches = Table(
        "batch operation (per lock or per image: N in one transaction; disputes whole)",
        "gas",
        "goal",
        "status",
        title="Batch settlement and batch registration (issue 16): gas / N",
    )
    for op, used in batch.items():
        goal = BATCH_GOALS.get(op)
        status = "" if goal is None else ("[green]met[/]" if used <= goal else "[red]missed[/]")
        batches.add_row(op, f"{used:,}", f"<= {goal:,}" if goal else "", status)
    console.print(batches)
    if write_snapshot:
        console.print(f"wrote {GAS_SNAPSHOT.name} and {GAS_BATCH_SNAPSHOT.name}")
    elif differs:
        console.print(
            "[red]differs from the committed snapshots[/] (now, snapshot): "
            + "; ".join(differs)
            + ": refresh with --write-snapshot if intended"
        )
    else:
        console.print("matches the committed snapshots")


def _snapshot_differences(gas: dict[str, int], snapshot: Path) -> list[str]:
    """``op: now, snapshot`` for each operation whose figure is not the snapshot's (an operation
    on one side only shows ``-`` on the other); every operation if there is no snapshot file."""
    old: dict[str, int] = json.loads(snapshot.read_text()) if snapshot.exists() else {}
    return [
        f"{op}: {gas.get(op, '-')}, {old.get(op, '-')}"
        for op in sorted(set(gas) | set(old))
        if gas.get(op) != old.get(op)
    ]


def _print_manifest(contracts: dict[str, dict[str, str]]) -> None:
    table = Table("contract", "address")
    for name, info in contracts.items():
        table.add_row(name, info["address"])
    console.print(table)
