"""On-chain actions as unsigned transactions for any wallet, and a relay for signed ones.

Every builder estimates gas as the caller (``from`` = the signed-in address), so a transaction
the contract would refuse is refused here, with the contract's custom error as ``code``, before
anyone signs. The server never sees a private key.
"""

from __future__ import annotations

from typing import Annotated

from eth_utils import keccak
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3.logs import DISCARD

from ledger import Asset, Deployment, EspRegistryClient, HtlcClient, LockTerms, RegistryClient
from ledger.clients import Registration
from ledger.clients.batch import submit_feedback_batch_call, withdraw_batch_call
from ledger.clients.batch_registry import ItemOpening
from ledger.clients.committee import CommitteeClient, review_key
from ledger.clients.registry import RecordProof
from ledger.errors import LedgerError, TransactionFailed
from ledger.tx import RelayRejected, explain_revert, relay, tx_status
from marketplace_api.deps import (
    CurrentAccount,
    DeploymentDep,
    LimiterDep,
    SessionDep,
    SettingsDep,
    client_key,
)
from marketplace_api.errors import Conflict, NotFound, Unprocessable, declare
from marketplace_api.models import Product
from marketplace_api.schemas import (
    ErrorBody,
    RelayIn,
    RelayOut,
    TxEvent,
    TxState,
    TxStatusOut,
    UnsignedTx,
)
from marketplace_api.types import Address, Bytes32, LockJson, Text, TokenId, Uint256, token_hex
from services.esp_stake import MAX_STAKE, TopUpRefused, check_top_up
from services.exchange import CollectionReader, MisattestationClaimOpen, collection_at
from services.exchange.collection import misattestation_of
from services.exchange.swap import check_claim_window, check_claim_windows
from services.exchange.trade import PENDING_DISPUTES
from services.provenance import DETAIL_LENGTH

# Every builder: 401 (not signed in), 409 (the contract's custom error), 422 (schema, or the
# transaction cannot be estimated), 502 (the chain failed).
router = APIRouter(prefix="/v1/tx", tags=["transactions"], responses=declare(502))
BUILDS = declare(401, 409)
BUILDS_FROM_INDEX = declare(401, 404, 409)  # the proofs come from the indexed products

Uint = Uint256
Uint64 = Annotated[int, Field(ge=0, lt=2**64)]


class LockIn(LockJson):
    """A lock exactly as a task or a trade returns it (``asset`` by name, ``amount`` decimal)."""

    def terms(self) -> LockTerms:
        return LockTerms(
            self.sender,
            self.receiver,
            Asset[self.asset],
            self.token,
            self.amount,
            bytes.fromhex(self.hashlock[2:]),
            self.timelock,
        )


class LockEtherIn(BaseModel):
    receiver: Address
    amount: Annotated[Uint256, Field(gt=0)]
    hashlock: Bytes32
    timelock: Uint64


class LockTokenIn(BaseModel):
    token_id: TokenId
    receiver: Address
    hashlock: Bytes32
    timelock: Uint64
    collection: Annotated[
        Address | None,
        Field(
            description="the token's contract: the Registry (the default) or the deployment's "
            "BatchRegistry for a batched item; any other address is 422 unknown_collection"
        ),
    ] = None


class WithdrawIn(BaseModel):
    lock: LockIn
    preimage: Bytes32


class LockOnlyIn(BaseModel):
    lock: LockIn


class FeedbackIn(BaseModel):
    lock: LockIn
    positive: bool


class AcknowledgeIn(BaseModel):
    """The ESP's EIP-712 quote for a lock that exists: the lock as the task returns it and the
    task's ``quote_signature``."""

    lock: LockIn
    signature: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


# A batch is one transaction: its size is bounded so its gas stays far below a block's limit.
MAX_BATCH = 64


class WithdrawBatchIn(BaseModel):
    """Each item as ``/tx/locks/withdraw`` takes it; all settle or none (the first bad lock's
    custom error is the refusal's ``code``)."""

    items: Annotated[list[WithdrawIn], Field(min_length=1, max_length=MAX_BATCH)]


