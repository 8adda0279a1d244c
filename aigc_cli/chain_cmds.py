"""`aigc` commands for contracts and the chain: build, devnet, deploy, account, demo, bench gas."""

from __future__ import annotations

import typer

app = typer.Typer()
