"""Client of the BatchCourt (issue 16): a batched original challenges a single Registry copy.

The mirror of ``BatchRegistryClient.challenge_with_single``: there a single original revokes a
batched copy; here a batch item (fingerprint proof against its batch's fingerprint root, detail
opening against its ordered items root) revokes a single token (its ``RecordProof``). The copy's
detail is public already (its ``Registered`` event), so ``contest`` opens nothing. An upheld
challenge pays nothing until ``settle`` (after the Registry's reward hold, or at once reversed
when the batched original was revoked since). Each call is encoded once here (``*_call``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import keccak

from ledger.clients._base import Call, ContractClient
from ledger.clients.batch_registry import ItemOpening
from ledger.clients.registry import DisputeState, RecordProof, RegistryClient
from ledger.deploy import Deployment
from ledger.errors import LedgerError
from ledger.tx import Transactor, call


@dataclass(frozen=True)
class CourtDispute:
    """A challenge of single ``duplicate`` by batch item ``original`` (``disputeOf``)."""

    original: int
    duplicate: int
    challenger: str
    deadline: int
    state: DisputeState
    contester: str
    slash: int  # always 0: every ESP slash is burned at the EspRegistry (the ABI keeps it)
    record_hash: bytes


@dataclass(frozen=True)
class MisattestedItem:
    """What a mis-attestation claim against batch item ``token_id`` opens
    (``claimMisattestedItem``): its attested fingerprint with ``fp_proof`` against its batch's
    fingerprint root, its attested detail descriptor and ``opening`` (content hash, seed, ordered
    proof) against the items root; ``esp`` the batch's ESP (the claim's record names it)."""

    token_id: int
    fingerprint: bytes
    fp_proof: tuple[bytes, ...]
    detail: bytes
    opening: ItemOpening
    esp: str

    @property
    def record(self) -> RecordProof:
        """The record proof ``finalizeMisattested`` decides the item's claim with (the attested
        values and the ESP; no blocks: the court hashes the item's claim without them)."""
        return RecordProof(self.fingerprint, keccak(self.detail), self.esp, 0, 0, 0)


@dataclass(frozen=True)
class Misattestation:
    """The latest mis-attestation claim against single token or batch item ``token_id``
    (``misattestationOf``); ``round`` numbers its committee review
    (:func:`ledger.clients.committee.record_review_key`)."""

    token_id: int
    claimant: str
    round: int
    state: DisputeState
    record_hash: bytes


