"""Client of the BatchRegistry (issue 16): batch commit and reveal, challenges of batched items.

Values are raw (roots, fingerprints, proofs as 32-byte ``bytes``): the trees and leaves come from
:mod:`ledger.merkle`, and ``services.batch`` lays a batch out. Each call is encoded once here
(``*_call``); the sending methods return what the transaction's event says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.logs import DISCARD

from ledger import eip712
from ledger.clients._base import Call, ContractClient
from ledger.clients.htlc import LockTerms

# The BatchRegistry's Status and DisputeState are the Registry's first values (3 and 8 of them).
from ledger.clients.registry import DisputeState, RecordProof, TokenStatus
from ledger.deploy import Deployment
from ledger.errors import LedgerError
from ledger.logs import latest_log
from ledger.tx import Transactor, call

BATCH_ATTESTATION_TYPES = {
    "BatchAttestation": [
        {"name": "taskId", "type": "bytes32"},
        {"name": "producer", "type": "address"},
        {"name": "itemsRoot", "type": "bytes32"},
        {"name": "fpRoot", "type": "bytes32"},
        {"name": "count", "type": "uint32"},
        {"name": "modelId", "type": "bytes32"},
    ]
}
DOMAIN_NAME, DOMAIN_VERSION = eip712.CONTRACT_DOMAINS["BatchRegistry"]
# A RecordProof of zeros: the `record` of a batch item's opening (only a single original uses it).
_NO_RECORD = RecordProof(bytes(32), bytes(32), "0x" + "00" * 20, 0, 0, 0)


@dataclass(frozen=True)
class BatchParams:
    """The BatchRegistry's immutable parameters, in the order ``parameters()`` returns them."""

    bond_per_item: int
    challenge_deposit: int
    challenge_reward: int
    match_threshold: int
    commit_ttl: int
    registration_window: int
    dispute_window: int
    reward_hold: int  # blocks an upheld challenge's deposits and bond are held (`settle`)
    royalty_bps: int
    max_batch: int


@dataclass(frozen=True)
class BatchRecord:
    """What the chain keeps per batch (``batchOf``)."""

    batch_id: int
    fp_root: bytes
    items_root: bytes
    owner: str
    esp: str
    count: int
    priority_block: int
    commit_block: int
    reveal_block: int


@dataclass(frozen=True)
class BatchDispute:
    original: int
    duplicate: int
    challenger: str
    deadline: int
    state: DisputeState
    single: bool
    contester: str


@dataclass(frozen=True)
class ItemOpening:
    """An item's opening in ``contest`` and ``resolve``: a batch item's (content hash, seed,
    proof against its ordered items root: ``ledger.merkle.ordered_proof``, checked with its index
    and the batch's count), or a single Registry original's record proof."""

    content_hash: bytes = bytes(32)
    seed: int = 0
    proof: tuple[bytes, ...] = ()
    record: RecordProof = _NO_RECORD

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.content_hash, self.seed, list(self.proof), self.record.as_tuple())


def attestation_message(
    *,
    task_id: bytes,
    producer: str,
    items_root: bytes,
    fp_root: bytes,
    count: int,
    model_id: bytes,
) -> dict[str, Any]:
    """The EIP-712 ``BatchAttestation`` message an ESP signs for one batch."""
    return {
        "taskId": task_id,
        "producer": to_checksum_address(producer),
        "itemsRoot": items_root,
        "fpRoot": fp_root,
        "count": count,
        "modelId": model_id,
    }


def sign_batch_attestation(
    esp: LocalAccount, message: dict[str, Any], *, chain_id: int, contract: str
) -> bytes:
    """``esp``'s signature over ``message`` (:func:`attestation_message`) for the deployment's
    BatchRegistry at ``contract``."""
    domain = eip712.contract_domain("BatchRegistry", chain_id=chain_id, address=contract)
    return eip712.sign(esp, domain, BATCH_ATTESTATION_TYPES, message)


