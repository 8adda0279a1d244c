"""Client of EspRegistry: ESP registration, lock-backed feedback, and the evidence it keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.clients._base import ContractClient
from ledger.clients.htlc import LockTerms
from ledger.tx import call


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

    def register(self, endpoint: str, *, price: int, stake: int) -> None:
        self._send(self.contract.functions.register(endpoint, price), value=stake)

    def update(self, endpoint: str, *, price: int) -> None:
        self._send(self.contract.functions.update(endpoint, price))

    def deregister(self) -> None:
        self._send(self.contract.functions.deregister())

    def withdraw_stake(self) -> None:
        self._send(self.contract.functions.withdrawStake())

    def submit_feedback(self, lock: LockTerms, *, positive: bool) -> None:
        self._send(self.contract.functions.submitFeedback(lock.as_tuple(), positive))

    def record_refund(self, lock: LockTerms) -> None:
        self._send(self.contract.functions.recordRefund(lock.as_tuple()))

    def is_active(self, esp: str) -> bool:
        return bool(call(self.contract.functions.isActive(esp).call))

    def was_active_at(self, esp: str, block: int) -> bool:
        return bool(call(self.contract.functions.wasActiveAt(esp, block).call))

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
