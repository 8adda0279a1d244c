"""What every typed client shares: a contract, a transactor, and event decoding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxReceipt

from ledger.deploy import Deployment
from ledger.errors import LedgerError, TransactionFailed
from ledger.tx import Transactor


@dataclass(frozen=True)
class Call:
    """One contract call, encoded once: the bound function and the Ether it sends.

    A typed client's ``*_call`` method builds it; the caller decides what to do with it: sign
    and send it (:meth:`ContractClient._send`, the CLI and the Python clients through
    ``Transactor``) or hand it unsigned to a wallet (the API: :func:`ledger.tx.unsigned_tx`)."""

    fn: ContractFunction
    value: int = 0

    @property
    def name(self) -> str:
        return str(getattr(self.fn, "fn_name", "call"))


class ContractClient:
    """Base of the typed clients: ``self.contract`` bound to ``self.tx``'s account."""

    contract_name = ""

    def __init__(self, deployment: Deployment, tx: Transactor | None = None):
        """``tx`` is the account that sends; without it the client only reads."""
        self.deployment = deployment
        self._tx = tx
        self.contract: Contract = deployment.contract(self.contract_name)
        self.last_receipt: TxReceipt | None = None

    @property
    def tx(self) -> Transactor:
        if self._tx is None:
            raise LedgerError(f"this {self.contract_name} client is read-only (no account)")
        return self._tx

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _send(self, fn: Any, *, value: int = 0) -> TxReceipt:
        if isinstance(fn, Call):
            fn, value = fn.fn, fn.value
        self.last_receipt = self.tx.send(fn, value=value)
        return self.last_receipt

    def _event(self, receipt: TxReceipt, name: str) -> dict[str, Any]:
        """The single ``name`` event this contract emitted in ``receipt`` (its args)."""
        logs = getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD)
        if len(logs) != 1:
            raise TransactionFailed(f"expected one {name} event, found {len(logs)}")
        return dict(logs[0]["args"])
