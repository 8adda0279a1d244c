"""Client of HashTimeLock: lock Ether/ERC-20/ERC-721, withdraw with the preimage, refund."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from ledger.clients._base import Call, ContractClient
from ledger.logs import first_log
from ledger.tx import call

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_LOCK_TYPES = ["address", "address", "uint8", "address", "uint256", "bytes32", "uint64"]


class Asset(IntEnum):
    ETHER = 0
    ERC20 = 1
    ERC721 = 2


class LockStatus(IntEnum):
    NONE = 0
    OPEN = 1
    WITHDRAWN = 2
    REFUNDED = 3


def new_secret() -> tuple[bytes, bytes]:
    """A fresh 32-byte preimage and its sha256 hashlock."""
    preimage = secrets.token_bytes(32)
    return preimage, hashlib.sha256(preimage).digest()


@dataclass(frozen=True)
class LockTerms:
    """Every field of a lock; the lock id is keccak256 of their ABI encoding."""

    sender: str
    receiver: str
    asset: Asset
    token: str
    amount: int
    hashlock: bytes
    timelock: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            to_checksum_address(self.sender),
            to_checksum_address(self.receiver),
            int(self.asset),
            to_checksum_address(self.token),
            self.amount,
            self.hashlock,
            self.timelock,
        )

    @property
    def id(self) -> bytes:
        return keccak(encode(_LOCK_TYPES, list(self.as_tuple())))

    @classmethod
    def from_event(cls, args: dict[str, Any]) -> LockTerms:
        return cls(
            sender=args["sender"],
            receiver=args["receiver"],
            asset=Asset(args["asset"]),
            token=args["token"],
            amount=int(args["amount"]),
            hashlock=bytes(args["hashlock"]),
            timelock=int(args["timelock"]),
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockTerms:
        """From :meth:`to_json` output or an indexed ``Locked`` event's args."""
        asset = data["asset"]
        return cls(
            sender=data["sender"],
            receiver=data["receiver"],
            asset=Asset[asset] if isinstance(asset, str) else Asset(int(asset)),
            token=data["token"],
            amount=int(data["amount"]),
            hashlock=bytes.fromhex(str(data["hashlock"]).removeprefix("0x")),
            timelock=int(data["timelock"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "receiver": self.receiver,
            "asset": self.asset.name,
            "token": self.token,
            "amount": str(self.amount),
            "hashlock": "0x" + self.hashlock.hex(),
            "timelock": self.timelock,
        }


class HtlcClient(ContractClient):
    """Locks are created by this client's account; withdraw/refund may be sent by anyone."""

    contract_name = "HashTimeLock"

    # -- calls (encoded here once; sent below, or handed to a wallet by the API) ----------------
    def lock_ether_call(
        self, receiver: str, *, amount: int, hashlock: bytes, timelock: int
    ) -> Call:
        return Call(self.contract.functions.lockEther(receiver, hashlock, timelock), amount)

    def lock_erc721_call(
        self, token: str, token_id: int, receiver: str, *, hashlock: bytes, timelock: int
    ) -> Call:
        return Call(
            self.contract.functions.lockERC721(token, token_id, receiver, hashlock, timelock)
        )

    def withdraw_call(self, lock: LockTerms, preimage: bytes) -> Call:
        return Call(self.contract.functions.withdraw(lock.as_tuple(), preimage))

    def refund_call(self, lock: LockTerms) -> Call:
        return Call(self.contract.functions.refund(lock.as_tuple()))

    # -- transactions ----------------------------------------------------------------------------
    def lock_ether(
        self, receiver: str, *, amount: int, hashlock: bytes, timelock: int
    ) -> LockTerms:
        call_ = self.lock_ether_call(receiver, amount=amount, hashlock=hashlock, timelock=timelock)
        return LockTerms.from_event(self._event(self._send(call_), "Locked"))

    def lock_erc20(
        self, token: str, receiver: str, *, amount: int, hashlock: bytes, timelock: int
    ) -> LockTerms:
        fn = self.contract.functions.lockERC20(token, amount, receiver, hashlock, timelock)
        return LockTerms.from_event(self._event(self._send(fn), "Locked"))

    def lock_erc721(
        self, token: str, receiver: str, *, token_id: int, hashlock: bytes, timelock: int
    ) -> LockTerms:
        fn = self.lock_erc721_call(token, token_id, receiver, hashlock=hashlock, timelock=timelock)
        return LockTerms.from_event(self._event(self._send(fn), "Locked"))

    def withdraw(self, lock: LockTerms, preimage: bytes) -> None:
        self._send(self.withdraw_call(lock, preimage))

    def refund(self, lock: LockTerms) -> None:
        self._send(self.refund_call(lock))

    def status(self, lock: LockTerms) -> LockStatus:
        return LockStatus(call(self.contract.functions.statusOf(lock.as_tuple()).call))

    def status_of_id(self, lock_id: bytes) -> LockStatus:
        return LockStatus(call(self.contract.functions.statusOfId(lock_id).call))

    def lock_info(self, lock_id: bytes) -> tuple[LockStatus, int]:
        """The lock's status and the block it was created in (0 if never)."""
        status, block = call(self.contract.functions.lockInfo(lock_id).call)
        return LockStatus(status), int(block)

    def revealed_preimage(self, lock: LockTerms, from_block: int | None = None) -> bytes | None:
        """The preimage published by the withdrawal of ``lock``, if it happened; searched from
        the lock's own block unless ``from_block`` is given (a withdrawal never precedes its
        lock, and on the embedded chain a log search costs in proportion to the blocks it spans),
        in chunks up to the head (a node limits the blocks one log query may span: a lock older
        than that cap is still read, and a party can claim the other leg with its secret); a lock
        never made (``lock_info``'s block 0) has no withdrawal, and no log is read for it."""
        if from_block is None:
            from_block = self.lock_info(lock.id)[1]
            if from_block == 0:
                return None
        log = first_log(self.contract, "Withdrawn", from_block, argument_filters={"id": lock.id})
        return None if log is None else bytes(log["args"]["preimage"])

    def min_lock_duration(self) -> int:
        return int(call(self.contract.functions.minLockDuration().call))

    def claim_window(self) -> int:
        """The most blocks after its lock's block that an Ether or ERC-20 lock may be withdrawn
        in (``LockClaimWindowClosed`` later; it refunds at its timelock)."""
        return int(call(self.contract.functions.claimWindow().call))

    def max_token_lock_duration(self) -> int:
        """The longest an ERC-721 lock (a listing) may last, in seconds (``LockTimelockTooLong``
        beyond it)."""
        return int(call(self.contract.functions.maxTokenLockDuration().call))