class BatchCourtClient(ContractClient):
    contract_name = "BatchCourt"

    def __init__(self, deployment: Deployment, tx: Transactor | None = None):
        deployment.batch_court  # noqa: B018 -- an old manifest: DeploymentError("...redeploy")
        super().__init__(deployment, tx)

    def deposit(self) -> int:
        """The Registry's ``challengeDeposit`` (the court's deposit for a challenge or contest)."""
        registry = self.deployment.registry
        return int(call(registry.functions.parameters().call)[1])

    # -- calls (encoded here once) --------------------------------------------------------------
    def challenge_call(
        self,
        original: int,
        fp_a: bytes,
        proof_a: Sequence[bytes],
        duplicate: int,
        record_b: RecordProof,
        *,
        deposit: int | None = None,
    ) -> Call:
        """Challenge single ``duplicate`` (its record proof) by batch item ``original`` (its
        fingerprint and proof against its batch's fingerprint root)."""
        fn = self.contract.functions.challenge(
            original, fp_a, list(proof_a), duplicate, record_b.as_tuple()
        )
        return Call(fn, self.deposit() if deposit is None else deposit)

    def contest_call(self, original: int, duplicate: int, *, deposit: int | None = None) -> Call:
        fn = self.contract.functions.contest(original, duplicate)
        return Call(fn, self.deposit() if deposit is None else deposit)

    def resolve_call(
        self,
        original: int,
        duplicate: int,
        *,
        detail_a: bytes,
        opening_a: ItemOpening,
        detail_b: bytes,
        record_b: RecordProof,
    ) -> Call:
        """Decide a contested challenge: the batch item's detail and opening, the copy's detail
        and record proof."""
        fn = self.contract.functions.resolve(
            original, duplicate, detail_a, opening_a.as_tuple(), detail_b, record_b.as_tuple()
        )
        return Call(fn)

    def finalize_call(self, original: int, duplicate: int, record_b: RecordProof) -> Call:
        """Decide a challenge after its window (the copy's record proof names its ESP)."""
        return Call(self.contract.functions.finalize(original, duplicate, record_b.as_tuple()))

    def settle_call(self, original: int, duplicate: int) -> Call:
        """Settle an upheld challenge (anyone, once): reversed when the batched original was
        revoked since (the copy's side compensated with the held deposits and bond), else,
        after the reward hold (``CourtRewardHeld`` before), the challenger gets the deposits and
        the reward (the copy's ESP slash is burned at the EspRegistry)."""
        return Call(self.contract.functions.settle(original, duplicate))

    def revoke_duplicate_image_call(
        self,
        item: int,
        single: int,
        *,
        detail_hash: bytes,
        opening: ItemOpening,
        record: RecordProof,
    ) -> Call:
        """Revoke the second registration of one image held as batch ``item`` (its detail hash
        and opening against the items root) and as single ``single`` (its record proof), both
        attested by one ESP (``revokeDuplicateImage``; anyone may call)."""
        fn = self.contract.functions.revokeDuplicateImage(
            item, detail_hash, opening.as_tuple(), single, record.as_tuple()
        )
        return Call(fn)

    def revoke_duplicate_item_call(
        self,
        first: int,
        second: int,
        *,
        first_detail_hash: bytes,
        first_opening: ItemOpening,
        second_detail_hash: bytes,
        second_opening: ItemOpening,
    ) -> Call:
        """Revoke the second registration of one image held as two batch items, each opened
        against its batch's items root, both attested by one ESP (``revokeDuplicateItem``;
        anyone may call)."""
        fn = self.contract.functions.revokeDuplicateItem(
            first,
            first_detail_hash,
            first_opening.as_tuple(),
            second,
            second_detail_hash,
            second_opening.as_tuple(),
        )
        return Call(fn)

    def claim_misattested_call(
        self, token_id: int, record: RecordProof, *, review_fee: int, deposit: int | None = None
    ) -> Call:
        """Claim that single ``token_id``'s ESP attested values that are not its content's
        (``record``: its record proof): the challenge deposit plus the committee's
        ``review_fee``, which the court forwards to ``requestRecordReview``."""
        fn = self.contract.functions.claimMisattested(token_id, record.as_tuple())
        return Call(fn, (self.deposit() if deposit is None else deposit) + review_fee)

    def claim_misattested_item_call(
        self, item: MisattestedItem, *, review_fee: int, deposit: int | None = None
    ) -> Call:
        """Claim that batch item ``item``'s ESP attested leaf values that are not its content's
        (the deposit plus the committee's ``review_fee``); the court emits the opening
        (``ItemOpened``) for the jurors. Decided by :meth:`finalize_misattested` with
        ``item.record``."""
        fn = self.contract.functions.claimMisattestedItem(
            item.token_id,
            item.fingerprint,
            list(item.fp_proof),
            item.detail,
            item.opening.as_tuple(),
        )
        return Call(fn, (self.deposit() if deposit is None else deposit) + review_fee)

    def finalize_misattested_call(self, token_id: int, record: RecordProof) -> Call:
        """Decide an open mis-attestation claim once its review's reveal deadline passed."""
        return Call(self.contract.functions.finalizeMisattested(token_id, record.as_tuple()))

    # -- transactions ---------------------------------------------------------------------------
    def claim_misattested(
        self, token_id: int, record: RecordProof, *, review_fee: int, deposit: int | None = None
    ) -> bytes:
        """Opens a mis-attestation claim (see :meth:`claim_misattested_call`); returns the
        committee review's key."""
        receipt = self._send(
            self.claim_misattested_call(token_id, record, review_fee=review_fee, deposit=deposit)
        )
        return bytes(self._event(receipt, "MisattestationClaimed")["key"])

    def claim_misattested_item(
        self, item: MisattestedItem, *, review_fee: int, deposit: int | None = None
    ) -> bytes:
        """Opens a batch item's mis-attestation claim (see :meth:`claim_misattested_item_call`);
        returns the committee review's key."""
        receipt = self._send(
            self.claim_misattested_item_call(item, review_fee=review_fee, deposit=deposit)
        )
        return bytes(self._event(receipt, "MisattestationClaimed")["key"])

    def finalize_misattested(self, token_id: int, record: RecordProof) -> DisputeState:
        """Decides a mis-attestation claim: UPHELD (the token revoked, its ESP slashed),
        REJECTED (the deposit to its owner) or VOID (no verdict: the deposit back)."""
        receipt = self._send(self.finalize_misattested_call(token_id, record))
        return DisputeState(self._event(receipt, "MisattestationDecided")["state"])

    def challenge(self, *args: object, **kwargs: object) -> int:
        """Opens a challenge (see :meth:`challenge_call`); returns the contest deadline block."""
        receipt = self._send(self.challenge_call(*args, **kwargs))  # type: ignore[arg-type]
        return int(self._event(receipt, "ChallengeOpened")["deadline"])

    def contest(self, original: int, duplicate: int, *, deposit: int | None = None) -> None:
        self._send(self.contest_call(original, duplicate, deposit=deposit))

    def resolve(
        self,
        original: int,
        duplicate: int,
        *,
        detail_a: bytes,
        opening_a: ItemOpening,
        detail_b: bytes,
        record_b: RecordProof,
    ) -> bool:
        """Decides a contested challenge; True when the single copy is revoked."""
        receipt = self._send(
            self.resolve_call(
                original,
                duplicate,
                detail_a=detail_a,
                opening_a=opening_a,
                detail_b=detail_b,
                record_b=record_b,
            )
        )
        state = self._event(receipt, "ChallengeDecided")["state"]
        return DisputeState(state) is DisputeState.UPHELD

    def finalize(self, original: int, duplicate: int, record_b: RecordProof) -> bool:
        """Decides a challenge after its window; True when the single copy is revoked."""
        receipt = self._send(self.finalize_call(original, duplicate, record_b))
        state = self._event(receipt, "ChallengeDecided")["state"]
        return DisputeState(state) is DisputeState.UPHELD

    def settle(self, original: int, duplicate: int) -> DisputeState:
        """Settles an upheld challenge (see :meth:`settle_call`); returns SETTLED or REVERSED."""
        receipt = self._send(self.settle_call(original, duplicate))
        return DisputeState(self._event(receipt, "ChallengeDecided")["state"])

    def reinstate_call(self, original: int, duplicate: int, *, bond: int) -> Call:
        """Reverse a win settled after the hold whose batched winner was revoked since: the
        single ``duplicate`` is active again at the Registry, backed by ``bond`` (the Registry's
        bond, sent as the value)."""
        return Call(self.contract.functions.reinstate(original, duplicate), value=bond)

    def reinstate(self, original: int, duplicate: int, *, bond: int) -> None:
        """Reverses a settled win (see :meth:`reinstate_call`)."""
        self._send(self.reinstate_call(original, duplicate, bond=bond))

    def revoke_duplicate_image(
        self,
        item: int,
        single: int,
        *,
        detail_hash: bytes,
        opening: ItemOpening,
        record: RecordProof,
    ) -> int:
        """Rules on one image registered both in a batch and alone (see
        :meth:`revoke_duplicate_image_call`); returns the id of the token it revoked."""
        receipt = self._send(
            self.revoke_duplicate_image_call(
                item, single, detail_hash=detail_hash, opening=opening, record=record
            )
        )
        return int(self._event(receipt, "DuplicateImageRevoked")["revoked"])

    def revoke_duplicate_item(
        self,
        first: int,
        second: int,
        *,
        first_detail_hash: bytes,
        first_opening: ItemOpening,
        second_detail_hash: bytes,
        second_opening: ItemOpening,
    ) -> int:
        """Rules on two batch items of one image (see :meth:`revoke_duplicate_item_call`);
        returns the revoked id."""
        call_ = self.revoke_duplicate_item_call(
            first,
            second,
            first_detail_hash=first_detail_hash,
            first_opening=first_opening,
            second_detail_hash=second_detail_hash,
            second_opening=second_opening,
        )
        receipt = self._send(call_)
        return int(self._event(receipt, "DuplicateImageRevoked")["revoked"])

    # -- reads ----------------------------------------------------------------------------------
    def dispute(self, original: int, duplicate: int) -> CourtDispute:
        d = call(self.contract.functions.disputeOf(original, duplicate).call)
        return CourtDispute(
            original,
            duplicate,
            str(d[0]),
            int(d[1]),
            DisputeState(d[2]),
            str(d[3]),
            int(d[4]),
            bytes(d[5]),
        )

    def misattestation(self, token_id: int) -> Misattestation:
        c = call(self.contract.functions.misattestationOf(token_id).call)
        return Misattestation(token_id, str(c[0]), int(c[1]), DisputeState(c[2]), bytes(c[3]))

    def claimed_record(self, token_id: int, registry: RegistryClient) -> RecordProof:
        """The record proof single ``token_id``'s latest mis-attestation claim was made against,
        which ``finalizeMisattested`` takes: the token's current record unless a ``reclaim``
        wrote a newer one since (the claim then ends Void, its deposit back, but only with the
        claimed record's proof: the current one reverts ``CourtBadProof`` and would leave the
        claimant's deposit in the court). :class:`LedgerError` if no registration matches."""
        claimed = self.misattestation(token_id).record_hash
        for registered in reversed(registry.registrations(token_id)):
            if registered.proof.record_hash == claimed:
                return registered.proof
        raise LedgerError(f"no registration of token {token_id} is its claim's record")
