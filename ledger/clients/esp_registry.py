"""Client of EspRegistry: ESP registration, lock-backed feedback, and the evidence it keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger import eip712
from ledger.clients._base import Call, ContractClient
from ledger.clients.htlc import ZERO_ADDRESS, Asset, LockTerms
from ledger.tx import call

# The EIP-712 quote an ESP signs to accept a generation lock: every field of the lock.
QUOTE_TYPES = {
    "Quote": [
        {"name": "sender", "type": "address"},
        {"name": "receiver", "type": "address"},
        {"name": "asset", "type": "uint8"},
        {"name": "token", "type": "address"},
        {"name": "amount", "type": "uint256"},
        {"name": "hashlock", "type": "bytes32"},
        {"name": "timelock", "type": "uint64"},
    ]
}
QUOTE_DOMAIN_NAME, QUOTE_DOMAIN_VERSION = eip712.CONTRACT_DOMAINS["EspRegistry"]


def quote_domain(chain_id: int, esp_registry: str) -> dict[str, Any]:
    """The EIP-712 domain of an EspRegistry deployment."""
    return eip712.domain(
        QUOTE_DOMAIN_NAME, chain_id=chain_id, contract=esp_registry, version=QUOTE_DOMAIN_VERSION
    )


def generation_lock(
    *, producer: str, esp: str, price: int, hashlock: bytes, deadline: int
) -> LockTerms:
    """The Ether fee lock a quote promises: ``producer`` pays ``price`` to ``esp`` under
    ``hashlock`` until ``deadline``. The ESP signs it, the producer locks and acknowledges it."""
    return LockTerms(
        sender=producer,
        receiver=esp,
        asset=Asset.ETHER,
        token=ZERO_ADDRESS,
        amount=price,
        hashlock=hashlock,
        timelock=deadline,
    )


def _quote_message(lock: LockTerms) -> dict[str, Any]:
    sender, receiver, asset, token, amount, hashlock, timelock = lock.as_tuple()
    return {
        "sender": sender,
        "receiver": receiver,
        "asset": asset,
        "token": token,
        "amount": amount,
        "hashlock": hashlock,
        "timelock": timelock,
    }


def sign_quote(esp: LocalAccount, lock: LockTerms, *, chain_id: int, esp_registry: str) -> bytes:
    """The ESP's EIP-712 acceptance of a generation lock with exactly these terms."""
    return eip712.sign(esp, quote_domain(chain_id, esp_registry), QUOTE_TYPES, _quote_message(lock))


def recover_quoter(lock: LockTerms, signature: bytes, *, chain_id: int, esp_registry: str) -> str:
    """The address that signed ``signature`` as a quote for ``lock`` ("" if none)."""
    return eip712.recover(
        signature, quote_domain(chain_id, esp_registry), QUOTE_TYPES, _quote_message(lock)
    )


@dataclass(frozen=True)
class EspInfo:
    address: str
    stake: int
    unbonding_ends_at: int
    challenges_lost: int
    active: bool
    price: int
    endpoint: str


@dataclass(frozen=True)
class Evidence:
    """The on-chain evidence of one producer about one ESP, field by field as stored."""

    fields: dict[str, int]

    def __getitem__(self, key: str) -> int:
        return self.fields[key]


