"""`aigc bench api`: the marketplace API's throughput against a bare Starlette baseline."""

from __future__ import annotations

import typer

app = typer.Typer()
