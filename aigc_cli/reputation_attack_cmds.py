"""``aigc simulate reputation --attack``: the attack simulation's table, JSON and figure."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.table import Table

from aigc_cli._console import console
from services.reputation.errors import InvalidParameterError


def simulate_attacks(
    attack: str,
    *,
    weighting: str,
    esps: int,
    producers: int,
    sybils: int,
    rounds: int,
    warmup: int,
    seed: int,
    json_out: bool,
    plot: Path | None,
    baseline: bool = False,
) -> None:
    """Runs the chosen attacks under the chosen weightings and reports the goals."""
    from aigc_lab.reputation.simulation.attacks import (
        ATTACKS,
        WEIGHTINGS,
        AttackConfig,
        AttackResult,
        run_attack,
    )

    attacks = list(ATTACKS) if attack == "all" else [attack]
    if baseline:  # the same market without any attack: what the Sybils' locks changed
        attacks = ["none", *attacks]
    weightings = list(WEIGHTINGS) if weighting == "both" else [weighting]
    if weighting not in (*WEIGHTINGS, "both"):
        raise InvalidParameterError("weighting", weighting, "hardened, legacy or both")
    configs = [
        AttackConfig(
            a,
            weighting=w,
            esps=esps,
            producers=producers,
            sybils=sybils,
            rounds=rounds,
            warmup=warmup,
            seed=seed,
        )
        for a in attacks
        for w in weightings
    ]
    results, seconds = [], []
    for config in configs:
        if not json_out:
            console.print(f"  running {config.attack} ({config.weighting}) ...")
        t0 = time.perf_counter()
        results.append(run_attack(config))
        seconds.append(time.perf_counter() - t0)
    base_tasks = {
        r.config.weighting: r.malicious_tasks for r in results if r.config.attack == "none"
    }

    def marginal(r: AttackResult) -> float | None:
        """Burned fee per Sybil lock (in lock values) at which the honest revenue the attack
        moved to malicious ESPs, beyond the no-attack run, is all spent on fees."""
        base = base_tasks.get(r.config.weighting)
        if base is None or r.sybil_locks == 0:
            return None
        return (r.malicious_tasks - base) / r.sybil_locks

    written: list[str] = []
    if plot is not None:
        from aigc_lab.reputation.simulation.plots import plot_attacks

        written.append(str(plot_attacks(results, plot / "reputation_attacks.png")))
    if json_out:
        document = {
            "runs": [
                {**r.to_json(), "marginal_break_even_fee": marginal(r), "seconds": s}
                for r, s in zip(results, seconds, strict=True)
            ],
            "plots": written,
        }
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(
        title=f"Attacks: {esps:,} ESPs, {producers:,} producers, {sybils:,} Sybils, "
        f"{rounds} rounds (warm-up {warmup}), seed {seed}"
    )
    for name in ("attack", "weighting", "max % to malicious", "mean %", "busiest/idlest"):
        table.add_column(name, justify="right")
    table.add_column("break-even fee / lock", justify="right")
    table.add_column("marginal", justify="right")
    table.add_column("goals", justify="right")
    table.add_column("s", justify="right")
    for r, s in zip(results, seconds, strict=True):
        fee = r.break_even_fee
        table.add_row(
            r.config.attack,
            r.config.weighting,
            f"{100 * r.max_bad_share:.1f}",
            f"{100 * r.mean_bad_share:.1f}",
            f"{r.load_ratio:.2f}",
            "-" if fee is None else f"{fee:.2f}",
            "-" if marginal(r) is None else f"{marginal(r):.3f}",
            "met" if all(r.goals().values()) else "NOT MET",
            f"{s:.0f}",
        )
    console.print(table)
    for path in written:
        console.print(f"  wrote {path}")