class EspRegistryClient(ContractClient):
    contract_name = "EspRegistry"

    # -- calls (encoded here once; sent below, or handed to a wallet by the API) ----------------
    def register_call(self, endpoint: str, *, price: int, stake: int) -> Call:
        return Call(self.contract.functions.register(endpoint, price), stake)

    def add_stake_call(self, amount: int) -> Call:
        """``addStake()`` with ``amount`` wei: a top-up, or the return of an ESP a slash
        deactivated once its stake is back at ``minStake``."""
        return Call(self.contract.functions.addStake(), amount)

    def submit_feedback_call(self, lock: LockTerms, *, positive: bool) -> Call:
        return Call(self.contract.functions.submitFeedback(lock.as_tuple(), positive))

    def record_refund_call(self, lock: LockTerms) -> Call:
        return Call(self.contract.functions.recordRefund(lock.as_tuple()))

    def acknowledge_call(self, lock: LockTerms, signature: bytes) -> Call:
        """Records the ESP's signed quote (EIP-712 ``Quote``) for an existing lock; anyone may
        send it, the signature must be the lock's receiver's."""
        return Call(self.contract.functions.acknowledge(lock.as_tuple(), signature))

    def release_call(self, lock: LockTerms) -> Call:
        return Call(self.contract.functions.release(lock.as_tuple()))

    # -- transactions ----------------------------------------------------------------------------
    def register(self, endpoint: str, *, price: int, stake: int) -> None:
        self._send(self.register_call(endpoint, price=price, stake=stake))

    def update(self, endpoint: str, *, price: int) -> None:
        self._send(self.contract.functions.update(endpoint, price))

    def deregister(self) -> None:
        self._send(self.contract.functions.deregister())

    def add_stake(self, amount: int) -> None:
        self._send(self.add_stake_call(amount))

    def withdraw_stake(self) -> None:
        self._send(self.contract.functions.withdrawStake())

    def sign_quote(self, esp: LocalAccount, lock: LockTerms) -> bytes:
        """Signs ``lock``'s terms as ``esp`` under this deployment's EIP-712 domain."""
        return sign_quote(
            esp, lock, chain_id=self.deployment.chain.chain_id, esp_registry=self.address
        )

    def acknowledge(self, lock: LockTerms, signature: bytes) -> None:
        """Records the ESP's signed quote for ``lock`` (the open lock then holds its stake)."""
        self._send(self.acknowledge_call(lock, signature))

    def release(self, lock: LockTerms) -> None:
        self._send(self.release_call(lock))

    def claim_compensation(self) -> None:
        self._send(self.contract.functions.claimCompensation())

    def submit_feedback(self, lock: LockTerms, *, positive: bool) -> None:
        self._send(self.submit_feedback_call(lock, positive=positive))

    def record_refund(self, lock: LockTerms) -> None:
        self._send(self.record_refund_call(lock))

    def is_active(self, esp: str) -> bool:
        return bool(call(self.contract.functions.isActive(esp).call))

    def was_active_at(self, esp: str, block: int) -> bool:
        return bool(call(self.contract.functions.wasActiveAt(esp, block).call))

    def periods_of(self, esp: str) -> list[tuple[int, int]]:
        """Every registration period of ``esp`` as (since block, until block; 0 while active)."""
        return [(int(a), int(b)) for a, b in call(self.contract.functions.periodsOf(esp).call)]

    def esp_info(self, esp: str) -> EspInfo:
        raw: Any = call(self.contract.functions.espInfo(esp).call)
        return EspInfo(
            esp, int(raw[0]), int(raw[1]), int(raw[2]), bool(raw[3]), int(raw[4]), str(raw[5])
        )

    def esps(self) -> list[str]:
        return [str(a) for a in call(self.contract.functions.esps().call)]

    def evidence(self, producer: str, esp: str) -> Evidence:
        raw = call(self.contract.functions.evidence(producer, esp).call)
        entries: list[Any] = list(self.contract.abi)
        abi_out = next(
            f for f in entries if f.get("type") == "function" and f["name"] == "evidence"
        )["outputs"][0]["components"]
        return Evidence({c["name"]: int(v) for c, v in zip(abi_out, raw, strict=True)})

    def producers_of(self, esp: str) -> list[str]:
        return [str(a) for a in call(self.contract.functions.producersOf(esp).call)]

    def challenges_lost(self, esp: str) -> int:
        return int(call(self.contract.functions.challengesLost(esp).call))

    def feedback_recorded(self, lock: LockTerms) -> bool:
        return bool(call(self.contract.functions.feedbackRecorded(lock.id).call))

    def acknowledged(self, lock: LockTerms) -> bool:
        return bool(call(self.contract.functions.acknowledged(lock.id).call))

    def open_locks(self, esp: str) -> int:
        return int(call(self.contract.functions.openLocks(esp).call))

    def compensation_of(self, account: str) -> int:
        return int(call(self.contract.functions.compensationOf(account).call))

    def quote_digest(self, lock: LockTerms) -> bytes:
        return bytes(call(self.contract.functions.quoteDigest(lock.as_tuple()).call))