class BatchRegistryClient(ContractClient):
    contract_name = "BatchRegistry"

    def __init__(self, deployment: Deployment, tx: Transactor | None = None):
        deployment.batch_registry  # noqa: B018 -- an old manifest: DeploymentError("...redeploy")
        super().__init__(deployment, tx)

    def params(self) -> BatchParams:
        return BatchParams(*(int(v) for v in call(self.contract.functions.parameters().call)))

    # -- calls (encoded here once) --------------------------------------------------------------
    def commit_call(self, commitment: bytes, count: int, *, bond: int | None = None) -> Call:
        """Commit ``count`` items with ``bondPerItem * count`` (unless ``bond`` is given)."""
        value = self.params().bond_per_item * count if bond is None else bond
        return Call(self.contract.functions.commit(commitment, count), value)

    def reveal_call(
        self,
        *,
        items_root: bytes,
        salt: bytes,
        model_id: bytes,
        metadata_uri: str,
        fingerprints: Sequence[bytes],
        lock: LockTerms,
        signature: bytes,
    ) -> Call:
        reveal = (items_root, salt, model_id, metadata_uri)
        fn = self.contract.functions.reveal(reveal, list(fingerprints), lock.as_tuple(), signature)
        return Call(fn)

    def challenge_call(
        self,
        original: int,
        fp_a: bytes,
        proof_a: Sequence[bytes],
        duplicate: int,
        fp_b: bytes,
        proof_b: Sequence[bytes],
        *,
        deposit: int | None = None,
    ) -> Call:
        value = self.params().challenge_deposit if deposit is None else deposit
        fn = self.contract.functions.challenge(
            original, fp_a, list(proof_a), duplicate, fp_b, list(proof_b)
        )
        return Call(fn, value)

    def challenge_with_single_call(
        self,
        original: int,
        record: RecordProof,
        duplicate: int,
        fp_b: bytes,
        proof_b: Sequence[bytes],
        *,
        deposit: int | None = None,
    ) -> Call:
        value = self.params().challenge_deposit if deposit is None else deposit
        fn = self.contract.functions.challengeWithSingle(
            original, record.as_tuple(), duplicate, fp_b, list(proof_b)
        )
        return Call(fn, value)

    def contest_call(
        self,
        original: int,
        duplicate: int,
        *,
        detail: bytes,
        opening: ItemOpening,
        deposit: int | None = None,
    ) -> Call:
        """Contests a challenge of ``duplicate``, opening it: its ``detail`` and ``opening``
        (content hash, seed, proof against its batch's items root) are checked on chain and
        published (``ItemOpened``), so the challenger can resolve without the contester."""
        value = self.params().challenge_deposit if deposit is None else deposit
        fn = self.contract.functions.contest(original, duplicate, detail, opening.as_tuple())
        return Call(fn, value)

    def resolve_call(
        self,
        original: int,
        duplicate: int,
        *,
        detail_a: bytes,
        opening_a: ItemOpening,
        detail_b: bytes,
        opening_b: ItemOpening,
    ) -> Call:
        fn = self.contract.functions.resolve(
            original, duplicate, detail_a, opening_a.as_tuple(), detail_b, opening_b.as_tuple()
        )
        return Call(fn)

    def finalize_call(self, original: int, duplicate: int) -> Call:
        return Call(self.contract.functions.finalize(original, duplicate))

    def settle_call(self, original: int, duplicate: int) -> Call:
        """Settles an upheld challenge (anyone may send it, once): reversed when the original was
        revoked since (the item reinstated, the held deposits to its side), else, after the
        reward hold (``BatchRewardHeld`` before), the challenger is paid and the revoked item's
        ESP is slashed to it."""
        return Call(self.contract.functions.settle(original, duplicate))

    def reinstate_call(self, original: int, duplicate: int, *, bond: int | None = None) -> Call:
        """Reverses a settled win whose winner ``original`` was revoked since: ``duplicate`` (an
        item) is active again, backed by the item bond the sender posts."""
        value = self.params().bond_per_item if bond is None else bond
        return Call(self.contract.functions.reinstate(original, duplicate), value)

    def transfer_call(self, sender: str, to: str, token_id: int) -> Call:
        return Call(self.contract.functions.transferFrom(sender, to, token_id))

    # -- transactions ---------------------------------------------------------------------------
    def commit(self, commitment: bytes, count: int, *, bond: int | None = None) -> None:
        self._send(self.commit_call(commitment, count, bond=bond))

    def forfeit_commit(self, commitment: bytes) -> None:
        self._send(self.contract.functions.forfeitCommit(commitment))

    def reveal(self, **kwargs: Any) -> int:
        """Reveals a committed batch (see :meth:`reveal_call`); returns its batch id."""
        receipt = self._send(self.reveal_call(**kwargs))
        return int(self._event(receipt, "BatchRegistered")["batchId"])

    def challenge(self, *args: Any, **kwargs: Any) -> int:
        """Opens a challenge (see :meth:`challenge_call`); returns the contest deadline block."""
        receipt = self._send(self.challenge_call(*args, **kwargs))
        return int(self._event(receipt, "ChallengeOpened")["deadline"])

    def challenge_with_single(self, *args: Any, **kwargs: Any) -> int:
        receipt = self._send(self.challenge_with_single_call(*args, **kwargs))
        return int(self._event(receipt, "ChallengeOpened")["deadline"])

    def contest(
        self,
        original: int,
        duplicate: int,
        *,
        detail: bytes,
        opening: ItemOpening,
        deposit: int | None = None,
    ) -> None:
        """Contests a challenge, opening the duplicate (see :meth:`contest_call`)."""
        self._send(
            self.contest_call(original, duplicate, detail=detail, opening=opening, deposit=deposit)
        )

    def opened_item(self, original: int, duplicate: int) -> dict[str, Any] | None:
        """The ``ItemOpened`` args (content hash, seed, detail) of the last contest of this pair,
        or None if it was never contested: the detail a challenger must ``resolve`` with. Read
        from the contest's own transaction, so another pair's contest of the same item (which
        could open another leaf of a malformed items tree) never stands in for it."""
        contest = latest_log(
            self.contract,
            "ChallengeContested",
            self.deployment.manifest.block,
            argument_filters={"original": original, "duplicate": duplicate},
        )
        if contest is None:
            return None
        receipt = self.contract.w3.eth.get_transaction_receipt(contest["transactionHash"])
        for log in self.contract.events.ItemOpened().process_receipt(receipt, errors=DISCARD):
            if int(log["args"]["tokenId"]) == duplicate:
                return dict(log["args"])
        return None

    def resolve(self, original: int, duplicate: int, **kwargs: Any) -> bool:
        """Decides a contested challenge; True when the duplicate is revoked."""
        receipt = self._send(self.resolve_call(original, duplicate, **kwargs))
        state = self._event(receipt, "ChallengeDecided")["state"]
        return DisputeState(state) is DisputeState.UPHELD

    def finalize(self, original: int, duplicate: int) -> bool:
        """Decides a challenge after its window; True when the duplicate is revoked."""
        receipt = self._send(self.finalize_call(original, duplicate))
        state = self._event(receipt, "ChallengeDecided")["state"]
        return DisputeState(state) is DisputeState.UPHELD

    def settle(self, original: int, duplicate: int) -> DisputeState:
        """Settles an upheld challenge (see :meth:`settle_call`); returns SETTLED or REVERSED."""
        receipt = self._send(self.settle_call(original, duplicate))
        return DisputeState(self._event(receipt, "ChallengeDecided")["state"])

    def reinstate(self, original: int, duplicate: int, *, bond: int | None = None) -> None:
        """See :meth:`reinstate_call`."""
        self._send(self.reinstate_call(original, duplicate, bond=bond))

    def transfer(self, to: str, token_id: int) -> None:
        self._send(self.transfer_call(self.tx.address, to, token_id))

    # -- reads ----------------------------------------------------------------------------------
    def batch(self, batch_id: int) -> BatchRecord:
        b = call(self.contract.functions.batchOf(batch_id).call)
        return BatchRecord(
            batch_id, bytes(b[0]), bytes(b[1]), str(b[2]), str(b[3]), *(int(v) for v in b[4:])
        )

    def status(self, token_id: int) -> TokenStatus:
        return TokenStatus(call(self.contract.functions.statusOf(token_id).call))

    def dispute(self, original: int, duplicate: int) -> BatchDispute:
        d = call(self.contract.functions.disputeOf(original, duplicate).call)
        return BatchDispute(
            original,
            duplicate,
            str(d[0]),
            int(d[1]),
            DisputeState(d[2]),
            bool(d[3]),
            str(d[4]),
        )

    def owner_of(self, token_id: int) -> str:
        return str(call(self.contract.functions.ownerOf(token_id).call))

    def balance_of(self, owner: str) -> int:
        return int(call(self.contract.functions.balanceOf(to_checksum_address(owner)).call))

    def token_uri(self, token_id: int) -> str:
        return str(call(self.contract.functions.tokenURI(token_id).call))

    def royalty_info(self, token_id: int, price: int) -> tuple[str, int]:
        receiver, amount = call(self.contract.functions.royaltyInfo(token_id, price).call)
        return str(receiver), int(amount)

    def attestation_digest(self, message: dict[str, Any]) -> bytes:
        m = message
        fn = self.contract.functions.attestationDigest(
            m["taskId"], m["producer"], m["itemsRoot"], m["fpRoot"], m["count"], m["modelId"]
        )
        return bytes(call(fn.call))

    def sign_attestation(self, esp: LocalAccount, message: dict[str, Any]) -> bytes:
        """Signs ``message`` as ``esp`` under this deployment's EIP-712 domain."""
        return sign_batch_attestation(
            esp, message, chain_id=self.deployment.chain.chain_id, contract=self.address
        )

    def registered(self, batch_id: int) -> dict[str, Any]:
        """The batch's ``BatchRegistered`` event args (its fingerprints among them)."""
        log = latest_log(
            self.contract,
            "BatchRegistered",
            self.deployment.manifest.block,
            argument_filters={"batchId": batch_id},
        )
        if log is None:
            raise LedgerError(f"batch {batch_id} has no BatchRegistered event on this chain")
        return dict(log["args"])