class FeedbackBatchIn(BaseModel):
    """Each item as ``/tx/feedback`` takes it; all are recorded or none."""

    items: Annotated[list[FeedbackIn], Field(min_length=1, max_length=MAX_BATCH)]


class EspRegisterIn(BaseModel):
    endpoint: Annotated[Text, Field(min_length=1, max_length=256)]
    price: Uint
    stake: Uint


class EspAddStakeIn(BaseModel):
    amount: Annotated[
        Uint256,
        Field(
            gt=0,
            le=MAX_STAKE,
            description="wei to add to the caller's ESP stake (the Registry keeps a stake in 128 "
            "bits)",
        ),
    ]


class CommitIn(BaseModel):
    commitment: Bytes32


class RevealIn(BaseModel):
    content_hash: Bytes32
    fingerprint: Bytes32
    detail: Annotated[str, Field(pattern=rf"^0x[0-9a-fA-F]{{{2 * DETAIL_LENGTH}}}$")]
    salt: Bytes32
    # The paid generation lock: its sender is the owner, its receiver the attesting ESP, its id
    # the attested task.
    lock: LockIn
    model_id: Bytes32
    seed: Uint
    metadata_uri: Annotated[Text, Field(max_length=512)] = ""
    attestation: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


class ChallengeIn(BaseModel):
    """Token ids as decimal strings (what every response carries) or 0x-hex."""

    original: TokenId
    duplicate: TokenId


class ApproveIn(BaseModel):
    token_id: TokenId
    collection: Annotated[
        Address | None,
        Field(
            description="the token's contract: the Registry (the default) or the deployment's "
            "BatchRegistry for a batched item; any other address is 422 unknown_collection"
        ),
    ] = None


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


