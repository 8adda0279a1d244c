"""Command-line options several command groups share (the signing account's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DevAccount = Annotated[int | None, typer.Option(help="Use dev account N (local chains only)")]
Keystore = Annotated[Path | None, typer.Option(help="Keystore of the signing key")]
Password = Annotated[
    str | None,
    typer.Option(
        envvar="AIGC_KEYSTORE_PASSWORD",
        hide_input=True,
        help="The --keystore password (asked for when not given)",
    ),
]
