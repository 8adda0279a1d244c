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
from ledger.clients._base import Call, ContractClient
from ledger.clients.htlc import LockTerms
from ledger.errors import LedgerError
from ledger.logs import event_logs, latest_log
from ledger.tx import call

ATTESTATION_TYPES = {
    "Attestation": [
        {"name": "taskId", "type": "bytes32"},
        {"name": "producer", "type": "address"},
        {"name": "contentHash", "type": "bytes32"},
        {"name": "fingerprint", "type": "bytes32"},
        {"name": "detailHash", "type": "bytes32"},
        {"name": "modelId", "type": "bytes32"},
        {"name": "seed", "type": "uint256"},
    ]
}
# The EIP-712 domain the Registry reports through ERC-5267 `eip712Domain()`.
DOMAIN_NAME, DOMAIN_VERSION = eip712.CONTRACT_DOMAINS["Registry"]
_STATUS_MASK = 0xFF


class TokenStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    REVOKED = 2


class DisputeState(IntEnum):
    """A challenge's life (the contract's ``DisputeState``)."""

    NONE = 0
    OPEN = 1
    CONTESTED = 2
    UPHELD = 3
    REJECTED = 4
    VOID = 5
    SETTLED = 6
    REVERSED = 7
    EQUIVOCATED = 8  # one ESP attested both images and the detail rule matched them


@dataclass(frozen=True)
class Registration:
    """What a reveal publishes. ``salt`` blinds the commitment; keep it until the reveal.

    ``task_id`` is the id of the producer's paid generation lock (the ESP attests it, and the
    token's challenge priority is that lock's block); ``detail`` is the detail descriptor that
    decides a contested challenge (its keccak256 is committed and attested).
    """

    content_hash: bytes
    fingerprint: bytes
    detail: bytes
    owner: str
    esp: str
    task_id: bytes
    model_id: bytes
    seed: int
    metadata_uri: str = ""
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def detail_hash(self) -> bytes:
        return keccak(self.detail)

    @property
    def commitment(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "address", "bytes32"],
                [
                    self.content_hash,
                    self.fingerprint,
                    self.detail_hash,
                    to_checksum_address(self.owner),
                    self.salt,
                ],
            )
        )

    @property
    def token_id(self) -> int:
        return int.from_bytes(self.content_hash, "big")

    def as_tuple(self) -> tuple[Any, ...]:
        """The contract's ``Registration`` (owner and ESP travel as the lock's sender/receiver)."""
        return (
            self.content_hash,
            self.fingerprint,
            self.salt,
            self.model_id,
            self.seed,
            self.metadata_uri,
        )

    def check_lock(self, lock: LockTerms) -> None:
        """Raises LedgerError unless ``lock`` is this registration's generation lock."""
        if (
            lock.id != self.task_id
            or to_checksum_address(lock.sender) != to_checksum_address(self.owner)
            or to_checksum_address(lock.receiver) != to_checksum_address(self.esp)
        ):
            raise LedgerError(
                "the reveal needs the registration's own generation lock: sent by the owner to "
                "the attesting ESP, whose id is the attested task id"
            )

    def check_uri_sender(self, sender: str) -> None:
        """Raises LedgerError when ``sender`` is not the registrant but the registration carries
        a metadata URI: neither the commitment nor the attestation binds the URI, so the contract
        lets only the lock's sender set it (a bare revert: no bytes left for a custom error); a
        relayed reveal passes none and the token falls back to the base URI."""
        if self.metadata_uri and to_checksum_address(sender) != to_checksum_address(self.owner):
            raise LedgerError(
                "only the registrant (the generation lock's sender) may reveal with a metadata "
                "URI; a relayed reveal passes an empty one"
            )

    def attestation_message(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "producer": to_checksum_address(self.owner),
            "contentHash": self.content_hash,
            "fingerprint": self.fingerprint,
            "detailHash": self.detail_hash,
            "modelId": self.model_id,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class RecordProof:
    """What a token's stored record hash commits to (from its ``Registered`` event)."""

    fingerprint: bytes
    detail_hash: bytes
    esp: str
    priority_block: int
    commit_block: int
    reveal_block: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.fingerprint,
            self.detail_hash,
            to_checksum_address(self.esp),
            self.priority_block,
            self.commit_block,
            self.reveal_block,
        )

    @property
    def record_hash(self) -> bytes:
        types = ["bytes32", "bytes32", "address", "uint64", "uint64", "uint64"]
        h = keccak(encode(types, list(self.as_tuple())))
        # the contract keeps the status, the reclaim count and the record's block there
        return h[:-8] + bytes(8)


