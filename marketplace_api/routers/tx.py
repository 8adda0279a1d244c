"""On-chain actions as unsigned transactions for any wallet, and a relay for signed ones.

Every builder estimates gas as the caller (``from`` = the signed-in address), so a transaction
the contract would refuse is refused here, with the contract's custom error as ``code``, before
anyone signs. The server never sees a private key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3.logs import DISCARD

from ledger import Asset, Deployment, LockTerms, RegistryClient
from ledger.errors import TransactionFailed
from ledger.tx import relay
from marketplace_api.catalog import token_hex
from marketplace_api.deps import CurrentAccount, DeploymentDep, SessionDep
from marketplace_api.errors import NotFound, Unprocessable
from marketplace_api.models import Product
from marketplace_api.schemas import RelayIn, RelayOut, UnsignedTx
from marketplace_api.types import Address, Bytes32, Text
from services.provenance import DETAIL_LENGTH

router = APIRouter(prefix="/v1/tx", tags=["transactions"])

Uint = Annotated[int, Field(ge=0, lt=2**256)]
Uint64 = Annotated[int, Field(ge=0, lt=2**64)]


class LockIn(BaseModel):
    sender: Address
    receiver: Address
    asset: Annotated[str, Field(pattern="^(ETHER|ERC20|ERC721)$")]
    token: Address
    amount: Uint
    hashlock: Bytes32
    timelock: Uint64

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
    amount: Annotated[int, Field(gt=0, lt=2**256)]
    hashlock: Bytes32
    timelock: Uint64


class LockTokenIn(BaseModel):
    token_id: Uint
    receiver: Address
    hashlock: Bytes32
    timelock: Uint64


class WithdrawIn(BaseModel):
    lock: LockIn
    preimage: Bytes32


class LockOnlyIn(BaseModel):
    lock: LockIn


class FeedbackIn(BaseModel):
    lock: LockIn
    positive: bool


class EspRegisterIn(BaseModel):
    endpoint: Annotated[Text, Field(min_length=1, max_length=256)]
    price: Uint
    stake: Uint


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
    original: Bytes32
    duplicate: Bytes32


class ApproveIn(BaseModel):
    token_id: Bytes32


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


@router.post("/esp/register", response_model=UnsignedTx)
def esp_register(body: EspRegisterIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Register the caller as an ESP with a stake."""
    fn = dep.esp_registry.functions.register(body.endpoint, body.price)
    return UnsignedTx.for_call(dep.chain, fn, sender=account, value=body.stake)


