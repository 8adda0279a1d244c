"""Client of the Proof-of-AIGC Registry: commit, reveal with an ESP attestation, challenge."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from ledger import eip712
from ledger.clients._base import ContractClient
from ledger.tx import call

ATTESTATION_TYPES = {
    "Attestation": [
        {"name": "taskId", "type": "bytes32"},
        {"name": "producer", "type": "address"},
        {"name": "contentHash", "type": "bytes32"},
        {"name": "fingerprint", "type": "bytes32"},
        {"name": "modelId", "type": "bytes32"},
        {"name": "seed", "type": "uint256"},
    ]
}


class TokenStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    REVOKED = 2


@dataclass(frozen=True)
class Registration:
    """What a reveal publishes. ``salt`` blinds the commitment; keep it until the reveal."""

    content_hash: bytes
    fingerprint: bytes
    owner: str
    esp: str
    task_id: bytes
    model_id: bytes
    seed: int
    metadata_uri: str = ""
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def commitment(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "bytes32", "address", "bytes32"],
                [self.content_hash, self.fingerprint, to_checksum_address(self.owner), self.salt],
            )
        )

    @property
    def token_id(self) -> int:
        return int.from_bytes(self.content_hash, "big")

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.content_hash,
            self.fingerprint,
            to_checksum_address(self.owner),
            self.salt,
            to_checksum_address(self.esp),
            self.task_id,
            self.model_id,
            self.seed,
            self.metadata_uri,
        )

    def attestation_message(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "producer": to_checksum_address(self.owner),
            "contentHash": self.content_hash,
            "fingerprint": self.fingerprint,
            "modelId": self.model_id,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Record:
    token_id: int
    fingerprint: bytes
    producer: str
    registered_block: int
    status: TokenStatus
    bond_held: bool
    esp: str


def attestation_domain(chain_id: int, registry: str) -> dict[str, Any]:
    """The EIP-712 domain of a Registry deployment (name, version, chain, contract)."""
    return eip712.domain("AIGC Registry", chain_id=chain_id, contract=registry)


def sign_attestation(
    esp: LocalAccount, reg: Registration, *, chain_id: int, registry: str
) -> bytes:
    """The ESP's EIP-712 signature over (task, producer, content hash, fingerprint, model, seed)."""
    return eip712.sign(
        esp, attestation_domain(chain_id, registry), ATTESTATION_TYPES, reg.attestation_message()
    )


def recover_attester(reg: Registration, signature: bytes, *, chain_id: int, registry: str) -> str:
    """The address that signed ``signature`` for ``reg`` under this deployment's domain."""
    return eip712.recover(
        signature,
        attestation_domain(chain_id, registry),
        ATTESTATION_TYPES,
        reg.attestation_message(),
    )


class RegistryClient(ContractClient):
    contract_name = "Registry"

    def params(self) -> dict[str, int]:
        bond, deposit, threshold, ttl, lock_blocks, bps = call(
            self.contract.functions.parameters().call
        )
        return {
            "bond": bond,
            "challenge_deposit": deposit,
            "match_threshold": threshold,
            "commit_ttl": ttl,
            "bond_lock_blocks": lock_blocks,
            "royalty_bps": bps,
        }

    def commit(self, reg: Registration) -> None:
        self._send(self.contract.functions.commit(reg.commitment))

    def reveal(self, reg: Registration, attestation: bytes, *, bond: int | None = None) -> int:
        value = self.params()["bond"] if bond is None else bond
        receipt = self._send(
            self.contract.functions.reveal(reg.as_tuple(), attestation), value=value
        )
        return int(self._event(receipt, "Registered")["tokenId"])

    def challenge(self, original: int, duplicate: int, *, deposit: int | None = None) -> bool:
        value = self.params()["challenge_deposit"] if deposit is None else deposit
        receipt = self._send(self.contract.functions.challenge(original, duplicate), value=value)
        return bool(self._event(receipt, "Challenged")["upheld"])

    def release_bond(self, token_id: int) -> None:
        self._send(self.contract.functions.releaseBond(token_id))

    def record(self, token_id: int) -> Record:
        r = call(self.contract.functions.recordOf(token_id).call)
        return Record(
            token_id, bytes(r[0]), str(r[1]), int(r[2]), TokenStatus(r[3]), bool(r[4]), str(r[5])
        )

    def owner_of(self, token_id: int) -> str:
        return str(call(self.contract.functions.ownerOf(token_id).call))

    def approve(self, spender: str, token_id: int) -> None:
        self._send(self.contract.functions.approve(spender, token_id))

    def transfer(self, to: str, token_id: int) -> None:
        self._send(self.contract.functions.transferFrom(self.tx.address, to, token_id))

    def fingerprint_distance(self, a: bytes, b: bytes) -> int:
        return int(call(self.contract.functions.fingerprintDistance(a, b).call))

    def fingerprints_match(self, a: bytes, b: bytes) -> bool:
        return bool(call(self.contract.functions.fingerprintsMatch(a, b).call))

    def royalty_info(self, token_id: int, price: int) -> tuple[str, int]:
        receiver, amount = call(self.contract.functions.royaltyInfo(token_id, price).call)
        return str(receiver), int(amount)

    def sign_attestation(self, esp: LocalAccount, reg: Registration) -> bytes:
        """Signs ``reg`` as ``esp`` under this deployment's EIP-712 domain."""
        return sign_attestation(esp, reg, chain_id=self.tx.chain.chain_id, registry=self.address)