@dataclass(frozen=True)
class Registered:
    """A token's ``Registered`` event, decoded."""

    token_id: int
    producer: str
    proof: RecordProof
    task_id: bytes
    model_id: bytes
    seed: int
    metadata_uri: str
    detail: bytes

    @property
    def fingerprint(self) -> bytes:
        return self.proof.fingerprint

    @property
    def esp(self) -> str:
        return self.proof.esp

    @property
    def priority_block(self) -> int:
        return self.proof.priority_block


@dataclass(frozen=True)
class Record:
    token_id: int
    record_hash: bytes
    producer: str
    status: TokenStatus


@dataclass(frozen=True)
class Dispute:
    original: int
    duplicate: int
    challenger: str
    deadline: int
    state: DisputeState
    contester: str
    equivocal: bool = False  # one ESP attested both images: priority cannot decide
    epochs: tuple[int, int] = (0, 0)  # both tokens' reclaim counts when challenged


def attestation_domain(chain_id: int, registry: str) -> dict[str, Any]:
    """The EIP-712 domain of a Registry deployment (name, version, chain, contract)."""
    return eip712.domain(DOMAIN_NAME, chain_id=chain_id, contract=registry, version=DOMAIN_VERSION)


def sign_attestation(
    esp: LocalAccount, reg: Registration, *, chain_id: int, registry: str
) -> bytes:
    """The ESP's EIP-712 signature over (task, producer, content hash, fingerprint, detail hash,
    model, seed)."""
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


@dataclass(frozen=True)
class RegistryParams:
    """The Registry's immutable parameters, in the order ``parameters()`` returns them."""

    bond: int
    challenge_deposit: int
    challenge_reward: int
    match_threshold: int
    commit_ttl: int
    registration_window: int
    dispute_window: int
    reward_hold_blocks: int
    royalty_bps: int

    def __getitem__(self, name: str) -> int:
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return int(getattr(self, name))


