"""Exceptions of the ledger layer.

Every contract custom error becomes a Python exception class of the same name (a subclass of
:class:`ContractRevert`) carrying the error's fields, generated from the committed ABIs by
:mod:`ledger.revert`; ``ledger.errors.LockExpired`` and friends are importable from here.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Root of every error raised by :mod:`ledger`."""


class BuildError(LedgerError):
    """Raised when the contracts cannot be compiled (missing compiler or a compile error)."""


class ArtifactError(LedgerError):
    """Raised when a committed artifact is missing, malformed or stale."""


class ChainError(LedgerError):
    """Raised when the chain backend cannot be reached, started or stopped."""


class DeploymentError(LedgerError):
    """Raised when a deployment manifest is missing or does not match the chain."""


class AccountError(LedgerError):
    """Raised when an account or keystore cannot be found, created or unlocked."""


class TransactionFailed(LedgerError):
    """Raised when a transaction reverts without a known custom error (or runs out of gas)."""

    def __init__(self, message: str, *, tx_hash: str | None = None, data: str | None = None):
        super().__init__(message)
        self.tx_hash = tx_hash
        self.data = data


class EstimationFailed(TransactionFailed):
    """Raised when a transaction cannot even be estimated (e.g. the sender lacks the funds)."""


class ContractRevert(LedgerError):
    """Raised when a call reverts with one of the contracts' custom errors.

    ``name`` is the Solidity error name, ``fields`` its arguments by parameter name.
    """

    error_name: str = ""
    selector: str = ""
    param_names: tuple[str, ...] = ()

    def __init__(self, fields: dict[str, Any]):
        self.fields = fields
        self.name = self.error_name
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in fields.items())
        super().__init__(f"{self.error_name}({args})")

    def __getattr__(self, item: str) -> Any:
        fields = self.__dict__.get("fields", {})
        if item in fields:
            return fields[item]
        raise AttributeError(item)


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)


def __getattr__(name: str) -> type[ContractRevert]:
    # Custom-error classes are generated from the ABIs on first use (see ledger.revert).
    if name.startswith("__"):
        raise AttributeError(name)
    from ledger import revert

    try:
        return revert.error_class(name)
    except KeyError:
        raise AttributeError(f"module 'ledger.errors' has no attribute {name!r}") from None