@router.post("/locks/ether", response_model=UnsignedTx)
def lock_ether(body: LockEtherIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Lock Ether for a receiver under a sha256 hashlock until a timelock."""
    fn = dep.htlc.functions.lockEther(body.receiver, _b(body.hashlock), body.timelock)
    return UnsignedTx.for_call(dep.chain, fn, sender=account, value=body.amount)


@router.post("/locks/token", response_model=UnsignedTx)
def lock_token(body: LockTokenIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Lock a registered image token for a receiver (the seller's swap leg)."""
    fn = dep.htlc.functions.lockERC721(
        dep.registry.address, body.token_id, body.receiver, _b(body.hashlock), body.timelock
    )
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/locks/withdraw", response_model=UnsignedTx)
def withdraw(body: WithdrawIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Withdraw a lock to its receiver with the preimage."""
    fn = dep.htlc.functions.withdraw(body.lock.terms().as_tuple(), _b(body.preimage))
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/locks/refund", response_model=UnsignedTx)
def refund(body: LockOnlyIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Refund an expired lock to its sender."""
    fn = dep.htlc.functions.refund(body.lock.terms().as_tuple())
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/registry/approve", response_model=UnsignedTx)
def approve(body: ApproveIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Approve the hash-time-lock escrow to take a token (before listing it in a swap)."""
    fn = dep.registry.functions.approve(dep.htlc.address, int(body.token_id, 16))
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/registry/commit", response_model=UnsignedTx)
def commit(body: CommitIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Commit to a registration with the bond (keccak256 of content hash, fingerprint, detail
    hash, owner, salt); a commitment not revealed within the commit window forfeits it."""
    fn = dep.registry.functions.commit(_b(body.commitment))
    return UnsignedTx.for_call(dep.chain, fn, sender=account, value=_params(dep)["bond"])


@router.post("/registry/reveal", response_model=UnsignedTx)
def reveal(body: RevealIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Reveal a committed registration with its paid generation lock and the ESP's attestation."""
    reg = (
        _b(body.content_hash),
        _b(body.fingerprint),
        _b(body.salt),
        _b(body.model_id),
        body.seed,
        body.metadata_uri,
    )
    fn = dep.registry.functions.reveal(
        reg, body.lock.terms().as_tuple(), _b(body.detail), _b(body.attestation)
    )
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/registry/challenge", response_model=UnsignedTx)
def challenge(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Challenge a later near-duplicate with an earlier token the caller owns (with the deposit);
    the record proofs come from the indexed `Registered` events."""
    a, b = _product(session, body.original), _product(session, body.duplicate)
    fn = dep.registry.functions.challenge(
        int(body.original, 16), int(body.duplicate, 16), _proof(a), _proof(b)
    )
    return UnsignedTx.for_call(
        dep.chain, fn, sender=account, value=_params(dep)["challenge_deposit"]
    )


@router.post("/registry/contest", response_model=UnsignedTx)
def contest(body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Contest a challenge of the caller's token (with the same deposit) within the window."""
    fn = dep.registry.functions.contest(int(body.original, 16), int(body.duplicate, 16))
    return UnsignedTx.for_call(
        dep.chain, fn, sender=account, value=_params(dep)["challenge_deposit"]
    )


@router.post("/registry/resolve", response_model=UnsignedTx)
def resolve(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Decide a contested challenge: the contract compares the two published detail descriptors."""
    a, b = _product(session, body.original), _product(session, body.duplicate)
    fn = dep.registry.functions.resolve(
        int(body.original, 16),
        int(body.duplicate, 16),
        _proof(a),
        _proof(b),
        _b(a.detail or "0x"),
        _b(b.detail or "0x"),
    )
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/registry/finalize", response_model=UnsignedTx)
def finalize(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Decide an uncontested challenge once its contest window has passed."""
    b = _product(session, body.duplicate)
    fn = dep.registry.functions.finalize(int(body.original, 16), int(body.duplicate, 16), _proof(b))
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/registry/settle", response_model=UnsignedTx)
def settle(
    body: ChallengeIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Settle a revocation's held bond (or reinstate the copy if the original was revoked)."""
    b = _product(session, body.duplicate)
    fn = dep.registry.functions.settle(int(body.original, 16), int(body.duplicate, 16), _proof(b))
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


def _params(dep: Deployment) -> dict[str, int]:
    return RegistryClient(dep).params()


def _product(session: Session, token_id: str) -> Product:
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token_id)))
    if product is None or product.detail is None:
        raise NotFound(f"no registered product {token_id}", code="unknown_product")
    return product


def _proof(p: Product) -> tuple[bytes, bytes, str, int, int, int]:
    return (
        _b(p.fingerprint),
        _b(p.detail_hash or "0x"),
        p.esp,
        p.priority_block,
        p.commit_block,
        p.registered_block,  # the reveal's block
    )


@router.post("/feedback", response_model=UnsignedTx)
def feedback(body: FeedbackIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Feedback on the ESP paid by a withdrawn lock the caller sent."""
    fn = dep.esp_registry.functions.submitFeedback(body.lock.terms().as_tuple(), body.positive)
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/feedback/refund", response_model=UnsignedTx)
def record_refund(body: LockOnlyIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Record a refunded lock against its ESP."""
    fn = dep.esp_registry.functions.recordRefund(body.lock.terms().as_tuple())
    return UnsignedTx.for_call(dep.chain, fn, sender=account)


@router.post("/relay", response_model=RelayOut)
def relay_signed(body: RelayIn, account: CurrentAccount, dep: DeploymentDep) -> RelayOut:
    """Send a transaction the caller signed elsewhere (only to this deployment's contracts)."""
    allowed = {info["address"] for info in dep.manifest.contracts.values()}
    try:
        receipt = relay(dep.chain, bytes.fromhex(body.raw[2:]), allowed_to=allowed)
    except TransactionFailed as exc:  # not a transaction, wrong target or chain, or reverted
        raise Unprocessable(str(exc), code="relay_refused") from None
    events: list[dict[str, Any]] = []
    for name in dep.manifest.contracts:
        contract = dep.contract(name)
        if not any(item.get("type") == "event" for item in contract.abi):
            continue
        for abi_event in list(contract.events):  # type: ignore[call-overload]
            for log in abi_event().process_receipt(receipt, errors=DISCARD):
                events.append(
                    {"contract": name, "event": log["event"], "log_index": log["logIndex"]}
                )
    return RelayOut(
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        status=receipt["status"],
        block=receipt["blockNumber"],
        gas_used=receipt["gasUsed"],
        events=sorted(events, key=lambda e: e["log_index"]),
    )
