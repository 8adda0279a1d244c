"""Command groups shared by several domain modules (``aigc bench ...``, ``aigc simulate ...``).

A domain module adds its own sub-command to a group, e.g.::

    from aigc_cli.groups import bench_app

    @bench_app.command("provenance")
    def bench_provenance() -> None: ...
"""

from __future__ import annotations

import typer

bench_app = typer.Typer(
    help="Benchmarks: gas (exact) and speed (ratios against a same-run baseline)."
)
simulate_app = typer.Typer(help="Simulations that reproduce the paper's experiments.")
