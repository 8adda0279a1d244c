"""`aigc demo`: the lifecycle, end to end, on a real local chain with real generation."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from PIL import Image
from rich.table import Table

from aigc_cli._console import clean_errors, console
from ledger.errors import ChainError, LedgerError

app = typer.Typer()


@contextlib.contextmanager
def _chain(kind: Literal["auto", "anvil", "embedded"], workdir: Path) -> Iterator[Any]:
    """An anvil devnet owned by the demo (state in ``workdir``), or the embedded chain."""
    from ledger.chain import EmbeddedChain, RpcChain
    from ledger.devnet import start_anvil

    if kind != "embedded":
        try:
            dev = start_anvil(workdir / "anvil-state.json")
        except ChainError as exc:
            if kind == "anvil":
                raise
            console.print(f"[yellow]anvil unavailable ({exc}); using the embedded chain[/]")
        else:
            try:
                yield RpcChain(dev.url, dev=True)
            finally:
                dev.stop()
            return
    yield EmbeddedChain()


@app.command("demo")
@clean_errors(LedgerError)
def demo(
    out: Annotated[Path, typer.Option(help="Folder for images and reports")] = Path("out/demo"),
    chain: Annotated[str, typer.Option(help="auto, anvil or embedded")] = "auto",
    prompt: Annotated[str, typer.Option(help="What Alice asks ESP-A to generate")] = (
        "a red circle on a blue background"
    ),
    seed: Annotated[int, typer.Option(help="Generation seed")] = 1,
) -> None:
    """Walk the lifecycle: pay an ESP through a hash lock, register, swap, challenge, refund."""
    from generators import get_generator
    from services.lifecycle import LifecycleWalk, Step
    from services.provenance import fingerprint

    if chain not in ("auto", "anvil", "embedded"):
        raise typer.BadParameter("choose auto, anvil or embedded", param_hint="--chain")
    generator = get_generator("bundled")

    def make_image(text: str, s: int) -> tuple[Image.Image, dict[str, object]]:
        result = generator.generate(text, seed=s)
        return result.image, result.metadata()

    def show(step: Step) -> None:
        gas = f"[cyan]{step.gas:>9,} gas[/]" if step.gas else " " * 13
        console.print(f"{gas}  [bold]{step.actor:<8}[/] {step.action}  [dim]{step.detail}[/]")

    with tempfile.TemporaryDirectory() as tmp, _chain(chain, Path(tmp)) as c:  # type: ignore[arg-type]
        console.rule(f"[bold]AIGC lifecycle on {c.describe()}")
        walk = LifecycleWalk(
            c,
            make_image=make_image,
            fingerprint=lambda img: fingerprint(img).to_bytes32(),
            out_dir=out,
            report=show,
        )
        result = walk.run(prompt=prompt, seed=seed)
    table = Table("actor", "transaction", "gas", title="Gas per transaction")
    for step in result.steps:
        if step.gas:
            table.add_row(step.actor, step.action, f"{step.gas:,}")
    console.print(table)
    console.print(f"images in [bold]{out}[/]: " + ", ".join(str(p) for p in result.images.values()))
