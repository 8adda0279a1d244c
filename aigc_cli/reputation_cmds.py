"""`aigc` commands for the reputation domain (registered on import by :mod:`aigc_cli.main`)."""

from __future__ import annotations

import typer

app = typer.Typer()
