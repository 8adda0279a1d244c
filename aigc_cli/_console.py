"""Console helpers shared by the command modules: one rich console, clean error exits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> typer.Exit:
    """Prints ``message`` on stderr as one line (never wrapped, printed as written: a path or a
    remote refusal holding ``[/...]`` is not rich markup) and returns the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def check_url(url: str, option: str = "--api") -> str:
    """``url`` when it is an http:// or https:// URL with a host, else a clean exit naming the
    option (checked before anything is sent: a typo must not cost a registration's stake)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
    except ValueError as exc:
        raise fail(f"{option} {url!r}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(f"{option} {url!r}: not an http:// or https:// URL with a host")
    return url


def dev_account(chain: Any, index: int) -> Any:
    """Dev account ``index`` of a local chain, or a clean exit naming the ones there are."""
    accounts = chain.dev_accounts()
    if not 0 <= index < len(accounts):
        raise fail(f"--dev-account {index}: the dev accounts are 0 to {len(accounts) - 1}")
    return accounts[index]


def keystore_account(path: Any, password: str | None) -> Any:
    """The account in the keystore at ``path`` (asking for its password when none is given),
    or a clean exit when the file is not one (a wrong password is the ledger's AccountError)."""
    from ledger.accounts import load_keystore

    if password is None:
        password = typer.prompt("keystore password", hide_input=True)
    try:
        return load_keystore(path, password)
    except (KeyError, TypeError, AttributeError, IsADirectoryError) as exc:
        raise fail(
            f"{path}: not an encrypted keystore (`aigc account new` writes one): {exc!r}"
        ) from None


def user_error(exc: BaseException) -> str | None:
    """The one line to print for an error every command can meet from what its user typed or
    configured (a bad ``AIGC_*`` setting, a marketplace API that is unreachable or refuses),
    or None for any other error."""
    import httpx
    import pydantic

    from services.market_client import MarketError

    if isinstance(exc, MarketError):
        return f"the marketplace API refused: {exc}"
    if isinstance(exc, httpx.TransportError):
        try:
            where = f"{exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
        except RuntimeError:  # no request attached
            where = "the marketplace API"
        return f"cannot reach {where}: {exc or type(exc).__name__}"
    if isinstance(exc, pydantic.ValidationError) and exc.title.endswith("Settings"):
        return "; ".join(
            "invalid setting AIGC_"
            + "_".join(str(part) for part in err["loc"]).upper()
            + f"={err['input']!r}: {err['msg']}"
            for err in exc.errors()
        )
    return None


def clean_errors(*error_types: type[BaseException]) -> Callable[[F], F]:
    """Turns the given domain errors, and the user errors of :func:`user_error`, into a red
    one-line message and exit code 1 (no traceback)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except error_types as exc:
                raise fail(str(exc)) from None
            except Exception as exc:
                message = user_error(exc)
                if message is None:
                    raise
                raise fail(message) from None

        return inner  # type: ignore[return-value]

    return wrap
