"""Console helpers shared by the command modules: one rich console, clean error exits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> typer.Exit:
    """Prints ``message`` in red on stderr and returns the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def clean_errors(*error_types: type[BaseException]) -> Callable[[F], F]:
    """Turns the given domain errors into a red one-line message and exit code 1 (no traceback)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except error_types as exc:
                raise fail(str(exc)) from None

        return inner  # type: ignore[return-value]

    return wrap