@router.post("/esp/register", response_model=UnsignedTx, responses=BUILDS)
def esp_register(body: EspRegisterIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Register the caller as an ESP with a stake."""
    call = EspRegistryClient(dep).register_call(body.endpoint, price=body.price, stake=body.stake)
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/esp/acknowledge", response_model=UnsignedTx, responses=BUILDS)
def esp_acknowledge(body: AcknowledgeIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Record the ESP's signed quote for an open generation lock (anyone may send it; the
    signature must be the lock's receiver's over exactly these terms, else 409
    ``QuoteInvalidSignature``). Only acknowledged locks count for or against the ESP."""
    call = EspRegistryClient(dep).acknowledge_call(body.lock.terms(), _b(body.signature))
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/esp/add-stake", response_model=UnsignedTx, responses=BUILDS)
def esp_add_stake(body: EspAddStakeIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Add ``amount`` wei to the caller's ESP stake: a top-up, or the return of an ESP a slash
    took out of service once back at the minimum (409 ``EspStakeTooLow`` short of it). 409
    ``EspNotRegistered`` for an address that is not a registered ESP or one that deregistered
    (its exit runs its course); 422 ``stake_too_large`` past a 128-bit stake,
    ``insufficient_funds`` above the caller's balance."""
    esps = EspRegistryClient(dep)
    balance = dep.chain.w3.eth.get_balance(account)  # type: ignore[arg-type]
    try:
        check_top_up(stake=esps.esp_info(account).stake, amount=body.amount, balance=balance)
    except TopUpRefused as exc:
        raise Unprocessable(str(exc), code=exc.code) from None
    return UnsignedTx.of(dep.chain, esps.add_stake_call(body.amount), sender=account)


@router.post("/locks/ether", response_model=UnsignedTx, responses=BUILDS)
def lock_ether(body: LockEtherIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Lock Ether for a receiver under a sha256 hashlock until a timelock."""
    call = HtlcClient(dep).lock_ether_call(
        body.receiver, amount=body.amount, hashlock=_b(body.hashlock), timelock=body.timelock
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/locks/token", response_model=UnsignedTx, responses=BUILDS)
def lock_token(body: LockTokenIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Lock a registered image token (of the Registry or the BatchRegistry) for a receiver (the
    seller's swap leg). 409 ``misattestation_claim_open`` while a mis-attestation claim against
    the token is open at the BatchCourt (read on chain), as for its listing, trade request and
    payment locks: its buyer could not pay, and the token would wait in the escrow."""
    claim = misattestation_of(dep, body.token_id)
    if claim is not None and claim.state in PENDING_DISPUTES:
        raise MisattestationClaimOpen(body.token_id, claim_round=claim.round)
    call = HtlcClient(dep).lock_erc721_call(
        collection_at(dep, body.collection).address,
        body.token_id,
        body.receiver,
        hashlock=_b(body.hashlock),
        timelock=body.timelock,
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/locks/withdraw", response_model=UnsignedTx, responses=BUILDS)
def withdraw(body: WithdrawIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Withdraw a lock to its receiver with the preimage. 409 ``claim_window_closed`` for an
    Ether or ERC-20 lock whose claim window (its block + the HashTimeLock's ``claimWindow``)
    closes within five blocks of the head (``fields.last_claim_block``, ``fields.block``: the
    head): the transaction could be mined past the window, where it fails but publishes the
    preimage (a seller's secret would hand the buyer the token and the refund)."""
    htlc = HtlcClient(dep)
    lock = body.lock.terms()
    check_claim_window(htlc, lock)
    call = htlc.withdraw_call(lock, _b(body.preimage))
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/locks/withdraw-batch", response_model=UnsignedTx, responses=BUILDS)
def withdraw_many(body: WithdrawBatchIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Withdraw many locks in one transaction, each to its own receiver with its preimage. 409
    ``claim_window_closed`` (as ``/tx/locks/withdraw``, the first such lock's fields) when any
    Ether or ERC-20 lock's claim window closes within five blocks of the head: the batch settles
    all or none, so one late lock would revert it and publish every preimage in it."""
    locks = [item.lock.terms() for item in body.items]
    preimages = [_b(item.preimage) for item in body.items]
    htlc = HtlcClient(dep)
    check_claim_windows(htlc, locks)
    call = withdraw_batch_call(htlc, locks, preimages)
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/locks/refund", response_model=UnsignedTx, responses=BUILDS)
def refund(body: LockOnlyIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Refund an expired lock to its sender."""
    call = HtlcClient(dep).refund_call(body.lock.terms())
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/registry/approve", response_model=UnsignedTx, responses=BUILDS)
def approve(body: ApproveIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Approve the hash-time-lock escrow to take a token of the Registry or the BatchRegistry
    (``collection``), before the seller's token lock (``/v1/tx/locks/token``)."""
    reader = CollectionReader(dep, collection_at(dep, body.collection))
    call = reader.approve_call(dep.htlc.address, body.token_id)
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/registry/commit", response_model=UnsignedTx, responses=BUILDS)
def commit(body: CommitIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Commit to a registration with the bond (keccak256 of content hash, fingerprint, detail
    hash, owner, salt); a commitment not revealed within the commit window forfeits it."""
    call = RegistryClient(dep).commit_call(_b(body.commitment))
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/registry/reveal", response_model=UnsignedTx, responses=BUILDS)
def reveal(body: RevealIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Reveal a committed registration with its paid generation lock and the ESP's attestation."""
    lock = body.lock.terms()
    reg = Registration(
        content_hash=_b(body.content_hash),
        fingerprint=_b(body.fingerprint),
        detail=_b(body.detail),
        owner=lock.sender,
        esp=lock.receiver,
        task_id=lock.id,
        model_id=_b(body.model_id),
        seed=body.seed,
        metadata_uri=body.metadata_uri,
        salt=_b(body.salt),
    )
    try:  # the contract's bare revert would read as a 502 chain error: 422 here
        reg.check_uri_sender(account)
    except LedgerError as exc:
        raise Unprocessable(str(exc), code="metadata_uri_not_registrant") from exc
    call = RegistryClient(dep).reveal_call(reg, lock, _b(body.attestation))
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/registry/challenge", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def challenge(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Challenge a later near-duplicate with an earlier token the caller owns (with the deposit);
    the record proofs come from the indexed `Registered` events."""
    a, b = _product(session, body.original), _product(session, body.duplicate)
    call = RegistryClient(dep).challenge_call(body.original, body.duplicate, (_proof(a), _proof(b)))
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/registry/contest", response_model=UnsignedTx, responses=BUILDS)
def contest(body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Contest a challenge of the caller's token (with the same deposit) within the window; where
    the deployment has a committee, request its review first (`POST /v1/tx/review/request`)."""
    call = RegistryClient(dep).contest_call(body.original, body.duplicate)
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/review/request", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def request_review(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Ask the committee to review a challenged pair (with the review fee), before contesting it;
    the jurors are drawn after the next block (`POST /v1/tx/review/draw`). 409
    CommitteeNoOpenDispute when the Registry holds no open dispute of the pair (not challenged,
    or already decided); 409 CommitteeTooSmall when too few jurors are enrolled (contest on the
    detail rule then); a request the enrolled jurors are too busy to serve now is held and
    drawn once they are free."""
    if "CommitteeVerifier" not in dep.manifest.contracts:
        raise Conflict("this deployment has no committee: contest directly", code="no_committee")
    a, b = _product(session, body.original), _product(session, body.duplicate)
    call = CommitteeClient(dep).request_review_call(
        collection=RegistryClient(dep).address,
        original=body.original,
        duplicate=body.duplicate,
        hash_a=keccak(_b(a.detail or "0x")),
        hash_b=keccak(_b(b.detail or "0x")),
        # the committee checks them against the Registry's records and an open dispute
        opening_a=ItemOpening(record=_proof(a)),
        opening_b=ItemOpening(record=_proof(b)),
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/review/draw", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def draw_review(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Draw the jurors of a requested review (anyone, once, after its draw block); 409 with the
    contract's error otherwise (CommitteeDrawTooEarly, CommitteeAlreadyDrawn, CommitteeTooSmall
    while the enrolled jurors are busy in other reviews: ask again once one is settled)."""
    if "CommitteeVerifier" not in dep.manifest.contracts:
        raise Conflict("this deployment has no committee", code="no_committee")
    a, b = _product(session, body.original), _product(session, body.duplicate)
    key = review_key(
        RegistryClient(dep).address,
        body.original,
        body.duplicate,
        keccak(_b(a.detail or "0x")),
        keccak(_b(b.detail or "0x")),
    )
    return UnsignedTx.of(dep.chain, CommitteeClient(dep).draw_call(key), sender=account)


@router.post("/registry/resolve", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def resolve(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Decide a contested challenge: the contract compares the two published detail descriptors."""
    a, b = _product(session, body.original), _product(session, body.duplicate)
    call = RegistryClient(dep).resolve_call(
        body.original,
        body.duplicate,
        (_proof(a), _proof(b)),
        (_b(a.detail or "0x"), _b(b.detail or "0x")),
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/registry/finalize", response_model=UnsignedTx, responses=BUILDS)
def finalize(body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Decide an uncontested challenge once its contest window has passed."""
    call = RegistryClient(dep).finalize_call(body.original, body.duplicate)
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/registry/settle", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def settle(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Settle a revocation's held bond (or reinstate the copy if the original was revoked)."""
    b = _product(session, body.duplicate)
    call = RegistryClient(dep).settle_call(body.original, body.duplicate, _proof(b))
    return UnsignedTx.of(dep.chain, call, sender=account)


def _product(session: Session, token_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token_id)))
    if product is None or product.detail is None:
        raise NotFound(f"no registered product {token_id}", code="unknown_product")
    return product


def _proof(p: Product) -> RecordProof:
    """The token's record proof as its indexed ``Registered`` event published it."""
    return RecordProof(
        fingerprint=_b(p.fingerprint),
        detail_hash=_b(p.detail_hash or "0x"),
        esp=p.esp,
        priority_block=p.priority_block,
        commit_block=p.commit_block,
        reveal_block=p.registered_block,
    )


@router.post("/feedback", response_model=UnsignedTx, responses=BUILDS)
def feedback(body: FeedbackIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Feedback on the ESP paid by a withdrawn lock the caller sent."""
    call = EspRegistryClient(dep).submit_feedback_call(body.lock.terms(), positive=body.positive)
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/feedback/batch", response_model=UnsignedTx, responses=BUILDS)
def feedback_many(body: FeedbackBatchIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Feedback on many withdrawn locks the caller sent, one rating each, in one transaction."""
    locks = [item.lock.terms() for item in body.items]
    call = submit_feedback_batch_call(
        EspRegistryClient(dep), locks, [item.positive for item in body.items]
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/feedback/refund", response_model=UnsignedTx, responses=BUILDS)
def record_refund(body: LockOnlyIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Record a refunded lock against its ESP."""
    call = EspRegistryClient(dep).record_refund_call(body.lock.terms())
    return UnsignedTx.of(dep.chain, call, sender=account)


@router.post("/relay", response_model=RelayOut, responses=declare(401, 409, 429))
def relay_signed(
    body: RelayIn,
    request: Request,
    account: CurrentAccount,
    dep: DeploymentDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> RelayOut:
    """Send a transaction the caller signed elsewhere (only to this deployment's contracts;
    ``AIGC_RATE_RELAY_PER_MINUTE`` per signed-in address, 429 beyond: each is simulated on the
    node first, with the gas its signer chose).

    Answers with the hash as soon as the node accepts it; follow it with ``GET
    /v1/tx/{tx_hash}``. Refused with a stable code and the node's ``reason``: 409
    ``nonce_too_low``, ``replacement_underpriced``, ``already_known``; 422
    ``fee_below_base_fee``, ``insufficient_funds``, ``intrinsic_gas_too_low``,
    ``gas_limit_exceeded``, ``relay_refused`` (not a transaction, another contract or chain);
    409 with the contract's custom error when the transaction would revert."""
    del account  # any signed-in account may relay; the signature names the sender
    limiter.hit("relay", client_key(request), limit=settings.rate_relay_per_minute)
    allowed = {info["address"] for info in dep.manifest.contracts.values()}
    try:
        tx_hash = relay(dep.chain, bytes.fromhex(body.raw[2:]), allowed_to=allowed)
    except RelayRejected:
        raise  # a node refusal: the error table answers with its code and the node's reason
    except TransactionFailed as exc:
        raise Unprocessable(str(exc), code="relay_refused") from None
    return RelayOut(tx_hash=tx_hash)


TxHash = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]


@router.get("/{tx_hash}", response_model=TxStatusOut)
def get_tx(tx_hash: TxHash, dep: DeploymentDep) -> TxStatusOut:
    """A transaction's state: ``pending`` (in the node's pool, e.g. behind a nonce gap),
    ``mined`` (status 1 or 0, block, gas used, this deployment's events, and on a revert the
    contract's custom error) or ``unknown``."""
    found = tx_status(dep.chain, tx_hash)
    if found["state"] != "mined":
        return TxStatusOut(tx_hash=tx_hash.lower(), state=TxState(found["state"]))
    receipt = found["receipt"]
    error = None
    if receipt["status"] != 1:
        why = explain_revert(dep.chain, tx_hash, receipt)
        error = ErrorBody(code=getattr(why, "name", "transaction_reverted"), message=str(why))
    return TxStatusOut(
        tx_hash=tx_hash.lower(),
        state=TxState.MINED,
        status=receipt["status"],
        block=receipt["blockNumber"],
        gas_used=receipt["gasUsed"],
        events=_events(dep, receipt),
        error=error,
    )


def _events(dep: Deployment, receipt: object) -> list[TxEvent]:
    events: list[TxEvent] = []
    for name in dep.manifest.contracts:
        contract = dep.contract(name)
        if not any(item.get("type") == "event" for item in contract.abi):
            continue
        for abi_event in list(contract.events):  # type: ignore[call-overload]
            for log in abi_event().process_receipt(receipt, errors=DISCARD):
                events.append(TxEvent(contract=name, event=log["event"], log_index=log["logIndex"]))
    return sorted(events, key=lambda e: e.log_index)