class RegistryClient(ContractClient):
    contract_name = "Registry"

    def params(self) -> RegistryParams:
        """The Registry's ``parameters()`` as a named value (``params().bond``; indexing by
        name, ``params()["bond"]``, reads the same field)."""
        p = call(self.contract.functions.parameters().call)
        return RegistryParams(*(int(v) for v in p))

    # -- calls (encoded here once; sent below, or handed to a wallet by the API) ----------------
    def commit_call(self, commitment: bytes, *, bond: int | None = None) -> Call:
        """Commit with the registration bond (the current parameter unless given)."""
        value = self.params().bond if bond is None else bond
        return Call(self.contract.functions.commit(commitment), value)

    def reveal_call(self, reg: Registration, lock: LockTerms, attestation: bytes) -> Call:
        return Call(
            self.contract.functions.reveal(reg.as_tuple(), lock.as_tuple(), reg.detail, attestation)
        )

    def challenge_call(
        self,
        original: int,
        duplicate: int,
        proofs: tuple[RecordProof, RecordProof],
        *,
        deposit: int | None = None,
    ) -> Call:
        a, b = proofs
        value = self.params().challenge_deposit if deposit is None else deposit
        fn = self.contract.functions.challenge(original, duplicate, a.as_tuple(), b.as_tuple())
        return Call(fn, value)

    def contest_call(self, original: int, duplicate: int, *, deposit: int | None = None) -> Call:
        value = self.params().challenge_deposit if deposit is None else deposit
        return Call(self.contract.functions.contest(original, duplicate), value)

    def resolve_call(
        self,
        original: int,
        duplicate: int,
        proofs: tuple[RecordProof, RecordProof],
        details: tuple[bytes, bytes],
    ) -> Call:
        a, b = proofs
        return Call(
            self.contract.functions.resolve(
                original, duplicate, a.as_tuple(), b.as_tuple(), details[0], details[1]
            )
        )

    def finalize_call(self, original: int, duplicate: int) -> Call:
        return Call(self.contract.functions.finalize(original, duplicate))

    def settle_call(self, original: int, duplicate: int, duplicate_proof: RecordProof) -> Call:
        return Call(self.contract.functions.settle(original, duplicate, duplicate_proof.as_tuple()))

    def reinstate_call(self, original: int, duplicate: int, *, bond: int | None = None) -> Call:
        value = self.params().bond if bond is None else bond
        return Call(self.contract.functions.reinstate(original, duplicate), value)

    def approve_call(self, spender: str, token_id: int) -> Call:
        return Call(self.contract.functions.approve(spender, token_id))

    # -- registration ---------------------------------------------------------------------------
    def commit(self, reg: Registration, *, bond: int | None = None) -> None:
        """Commits ``reg`` with the registration bond (forfeited if never revealed)."""
        self._send(self.commit_call(reg.commitment, bond=bond))

    def forfeit_commit(self, commitment: bytes) -> None:
        self._send(self.contract.functions.forfeitCommit(commitment))

    def reveal(self, reg: Registration, lock: LockTerms, attestation: bytes) -> int:
        """Reveals ``reg``, backed by its paid generation ``lock``; returns the token id."""
        reg.check_lock(lock)
        reg.check_uri_sender(self.tx.address)
        receipt = self._send(self.reveal_call(reg, lock, attestation))
        return int(self._event(receipt, "Registered")["tokenId"])

    def reclaim(self, reg: Registration, lock: LockTerms, attestation: bytes) -> int:
        """Registers ``reg`` although a later payer registered the same bytes first: the token
        moves to ``reg.owner`` (see the contract's ``reclaim``); returns the token id."""
        reg.check_lock(lock)
        reg.check_uri_sender(self.tx.address)
        existing = self.registered(reg.token_id).proof
        receipt = self._send(
            self.contract.functions.reclaim(
                reg.as_tuple(), lock.as_tuple(), reg.detail, attestation, existing.as_tuple()
            )
        )
        return int(self._event(receipt, "Reclaimed")["tokenId"])

    # -- challenges -----------------------------------------------------------------------------
    def challenge(
        self,
        original: int,
        duplicate: int,
        *,
        proofs: tuple[RecordProof, RecordProof] | None = None,
        deposit: int | None = None,
    ) -> int:
        """Opens a challenge (the compact rule must match); returns the contest deadline block."""
        proofs = proofs or (self.registered(original).proof, self.registered(duplicate).proof)
        receipt = self._send(self.challenge_call(original, duplicate, proofs, deposit=deposit))
        return int(self._event(receipt, "ChallengeOpened")["deadline"])

    def contest(self, original: int, duplicate: int, *, deposit: int | None = None) -> None:
        self._send(self.contest_call(original, duplicate, deposit=deposit))

    def resolve(self, original: int, duplicate: int) -> bool:
        """Decides a contested challenge with both published detail descriptors."""
        a, b = self.registered(original), self.registered(duplicate)
        receipt = self._send(
            self.resolve_call(original, duplicate, (a.proof, b.proof), (a.detail, b.detail))
        )
        return (
            DisputeState(self._event(receipt, "ChallengeDecided")["state"]) is DisputeState.UPHELD
        )

    def finalize(self, original: int, duplicate: int) -> bool:
        """Decides an uncontested challenge after its window; True when the copy is revoked."""
        receipt = self._send(self.finalize_call(original, duplicate))
        return (
            DisputeState(self._event(receipt, "ChallengeDecided")["state"]) is DisputeState.UPHELD
        )

    def settle(self, original: int, duplicate: int) -> None:
        """Pays out (or reverses) an upheld revocation once its hold is over."""
        b = self.registered(duplicate).proof
        self._send(self.settle_call(original, duplicate, b))

    def reinstate(self, original: int, duplicate: int, *, bond: int | None = None) -> None:
        """Reverses a settled win of ``original`` (revoked since) over ``duplicate``: the
        duplicate is active again, backed by the bond this account posts."""
        self._send(self.reinstate_call(original, duplicate, bond=bond))

    def withdraw_owed(self) -> None:
        """Collects the payments this account refused when they were due (kept for it)."""
        self._send(Call(self.contract.functions.withdrawOwed()))

    def dispute(self, original: int, duplicate: int) -> Dispute:
        d = call(self.contract.functions.disputeOf(original, duplicate).call)
        return Dispute(
            original,
            duplicate,
            str(d[0]),
            int(d[1]),
            DisputeState(d[2]),
            str(d[6]),
            bool(d[3]),
            (int(d[4]), int(d[5])),
        )

    # -- reads ----------------------------------------------------------------------------------
    def record(self, token_id: int) -> Record:
        r = call(self.contract.functions.recordOf(token_id).call)
        return Record(token_id, bytes(r[0]), str(r[1]), TokenStatus(r[2]))

    def registered(self, token_id: int, *, from_block: int | None = None) -> Registered:
        """The token's ``Registered`` event (its record proof and detail descriptor)."""
        start = self.deployment.manifest.block if from_block is None else from_block
        # newest first, in chunks (a node limits the blocks one log query may span)
        last = latest_log(
            self.contract, "Registered", start, argument_filters={"tokenId": token_id}
        )
        if last is None:  # (a reclaimed token has a second, current registration: the last)
            raise LedgerError(f"token {token_id} has no Registered event on this chain")
        return registered_from_event(dict(last["args"]), block=int(last["blockNumber"]))

    def registrations(self, token_id: int, *, from_block: int | None = None) -> list[Registered]:
        """Every ``Registered`` event of the token in chain order: its reveal, then one per
        ``reclaim`` (each a new record; a claim or dispute opened before names an older one)."""
        start = self.deployment.manifest.block if from_block is None else from_block
        logs = event_logs(
            self.contract, "Registered", start, argument_filters={"tokenId": token_id}
        )
        return [registered_from_event(dict(e["args"]), block=int(e["blockNumber"])) for e in logs]

    def owner_of(self, token_id: int) -> str:
        return str(call(self.contract.functions.ownerOf(token_id).call))

    def approve(self, spender: str, token_id: int) -> None:
        self._send(self.approve_call(spender, token_id))

    def transfer(self, to: str, token_id: int) -> None:
        self._send(self.contract.functions.transferFrom(self.tx.address, to, token_id))

    def transfer_from(self, owner: str, to: str, token_id: int) -> None:
        """``transferFrom(owner, to, token_id)`` sent by an approved operator (an exchange)."""
        self._send(self.contract.functions.transferFrom(owner, to, token_id))

    def reclaimable_until(self, token_id: int) -> int:
        """The last block an earlier payer of the token's bytes could still ``reclaim`` it at:
        ``registrationWindow + commitTtl`` blocks after its reveal or last reclaim (its last
        ``Registered`` event). It moves (a sale in the swap escrow or anywhere, a transfer) from
        the block after (``RegistryTokenReclaimable`` before)."""
        p = self.params()
        return self.registered(token_id).proof.reveal_block + p.registration_window + p.commit_ttl

    def fingerprint_distance(self, a: bytes, b: bytes) -> int:
        return int(call(self.contract.functions.fingerprintDistance(a, b).call))

    def fingerprints_match(self, a: bytes, b: bytes) -> bool:
        return bool(call(self.contract.functions.fingerprintsMatch(a, b).call))

    def details_match(self, a: bytes, b: bytes) -> bool:
        return bool(call(self.contract.functions.detailsMatch(a, b).call))

    def royalty_info(self, token_id: int, price: int) -> tuple[str, int]:
        receiver, amount = call(self.contract.functions.royaltyInfo(token_id, price).call)
        return str(receiver), int(amount)

    def sign_attestation(self, esp: LocalAccount, reg: Registration) -> bytes:
        """Signs ``reg`` as ``esp`` under this deployment's EIP-712 domain."""
        return sign_attestation(esp, reg, chain_id=self.tx.chain.chain_id, registry=self.address)


def registered_from_event(args: dict[str, Any], *, block: int) -> Registered:
    """Decodes a ``Registered`` event's args; ``block`` is the event's (the reveal's) block."""
    detail = bytes(args["detail"])
    return Registered(
        token_id=int(args["tokenId"]),
        producer=str(args["producer"]),
        proof=RecordProof(
            fingerprint=bytes(args["fingerprint"]),
            detail_hash=keccak(detail),
            esp=str(args["esp"]),
            priority_block=int(args["priorityBlock"]),
            commit_block=int(args["commitBlock"]),
            reveal_block=block,
        ),
        task_id=bytes(args["taskId"]),
        model_id=bytes(args["modelId"]),
        seed=int(args["seed"]),
        metadata_uri=str(args["metadataURI"]),
        detail=detail,
    )
