"""Building, signing and sending transactions; every revert becomes a typed exception.

The key never leaves this process: transactions are signed locally with ``eth_account`` and sent
raw, the same way on the embedded chain, anvil and a real network. ``unsigned`` gives the
transaction a wallet should sign (the API hands it out), ``send`` signs and sends it.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed as EthTesterFailed
from eth_utils import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxParams, TxReceipt

from ledger import revert
from ledger.chain import Chain
from ledger.errors import EstimationFailed, LedgerError, TransactionFailed

T = TypeVar("T")
PRIORITY_FEE = 10**9  # 1 gwei tip
GAS_MARGIN = 1.25


# A node answers a revert with its data (web3 raises ContractLogicError carrying it); the
# embedded eth-tester raises its own TransactionFailed whose context holds the raw bytes.
REVERTS: tuple[type[Exception], ...] = (ContractLogicError, EthTesterFailed)


def _revert_data(exc: BaseException) -> str | bytes | None:
    seen: BaseException | None = exc
    while seen is not None:
        data = getattr(seen, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return data
        first = seen.args[0] if seen.args else None
        if isinstance(first, Exception) and first.args:
            first = first.args[0]
        if isinstance(first, bytes):
            return first
        if isinstance(first, str):
            literal = _bytes_literal(first.removeprefix("execution reverted: "))
            if literal is not None:
                return literal
        seen = seen.__context__ or seen.__cause__
    return None


def _bytes_literal(text: str) -> bytes | None:
    """eth-tester's eth_call reports revert data as ``str(bytes)``; read it back safely."""
    if not (text.startswith("b'") or text.startswith('b"')):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, bytes) else None


def translate(exc: BaseException) -> Exception:
    """The typed exception for a revert (custom error, reason, or TransactionFailed)."""
    data = _revert_data(exc)
    decoded = revert.decode(data)
    if decoded is not None:
        return decoded
    shown = data.hex() if isinstance(data, bytes) else data
    return TransactionFailed(f"transaction reverted: {exc}", data=shown)


def call(fn: Callable[[], T]) -> T:
    """Runs a read (``contract.functions.x().call``) translating reverts into typed errors."""
    try:
        return fn()
    except REVERTS as exc:
        raise translate(exc) from None


def unsigned_tx(chain: Chain, fn: ContractFunction, *, sender: str, value: int = 0) -> TxParams:
    """The transaction calling ``fn`` from ``sender``, gas estimated, fees set, unsigned.

    A revert during estimation raises the contract's custom error, so bad input is refused
    before anyone signs anything.
    """
    w3 = chain.w3
    tx: dict[str, Any] = {"from": sender, "value": value, "chainId": chain.chain_id, "gas": 0}
    built: dict[str, Any] = dict(fn.build_transaction(cast(TxParams, tx)))
    # Estimate against the pending block: the transaction will run in the next block, and some
    # checks depend on it (a reveal must come at least one block after its commit).
    probe = {k: built[k] for k in ("from", "to", "data", "value") if k in built}
    try:
        estimate = w3.eth.estimate_gas(cast(TxParams, probe), chain.estimate_block)  # type: ignore[arg-type]
    except REVERTS as exc:
        raise translate(exc) from None
    except OverflowError as exc:
        # web3's eth-tester provider reads every revert as Error(string); a custom error whose
        # first word looks like a small offset overflows it. The raw revert is its context.
        raise translate(exc) from None
    except (ValueError, Web3RPCError, EthValidationError) as exc:  # e.g. insufficient funds
        raise EstimationFailed(f"cannot estimate the transaction: {exc}") from None
    built["gas"] = int(estimate * GAS_MARGIN) + 10_000
    base = w3.eth.get_block("latest").get("baseFeePerGas", 0)
    built["maxPriorityFeePerGas"] = PRIORITY_FEE
    built["maxFeePerGas"] = 2 * int(base) + PRIORITY_FEE
    built.pop("gasPrice", None)
    return cast(TxParams, built)


