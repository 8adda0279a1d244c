"""`aigc bench generate`: images per second and load time of the bundled model, and its
prompt adherence on held-out captions (:mod:`generators.evaluate`)."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aigc_cli._console import clean_errors, console, err_console, fail
from aigc_cli.groups import bench_app
from generators import GeneratorError, get_generator


@bench_app.command("generate")
@clean_errors(GeneratorError, OSError)
def bench_generate_cmd(
    images: int = typer.Option(5, "--images", min=1, max=200, help="images to time"),
    adherence: bool = typer.Option(False, "--adherence", help="also measure prompt adherence"),
    count: int = typer.Option(
        200, "--count", min=1, max=2000, help="held-out captions for --adherence"
    ),
) -> None:
    """Images per second of the bundled model at default settings, its load time, its adherence."""
    from generators.bundled import BundledGenerator
    from generators.evaluate import measure_adherence

    started = time.perf_counter()
    gen = get_generator("bundled")
    load_s = time.perf_counter() - started
    if not isinstance(gen, BundledGenerator):  # pragma: no cover - registry guarantees it
        raise fail("the bundled generator is not available")
    prompt = "a red circle on a blue background"
    gen.generate(prompt, seed=0)  # warm-up: first call pays one-off allocations
    baseline = gen.generate(prompt, seed=0, steps=1).elapsed_s
    times = []
    with Progress(
        TextColumn("timing"), BarColumn(), TimeElapsedColumn(), console=err_console, transient=True
    ) as progress:
        task = progress.add_task("bench", total=images)
        for i in range(images):
            times.append(gen.generate(prompt, seed=i).elapsed_s)
            progress.advance(task)
    per_image = sorted(times)[len(times) // 2]
    table = Table(title=f"bench generate: bundled model, {gen.default_steps} steps, 64x64")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("load time", f"{load_s:.3f} s")
    table.add_row("time per image (median)", f"{per_image:.3f} s")
    table.add_row("images per second", f"{1 / per_image:.2f}")
    table.add_row("baseline: 1-step generation", f"{baseline:.4f} s")
    table.add_row("ratio image / 1-step baseline", f"{per_image / baseline:.1f}x")
    if adherence:
        with Progress(
            TextColumn("adherence"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress:
            task = progress.add_task("adherence", total=count)
            report = measure_adherence(
                gen, count=count, on_image=lambda done: progress.update(task, completed=done)
            )
        table.add_row(f"adherence ({count} held-out captions)", f"{report.adherence:.1%}")
        table.add_row(
            "  background / colour / shape",
            f"{report.background:.1%} / {report.colour:.1%} / {report.shape:.1%}",
        )
        table.add_row(
            "  shape right, by kind",
            ", ".join(f"{kind} {share:.0%}" for kind, share in report.by_shape.items()),
        )
    console.print(table)
