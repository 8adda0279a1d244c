"""`aigc` commands for the reputation domain (registered on import by :mod:`aigc_cli.main`).

* ``aigc simulate reputation``: the paper's experiment (trend and load), ``--json``, ``--plot DIR``;
  with ``--attack NAME|all``: the attack simulation (aigc_lab.reputation.simulation).
* ``aigc bench reputation``: ranking / incremental-update speed against a per-opinion loop.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from aigc_cli._console import clean_errors, console
from aigc_cli.groups import bench_app, simulate_app
from services.reputation.errors import ReputationError

app = typer.Typer()


def _ratio(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


@simulate_app.command("reputation")
@clean_errors(ReputationError, OSError)
def simulate_reputation(
    onset: Annotated[
        int, typer.Option(help="Round from which ESP1 delays (its locks time out)")
    ] = 15,
    rounds: Annotated[int, typer.Option(help="Rounds of experiment (a), the trend")] = 35,
    load_rounds: Annotated[int, typer.Option(help="Rounds of experiment (b), the load")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed (the run is deterministic)")] = 2023,
    temperature: Annotated[float, typer.Option(help="Softmax temperature of the selection")] = 0.15,
    floor: Annotated[float, typer.Option(help="ESPs below this reputation are excluded")] = 0.2,
    seeds: Annotated[
        int, typer.Option(min=1, help="Also check the expected shape over this many seeds")
    ] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write PNG figures into DIR")] = None,
    attack: Annotated[
        str | None,
        typer.Option(
            help="Run the attack simulation instead: on-off, badmouthing, ballot-stuffing, "
            "collusion, whitewashing or all"
        ),
    ] = None,
    weighting: Annotated[
        str, typer.Option(help="With --attack: hardened, legacy or both")
    ] = "both",
    esps: Annotated[int, typer.Option(help="With --attack: ESPs")] = 1_000,
    producers: Annotated[int, typer.Option(help="With --attack: honest producers")] = 10_000,
    sybils: Annotated[int, typer.Option(help="With --attack: Sybil producers")] = 1_000,
    attack_rounds: Annotated[int, typer.Option(help="With --attack: rounds")] = 60,
    warmup: Annotated[int, typer.Option(help="With --attack: warm-up rounds")] = 25,
    baseline: Annotated[
        bool, typer.Option(help="With --attack: also run without attack (marginal fee)")
    ] = False,
) -> None:
    """The paper's experiment: 3 ESPs, 3 producers; MWSL versus the authors' formulas and habit."""
    if attack is not None:
        from aigc_cli.reputation_attack_cmds import simulate_attacks

        simulate_attacks(
            attack,
            weighting=weighting,
            esps=esps,
            producers=producers,
            sybils=sybils,
            rounds=attack_rounds,
            warmup=warmup,
            seed=seed,
            json_out=json_out,
            plot=plot,
            baseline=baseline,
        )
        return
    from aigc_lab.reputation.experiment import ESPS, POLICIES, ExperimentConfig, run_experiment

    config = ExperimentConfig(
        trend_rounds=rounds,
        onset_round=onset,
        load_rounds=load_rounds,
        seed=seed,
        temperature=temperature,
        floor=floor,
    )
    result = run_experiment(config)
    document = result.to_json()
    if seeds > 1:
        shapes = [
            run_experiment(replace(config, seed=seed + k)).expected_shape() for k in range(seeds)
        ]
        document["robustness"] = {
            "seeds": seeds,
            "held": {check: sum(s[check] for s in shapes) for check in shapes[0]},
        }
    written: list[Path] = []
    if plot is not None:
        from aigc_lab.reputation.plots import plot_experiment

        written = plot_experiment(result, plot)
        document["plots"] = [str(p) for p in written]
    if json_out:
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(title=f"Reputation experiment (seed {seed}; ESP1 delays from round {onset})")
    table.add_column("policy")
    table.add_column("ESP1 first before onset")
    table.add_column("ESP1 below both from round")
    for esp in ESPS:
        table.add_column(f"tasks {esp}", justify="right")
    table.add_column("busiest/idlest", justify="right")
    for policy in POLICIES:
        fall = result.fall_round(policy)
        table.add_row(
            policy,
            "yes" if result.first_before_onset(policy) else "no",
            "never" if fall is None else f"{fall} (+{fall - onset})",
            *(str(result.tasks[policy][esp]) for esp in ESPS),
            _ratio(result.load_ratio(policy)),
        )
    console.print(table)
    for check, held in result.expected_shape().items():
        console.print(f"  {'[green]ok[/]' if held else '[red]NOT MET[/]'}  {check}")
    if "robustness" in document:
        for check, count in document["robustness"]["held"].items():
            console.print(f"  held in {count}/{seeds} seeds: {check}")
    for path in written:
        console.print(f"  wrote {path}")


@bench_app.command("reputation")
@clean_errors(ReputationError)
def bench_reputation(
    producers: Annotated[int, typer.Option(help="Producers in the synthetic market")] = 10_000,
    esps: Annotated[int, typer.Option(help="ESPs in the synthetic market")] = 1_000,
    interactions: Annotated[int, typer.Option(help="Interaction records")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic market")] = 0,
    queries: Annotated[int, typer.Option(min=1, help="Rankings timed (median reported)")] = 10,
    updates: Annotated[int, typer.Option(min=1, help="Incremental updates timed")] = 2_000,
    hardened: Annotated[
        bool, typer.Option(help="Time the off-chain Sybil-resistant weighting instead")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Rank all ESPs from one producer's view and update incrementally; ratio to a Python loop."""
    from aigc_lab.reputation.benchmark import run_benchmark
    from services.reputation.params import ReputationParams

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=json_out) as bar:
        tasks: dict[str, TaskID] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = run_benchmark(
            producers,
            esps,
            interactions,
            seed=seed,
            queries=queries,
            updates=updates,
            progress=tick,
            params=ReputationParams.hardened() if hardened else None,
        )
    document = report.to_json()
    if json_out:
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(
        title=f"Reputation: {producers:,} producers, {esps:,} ESPs, "
        f"{interactions:,} interactions ({report.pairs:,} pairs)"
    )
    table.add_column("measurement")
    table.add_column("value", justify="right")
    table.add_row("ingest (vectorised)", f"{report.ingest_s:.2f} s")
    table.add_row("rank all ESPs, cold (new epoch)", f"{report.rank_cold_ms:.1f} ms")
    table.add_row("rank all ESPs, warm (epoch cached)", f"{report.rank_warm_ms:.2f} ms")
    table.add_row("rank all ESPs, right after an update", f"{report.rank_after_update_ms:.1f} ms")
    table.add_row(
        "incremental update p50 / p99 / max",
        f"{report.update_p50_ms:.3f} / {report.update_p99_ms:.3f} / {report.update_max_ms:.2f} ms",
    )
    table.add_row("per-opinion Python loop (baseline)", f"{report.naive_rank_s:.2f} s")
    table.add_row(
        "speed-up cold / warm vs loop", f"{report.speedup_cold:.0f}x / {report.speedup_warm:.0f}x"
    )
    table.add_row("max |engine - loop|", f"{report.max_abs_diff:.1e}")
    console.print(table)
    for target, met in document["targets"].items():
        console.print(f"  {'[green]met[/]' if met else '[red]NOT MET[/]'}  {target}")