class Transactor:
    """Sends transactions from one local account, one at a time (nonces stay in order)."""

    def __init__(
        self,
        chain: Chain,
        account: LocalAccount,
        *,
        on_receipt: Callable[[str, TxReceipt], None] | None = None,
    ):
        """``on_receipt(function name, receipt)`` is called after each successful transaction
        (the demo uses it to total gas per operation)."""
        self.chain = chain
        self.account = account
        self.on_receipt = on_receipt
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return str(self.account.address)

    def unsigned(
        self, fn: ContractFunction, *, value: int = 0, sender: str | None = None
    ) -> TxParams:
        """The transaction calling ``fn`` (to, data, value, chainId, gas) for any wallet to sign."""
        return unsigned_tx(self.chain, fn, sender=sender or self.address, value=value)

    def send(self, fn: ContractFunction, *, value: int = 0, gas: int | None = None) -> TxReceipt:
        """Estimates, signs, sends and waits; raises the contract's custom error on a revert."""
        with self._lock:
            tx = self.unsigned(fn, value=value)
            if gas is not None:
                tx["gas"] = gas
            tx["nonce"] = self.chain.w3.eth.get_transaction_count(self.account.address, "pending")
            receipt = self._send_signed(tx)
        if self.on_receipt is not None:
            self.on_receipt(str(getattr(fn, "fn_name", "deploy")), receipt)
        return receipt

    def _send_signed(self, tx: TxParams) -> TxReceipt:
        w3 = self.chain.w3
        signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        try:
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        except TimeExhausted:
            raise TransactionFailed("no receipt within 120 s", tx_hash=tx_hash.hex()) from None
        if receipt["status"] != 1:
            raise self._explain_failure(tx, receipt)
        return receipt

    def _explain_failure(self, tx: TxParams, receipt: TxReceipt) -> LedgerError | Exception:
        keep = ("from", "to", "data", "value")
        replay: dict[str, Any] = {k: v for k, v in tx.items() if k in keep}
        replay["from"] = self.address
        try:
            self.chain.w3.eth.call(cast(TxParams, replay), receipt["blockNumber"] - 1)
        except REVERTS as exc:
            return translate(exc)
        except Exception:
            pass
        return TransactionFailed(
            f"transaction reverted (gas used {receipt['gasUsed']})",
            tx_hash=receipt["transactionHash"].hex(),
        )


def decode_raw(raw: bytes) -> dict[str, Any]:
    """The fields of a signed raw transaction (typed or legacy) plus its recovered ``from``."""
    from eth_account import Account
    from eth_account.typed_transactions import TypedTransaction
    from hexbytes import HexBytes

    try:
        if raw and raw[0] <= 0x7F:
            fields = dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
        else:
            import rlp

            legacy = rlp.decode(raw)  # nonce, gasPrice, gas, to, value, data, v, r, s
            fields = {"to": legacy[3], "value": int.from_bytes(legacy[4], "big"), "data": legacy[5]}
        fields["from"] = Account.recover_transaction(raw)
    except Exception as exc:  # any decoding failure means "not a transaction"
        raise TransactionFailed(f"not a signed transaction: {exc}") from None
    return fields


