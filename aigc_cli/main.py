"""Assembles the ``aigc`` typer application from the domain command modules."""

from __future__ import annotations

import typer

from aigc_cli import (
    api_bench_cmds,  # noqa: F401  (registers `aigc bench api` on import)
    batch_cmds,
    chain_cmds,
    court_cmds,
    defend_cmds,
    demo_cmds,
    generator_bench_cmds,  # noqa: F401  (registers `aigc bench generate` on import)
    generator_cmds,
    market_cmds,
    provenance_cmds,
    reputation_cmds,
    verdict_bench_cmds,  # noqa: F401  (registers `aigc bench corpus` and `aigc bench verdict`)
)
from aigc_cli.groups import bench_app, simulate_app

app = typer.Typer(
    name="aigc",
    help="Lifecycle and marketplace for AI-generated images, backed by an EVM chain.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(bench_app, name="bench")
app.add_typer(simulate_app, name="simulate")
for _module in (
    batch_cmds,
    chain_cmds,
    court_cmds,
    defend_cmds,
    demo_cmds,
    market_cmds,
    provenance_cmds,
    reputation_cmds,
    generator_cmds,
):
    app.registered_commands.extend(_module.app.registered_commands)
    app.registered_groups.extend(_module.app.registered_groups)

if __name__ == "__main__":  # pragma: no cover
    app()
