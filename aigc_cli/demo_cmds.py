"""`aigc demo`: the whole lifecycle on a local chain, with the API, ESP workers and real models."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aigc_cli._console import clean_errors, console, fail
from ledger.errors import LedgerError

app = typer.Typer()
DEMO_FILES = ("summary.json", "index.html")


def check_out(out: Path) -> None:
    """A clean exit unless ``out`` is missing, empty or what a demo wrote (its images folder,
    figures, summary.json, index.html): the run empties it first, and must not delete anything
    else (`--out .` or `--out ~/Documents` would have been deleted whole)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise fail(f"--out {out}: a file, not a folder")
    foreign = sorted(
        p.name
        for p in out.iterdir()
        if not (
            (p.name == "images" and p.is_dir())
            or (p.is_file() and (p.suffix == ".png" or p.name in DEMO_FILES))
        )
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise fail(
            f"--out {out}: holds what no demo wrote ({shown}); the demo empties its folder "
            "first: name a new or empty one"
        )


@app.command("demo")
@clean_errors(LedgerError)
def demo(
    out: Annotated[Path, typer.Option(help="Folder for images, figures, summary and HTML")] = Path(
        "out/demo"
    ),
    chain: Annotated[
        str, typer.Option(help="auto (anvil, else embedded), anvil or embedded")
    ] = "auto",
    rounds: Annotated[
        int, typer.Option(min=1, max=50, help="Rounds of tasks (3 producers each)")
    ] = 4,
    quick: Annotated[bool, typer.Option(help="A short run: 2 rounds")] = False,
    seed: Annotated[int, typer.Option(help="Seed of prompts and choices")] = 2026,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Keep the chain, API, web app and ESP workers running after the story",
        ),
    ] = False,
) -> None:
    """Producers pay ESPs (chosen by reputation) through hash locks, register, trade and defend."""
    from aigc_lab.demo import DemoConfig, Story, start_stack
    from aigc_lab.demo.actors import Cast
    from aigc_lab.demo.report import figures, reset, tables, write_html, write_json
    from generators.maker import image_maker

    if chain not in ("auto", "anvil", "embedded"):
        raise typer.BadParameter("choose auto, anvil or embedded", param_hint="--chain")
    config = DemoConfig(rounds=2 if quick else rounds, lazy_from=2, seed=seed)
    check_out(out)
    reset(out)
    make_image = image_maker()

    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_stack(chain, Path(tmp), say=console.print) as stack,
    ):
        console.rule(f"[bold]AIGC lifecycle on {stack.chain.describe()}")
        cast = Cast(
            stack,
            make_image=make_image,
            price=config.price,
            deadline_s=config.deadline_s,
            state_dir=Path(tmp) / "esp",
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task("paid generations", total=config.rounds * 3)
            story = Story(
                stack,
                cast,
                config,
                out,
                say=progress.console.print,
                tick=lambda: progress.advance(bar),
            )
            result = story.run()
        products = [stack.http.get(f"/v1/products/{token}").json() for token in result.images]
        tables(result, console)
        figures(result, out)
        write_json(result, out)
        page = write_html(result, products, out)
        console.print(
            f"[green]done[/] in {time.monotonic() - started:.0f} s; open {page} "
            f"(images, reputation.png, load.png, summary.json in {out})"
        )
        app_url = str(stack.http.base_url).rstrip("/") + "/"
        if serve:
            console.print(
                f"[bold]web app:[/] {app_url} (gallery of the demo's images, provenance, ESP "
                "ranking; the stack keeps running: Ctrl-C stops it)"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("stopping the stack")
        else:
            console.print(
                f"web app: {app_url} lived with this run; `aigc demo --serve` keeps it open "
                "to browse the demo's images"
            )