class RelayRejected(TransactionFailed):
    """The node refused a relayed transaction before it entered the pool.

    ``code`` is stable (:data:`NODE_REFUSALS`, else ``relay_refused``); ``reason`` is the
    node's own message (anvil, geth and reth word these the same way)."""

    def __init__(self, code: str, message: str, *, reason: str | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason


NODE_REFUSALS: tuple[tuple[str, str, str], ...] = (
    # (substring of the node's message, lower case; stable code; what the wallet should do)
    ("nonce too low", "nonce_too_low", "the nonce was already used: sign again with the next"),
    ("replacement transaction underpriced", "replacement_underpriced",
     "a pending transaction has this nonce: raise both fees by at least 10% to replace it"),
    ("already imported", "already_known", "this exact transaction is already pending"),
    ("already known", "already_known", "this exact transaction is already pending"),
    ("less than block base fee", "fee_below_base_fee",
     "maxFeePerGas is under the block's base fee: sign again with a higher fee"),
    ("insufficient funds", "insufficient_funds",
     "the sender cannot pay gas * maxFeePerGas + value"),
    ("intrinsic gas too low", "intrinsic_gas_too_low",
     "the gas limit is below the transaction's intrinsic cost"),
    ("intrinsic gas too high", "gas_limit_exceeded", "the gas limit exceeds the block's"),
    ("exceeds block gas limit", "gas_limit_exceeded", "the gas limit exceeds the block's"),
)  # fmt: skip


def _node_message(exc: BaseException) -> str:
    """The node's ``error.message`` of a refused ``eth_sendRawTransaction``."""
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        return str(response["error"].get("message", exc))
    first = exc.args[0] if exc.args else exc
    if isinstance(first, dict):
        return str(first.get("message", first))
    return str(first)


def classify_refusal(exc: BaseException) -> RelayRejected:
    """The typed refusal for a node's answer to ``eth_sendRawTransaction``."""
    reason = _node_message(exc)
    lowered = reason.lower()
    for needle, code, advice in NODE_REFUSALS:
        if needle in lowered:
            return RelayRejected(code, f"{advice} (node: {reason})", reason=reason)
    return RelayRejected(
        "relay_refused", f"the node refused the transaction: {reason}", reason=reason
    )


def relay(chain: Chain, raw: bytes, *, allowed_to: set[str]) -> str:
    """Sends a transaction signed elsewhere, only to ``allowed_to``; returns its hash at once.

    The transaction is simulated first (against the pending block, as its sender), so one the
    contract would refuse raises the contract's custom error and is never sent. A refusal by
    the node (nonce too low, fee under the base fee, insufficient funds, underpriced
    replacement, intrinsic gas too low) raises :class:`RelayRejected` with the node's reason.
    Nothing waits for a block: a transaction with a nonce gap is accepted into the node's
    queue and reported ``pending`` by :func:`tx_status` until the gap is filled.
    """
    fields = decode_raw(raw)
    to = fields.get("to")
    to_hex = ("0x" + bytes(to).hex()) if isinstance(to, bytes | bytearray) else str(to or "")
    if to_hex.lower() not in {a.lower() for a in allowed_to}:
        raise TransactionFailed(f"refusing to relay a transaction to {to_hex or 'nowhere'}")
    if "chainId" in fields and int(fields["chainId"]) != chain.chain_id:
        raise TransactionFailed(
            f"transaction is for chain {fields['chainId']}, not {chain.chain_id}"
        )
    w3 = chain.w3
    probe = {
        "from": fields["from"],
        "to": to_checksum_address(to_hex),
        "data": "0x" + bytes(fields.get("data", b"")).hex(),
        "value": int(fields.get("value", 0)),
    }
    try:
        w3.eth.call(cast(TxParams, probe), chain.estimate_block)  # type: ignore[arg-type]
    except REVERTS as exc:
        raise translate(exc) from None
    except (ValueError, Web3RPCError, EthValidationError):
        pass  # e.g. a balance the simulation cannot cover: the node's own check answers below
    try:
        tx_hash = w3.eth.send_raw_transaction(raw)
    except REVERTS as exc:  # the embedded chain mines at once and raises a revert here
        raise translate(exc) from None
    except (ValueError, Web3RPCError, EthValidationError) as exc:
        raise classify_refusal(exc) from None
    return "0x" + bytes(tx_hash).hex()


def tx_status(chain: Chain, tx_hash: str) -> dict[str, Any]:
    """``{"state": "mined", "receipt": ...}``, ``{"state": "pending"}`` or
    ``{"state": "unknown"}`` for a transaction hash, without waiting."""
    from web3.exceptions import TransactionNotFound

    w3 = chain.w3
    try:
        receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        receipt = None
    if receipt is not None and receipt.get("blockNumber") is not None:
        return {"state": "mined", "receipt": receipt}
    try:
        w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return {"state": "unknown"}
    return {"state": "pending"}


def explain_revert(chain: Chain, tx_hash: str, receipt: TxReceipt) -> Exception:
    """Why a mined transaction reverted: replayed at its block's parent state."""
    tx = chain.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    replay = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"]}
    if isinstance(replay["data"], bytes | bytearray):
        replay["data"] = "0x" + bytes(replay["data"]).hex()
    try:
        chain.w3.eth.call(cast(TxParams, replay), receipt["blockNumber"] - 1)
    except REVERTS as exc:
        return translate(exc)
    except (ValueError, Web3RPCError, EthValidationError) as exc:
        return TransactionFailed(f"transaction reverted: {exc}", tx_hash=tx_hash)
    return TransactionFailed("transaction reverted", tx_hash=tx_hash)
