"""Batches (issue 16): a registered batch and its items, the owner's manifest, item proofs.

The chain holds a batch's two roots and publishes its fingerprints; the manifest (content hashes,
detail descriptors, seeds) is accepted only when it gives those very roots
(:func:`services.batch.check_manifest`), so anyone may publish it and nobody can publish a false
one. A fingerprint proof needs no manifest (the fingerprints are public from the event): a
challenger can always prove a batched copy's fingerprint.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any, Literal

from eth_utils import keccak
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from ledger import Deployment, merkle
from ledger.clients.batch_court import BatchCourtClient, MisattestedItem
from ledger.clients.batch_registry import BatchRegistryClient, ItemOpening
from ledger.clients.committee import CommitteeClient
from ledger.clients.registry import RecordProof, RegistryClient
from ledger.errors import LedgerError
from marketplace_api.batch_catalog import recheck_details
from marketplace_api.deps import (
    CurrentAccount,
    DeploymentDep,
    LimiterDep,
    SessionDep,
    SettingsDep,
    client_key,
)
from marketplace_api.duplicates import note_twin
from marketplace_api.errors import Conflict, Forbidden, NotFound, Unprocessable, declare
from marketplace_api.misattestations import claim_json, latest_claims
from marketplace_api.models import BatchAttestationRequest, BatchRecord, Product, Task
from marketplace_api.routers.tx import LockIn
from marketplace_api.schemas import MisattestationOut, UnsignedTx
from marketplace_api.types import Address, Text, TokenId, Uint256, token_hex
from services.batch import BatchRequest
from services.batch.manifest import check_manifest
from services.batch.requests import RequestState, check_attestation, check_refusal
from services.generation import TaskState

router = APIRouter(prefix="/v1/batches", tags=["batches"])

BatchId = Annotated[int, Path(ge=1, lt=2**63, description="the batch id (from 1)")]
Index = Annotated[int, Path(ge=0, lt=2**32, description="the item's index in its batch")]
Hex = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]*$", max_length=2 + 2 * 4096)]


class BatchItemOut(BaseModel):
    index: int
    token_id: str = Field(description="(batchId << 32) | index, decimal string")
    fingerprint: str
    owner: str
    status: str
    content_hash: str | None = None  # from the manifest
    detail_hash: str | None = None
    seed: str | None = None
    misattestation: MisattestationOut | None = Field(
        default=None,
        description="the item's latest mis-attestation claim (null: never claimed); while "
        "open the item is not traded (409 misattestation_claim_open)",
    )


class BatchOut(BaseModel):
    batch_id: int
    producer: str
    esp: str
    count: int
    start_id: str
    fp_root: str
    items_root: str
    task_id: str
    model_id: str
    priority_block: int
    commit_block: int
    reveal_block: int
    tx_hash: str
    metadata_uri: str
    manifest_published: bool
    items: list[BatchItemOut]


class ItemProofOut(BaseModel):
    """What a challenge (``fingerprint_proof``) and a resolve (``item_proof``, the manifest's
    fields) pass for this item. ``count`` is the batch's: the items tree is ordered, and an
    item proof verifies only against its index and the count (``ledger.merkle.ordered_verify``)."""

    batch_id: int
    index: int
    count: int
    token_id: str
    fingerprint: str
    fingerprint_proof: list[str]
    fp_root: str
    items_root: str
    content_hash: str | None = None
    detail_hash: str | None = None
    detail: str | None = None
    seed: str | None = None
    item_proof: list[str] | None = None


class ManifestItemIn(BaseModel):
    content_hash: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    fingerprint: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    detail: Hex
    seed: Annotated[str, Field(pattern=r"^[0-9]{1,78}$")]


class ManifestIn(BaseModel):
    """The items in token order, as ``aigc register --batch`` writes them (extra keys ignored)."""

    items: Annotated[list[ManifestItemIn], Field(min_length=1, max_length=4096)]


def _batch(session: SessionDep, batch_id: int) -> BatchRecord:
    batch = session.get(BatchRecord, batch_id)
    if batch is None:
        raise NotFound(f"no registered batch {batch_id}", code="unknown_batch")
    return batch


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


@router.get("/{batch_id}", response_model=BatchOut, responses=declare(404))
def get_batch(batch_id: BatchId, session: SessionDep) -> BatchOut:
    """A registered batch and every item (content hashes once the manifest is published)."""
    batch = _batch(session, batch_id)
    tokens = [token_hex(merkle.token_id(batch_id, i)) for i in range(batch.count)]
    products = {
        p.token_id: p for p in session.scalars(select(Product).where(Product.token_id.in_(tokens)))
    }
    published = (batch.manifest or {}).get("items", [])
    claims = latest_claims(session, tokens)
    items = []
    for i, token in enumerate(tokens):
        p = products.get(token)
        extra: dict[str, Any] = {}
        if i < len(published):
            m = published[i]
            extra = {k: m[k] for k in ("content_hash", "detail_hash", "seed")}
        items.append(
            BatchItemOut(
                index=i,
                token_id=str(int(token, 16)),
                fingerprint=batch.fingerprints[i],
                owner=p.owner if p is not None else batch.producer,
                status=p.status if p is not None else "active",
                misattestation=None
                if token not in claims
                else MisattestationOut.model_validate(claim_json(claims[token])),
                **extra,
            )
        )
    return BatchOut(
        **{k: getattr(batch, k) for k in BatchOut.model_fields if hasattr(BatchRecord, k)},
        manifest_published=batch.manifest is not None,
        items=items,
    )


@router.post("/{batch_id}/manifest", response_model=BatchOut, responses=declare(401, 404, 422))
def publish_manifest(
    batch_id: BatchId,
    body: ManifestIn,
    account: CurrentAccount,
    session: SessionDep,
    request: Request,
) -> BatchOut:
    """Publish a batch's manifest; refused (422 ``manifest_mismatch`` / ``bad_manifest``) unless
    it gives the batch's on-chain roots. Anyone signed in may publish the one true manifest."""
    del account
    batch = _batch(session, batch_id)
    manifest = check_manifest(
        {"items": [item.model_dump() for item in body.items]},
        batch_id=batch_id,
        items_root=_b(batch.items_root),
        fp_root=_b(batch.fp_root),
        fingerprints=[_b(fp) for fp in batch.fingerprints],
    )
    stored = manifest.to_json()
    first = batch.manifest is None
    batch.manifest = stored
    by_token = {token_hex(int(it["token_id"])): it for it in stored["items"]}
    for product in session.scalars(select(Product).where(Product.token_id.in_(list(by_token)))):
        it = by_token[product.token_id]
        product.seed, product.detail_hash, product.detail = (
            it["seed"],
            it["detail_hash"],
            it["detail"],
        )
    session.flush()
    # the watch ran when the batch was registered, before its items had descriptors
    recheck_details(session, by_token, since_block=batch.reveal_block)
    if first:  # an item's bytes registered alone under the same ESP: both holders are told
        for token in by_token:
            note_twin(session, int(token, 16))
    session.commit()
    request.app.state.market.read_cache.clear()
    return get_batch(batch_id, session)


@router.get("/{batch_id}/items/{index}/proof", response_model=ItemProofOut, responses=declare(404))
def item_proof(batch_id: BatchId, index: Index, session: SessionDep) -> ItemProofOut:
    """An item's fingerprint proof (always) and its item proof with content hash, detail and seed
    (once the manifest is published)."""
    batch = _batch(session, batch_id)
    if index >= batch.count:
        raise NotFound(f"batch {batch_id} has {batch.count} items", code="unknown_item")
    _fp, fp_proof = _fp_proof(batch, index)
    out = ItemProofOut(
        batch_id=batch_id,
        index=index,
        count=batch.count,
        token_id=str(merkle.token_id(batch_id, index)),
        fingerprint=batch.fingerprints[index],
        fingerprint_proof=["0x" + p.hex() for p in fp_proof],
        fp_root=batch.fp_root,
        items_root=batch.items_root,
    )
    if batch.manifest is not None:
        m = batch.manifest["items"][index]
        out = out.model_copy(
            update={
                k: m[k] for k in ("content_hash", "detail_hash", "detail", "seed", "item_proof")
            }
        )
    return out


# -- unsigned transactions (as /v1/tx/registry/*: estimated as the caller, so a call the
#    contract would refuse is a 409 with its custom error as `code`) -----------------------------

tx_router = APIRouter(prefix="/v1/tx/batch", tags=["transactions"], responses=declare(502))
BUILDS = declare(401, 409)
BUILDS_FROM_INDEX = declare(401, 404, 409)

Fingerprints = Annotated[
    list[Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]],
    Field(min_length=1, max_length=4096),
]


class BatchCommitIn(BaseModel):
    """``commitment`` = keccak256(abi.encode(itemsRoot, fingerprintsHash, count, owner, salt));
    the value is ``bondPerItem * count``."""

    commitment: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    count: Annotated[int, Field(ge=1, lt=2**32)]


class BatchRevealIn(BaseModel):
    """The attestation file's fields: fingerprints in token order, the named lock as the task
    returns it, the ESP's signature."""

    items_root: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    salt: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    model_id: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
    metadata_uri: Annotated[Text, Field(max_length=512)] = ""
    fingerprints: Fingerprints
    lock: LockIn
    signature: Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{2}){1,2048}$")]


class PairIn(BaseModel):
    """Token ids as decimal strings (what every response carries) or 0x-hex; the duplicate is
    always a batch item, the original a batch item or a single registration."""

    original: TokenId
    duplicate: TokenId


class ContestIn(PairIn):
    """The pair, and the duplicate's opening (its detail, content hash, seed and item proof)
    when its batch's manifest is not published: the contract refuses a contest that does not
    open the contester's own item. All four or none; a published manifest is used first."""

    detail: (
        Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=2 + 2 * 4096)] | None
    ) = None
    content_hash: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")] | None = None
    seed: Annotated[str, Field(pattern=r"^[0-9]{1,78}$")] | None = None
    item_proof: (
        Annotated[list[Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]], Field(max_length=64)]
        | None
    ) = None


def _client(dep: Deployment) -> BatchRegistryClient:
    return BatchRegistryClient(dep)


def _item(session: SessionDep, token_id: int) -> tuple[BatchRecord, int]:
    """The batch and index of batch token ``token_id``; 404 ``unknown_product`` otherwise."""
    try:
        batch_id, index = merkle.split_token_id(token_id)
    except ValueError:
        raise NotFound(f"{token_id} is not a batch token", code="unknown_product") from None
    # A batch id is a uint64 on chain, a BIGINT here: one past 2**63 - 1 (never issued: ids count
    # from 1) is no batch, not an integer overflow (a 500 before, found by the fuzz run).
    batch = session.get(BatchRecord, batch_id) if batch_id < 2**63 else None
    if batch is None or index >= batch.count:
        raise NotFound(f"no registered batch token {token_id}", code="unknown_product")
    return batch, index


def _fp_proof(batch: BatchRecord, index: int) -> tuple[bytes, list[bytes]]:
    fps = [_b(fp) for fp in batch.fingerprints]
    leaves = [merkle.fingerprint_leaf(i, fp) for i, fp in enumerate(fps)]
    return fps[index], merkle.merkle_proof(leaves, index)


def _single(session: SessionDep, token_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token_id)))
    if product is None or product.collection != "registry" or product.detail is None:
        raise NotFound(f"no registered product {token_id}", code="unknown_product")
    return product


def _record(p: Product) -> RecordProof:
    return RecordProof(
        fingerprint=_b(p.fingerprint),
        detail_hash=_b(p.detail_hash or "0x"),
        esp=p.esp,
        priority_block=p.priority_block,
        commit_block=p.commit_block,
        reveal_block=p.registered_block,
    )


def _opening(session: SessionDep, token_id: int) -> tuple[bytes, ItemOpening]:
    """(detail, opening) of a token for ``resolve``: a batch item's from its published manifest
    (404 ``manifest_not_published`` before), a single original's from its record."""
    if not merkle.is_item_id(token_id):
        p = _single(session, token_id)
        return _b(p.detail or "0x"), ItemOpening(record=_record(p))
    batch, index = _item(session, token_id)
    if batch.manifest is None:
        raise NotFound(
            f"batch {batch.batch_id} has no published manifest: its items cannot be opened",
            code="manifest_not_published",
        )
    m = batch.manifest["items"][index]
    proof = tuple(_b(p) for p in m["item_proof"])
    return _b(m["detail"]), ItemOpening(_b(m["content_hash"]), int(m["seed"]), proof)


@tx_router.post("/commit", response_model=UnsignedTx, responses=BUILDS)
def tx_commit(body: BatchCommitIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Commit to a batch of ``count`` items with ``bondPerItem * count``."""
    call = _client(dep).commit_call(_b(body.commitment), body.count)
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/reveal", response_model=UnsignedTx, responses=BUILDS)
def tx_reveal(body: BatchRevealIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Reveal a committed batch with its paid lock and the ESP's batch attestation."""
    call = _client(dep).reveal_call(
        items_root=_b(body.items_root),
        salt=_b(body.salt),
        model_id=_b(body.model_id),
        metadata_uri=body.metadata_uri,
        fingerprints=[_b(fp) for fp in body.fingerprints],
        lock=body.lock.terms(),
        signature=_b(body.signature),
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/challenge", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_challenge(
    body: PairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Challenge a batched near-duplicate with an earlier token the caller owns (a batch item or
    a single registration), with the deposit; proofs come from the indexed events."""
    batch_b, index_b = _item(session, body.duplicate)
    fp_b, proof_b = _fp_proof(batch_b, index_b)
    client = _client(dep)
    if merkle.is_item_id(body.original):
        batch_a, index_a = _item(session, body.original)
        fp_a, proof_a = _fp_proof(batch_a, index_a)
        call = client.challenge_call(body.original, fp_a, proof_a, body.duplicate, fp_b, proof_b)
    else:
        record = _record(_single(session, body.original))
        call = client.challenge_with_single_call(
            body.original, record, body.duplicate, fp_b, proof_b
        )
    return UnsignedTx.of(dep.chain, call, sender=account)


def _contest_opening(
    session: SessionDep, body: ContestIn, batch: BatchRecord, index: int
) -> tuple[bytes, ItemOpening]:
    """The duplicate's opening for ``contest``: from its published manifest, else from the body
    (422 ``opening_required`` if absent or partial, 422 ``bad_opening`` unless it proves the
    item against its batch's items root, so no wallet pays for a transaction bound to revert)."""
    if batch.manifest is not None:
        return _opening(session, body.duplicate)
    given = (body.detail, body.content_hash, body.seed, body.item_proof)
    if any(v is None for v in given):
        raise Unprocessable(
            f"batch {batch.batch_id} has no published manifest: the contest must open item "
            f"{index} (detail, content_hash, seed, item_proof)",
            code="opening_required",
        )
    seed = int(body.seed or "0")
    if seed >= 2**256:
        raise Unprocessable("seed is not a uint256", code="bad_opening")
    detail, content_hash = _b(body.detail or "0x"), _b(body.content_hash or "0x")
    proof = [_b(p) for p in body.item_proof or []]
    leaf = merkle.item_leaf(index, content_hash, keccak(detail), seed)
    if not merkle.ordered_verify(proof, _b(batch.items_root), leaf, index, batch.count):
        raise Unprocessable(
            f"the opening does not prove item {index} against batch {batch.batch_id}'s items root",
            code="bad_opening",
        )
    return detail, ItemOpening(content_hash, seed, tuple(proof))


@tx_router.post("/contest", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_contest(
    body: ContestIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Contest a challenge of the caller's batched token (with the same deposit), opening it:
    from the published manifest, else from the body (the contract checks it, and publishes it
    for the challenger's ``resolve``)."""
    batch, index = _item(session, body.duplicate)
    detail, opening = _contest_opening(session, body, batch, index)
    call = _client(dep).contest_call(body.original, body.duplicate, detail=detail, opening=opening)
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/resolve", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_resolve(
    body: PairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Decide a contested challenge with both detail descriptors: the original's opened against
    its root (a batch item's from its published manifest), the duplicate's as its contester
    opened it (its ``ItemOpened`` event; the contract does not read that opening again)."""
    detail_a, opening_a = _opening(session, body.original)
    opened = _client(dep).opened_item(body.original, body.duplicate)
    if opened is None:
        raise Conflict(
            f"the challenge of {body.duplicate} by {body.original} was not contested",
            code="not_contested",
        )
    detail_b, opening_b = bytes(opened["detail"]), ItemOpening()
    call = _client(dep).resolve_call(
        body.original,
        body.duplicate,
        detail_a=detail_a,
        opening_a=opening_a,
        detail_b=detail_b,
        opening_b=opening_b,
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/finalize", response_model=UnsignedTx, responses=BUILDS)
def tx_finalize(body: PairIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Decide an uncontested challenge once its contest window has passed."""
    call = _client(dep).finalize_call(body.original, body.duplicate)
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/settle", response_model=UnsignedTx, responses=BUILDS)
def tx_settle(body: PairIn, account: CurrentAccount, dep: DeploymentDep) -> UnsignedTx:
    """Settle an upheld challenge of a batched item after the reward hold (anyone may send it):
    the challenger is paid the deposits and ``challengeReward`` and the item's ESP is slashed
    (the slash burned); if the original was revoked meanwhile the challenge is reversed instead
    (the item is reinstated, the deposits go to the accused side, nobody is slashed). 409
    ``BatchRewardHeld`` (``fields.releasableAtBlock``) while the hold runs, ``BatchDisputeState``
    unless the challenge is upheld and unsettled."""
    call = _client(dep).settle_call(body.original, body.duplicate)
    return UnsignedTx.of(dep.chain, call, sender=account)


# -- the BatchCourt: an earlier batched item challenges a later single registration -------------


class CourtPairIn(BaseModel):
    """The original is a batch item, the duplicate a single registration (token ids as decimal
    strings or 0x-hex)."""

    original: TokenId
    duplicate: TokenId


def _court_pair(session: SessionDep, body: CourtPairIn) -> tuple[BatchRecord, int, Product]:
    """The original's batch and index and the duplicate's product; 404 ``unknown_product``
    unless the original is a batch item and the duplicate a single registration."""
    batch, index = _item(session, body.original)
    return batch, index, _single(session, body.duplicate)


@tx_router.post("/court/challenge", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_challenge(
    body: CourtPairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Challenge a later single near-duplicate with an earlier batched item the caller owns (the
    BatchCourt), with the deposit; the proofs come from the indexed events."""
    batch, index, copy = _court_pair(session, body)
    fp_a, proof_a = _fp_proof(batch, index)
    call = BatchCourtClient(dep).challenge_call(
        body.original, fp_a, proof_a, body.duplicate, _record(copy)
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/court/contest", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_contest(
    body: CourtPairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Contest a BatchCourt challenge of the caller's single token, with the same deposit (its
    detail is public already: its ``Registered`` event)."""
    _court_pair(session, body)
    call = BatchCourtClient(dep).contest_call(body.original, body.duplicate)
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/court/resolve", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_resolve(
    body: CourtPairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Decide a contested BatchCourt challenge with both detail descriptors: the batched item's
    from its published manifest (404 ``manifest_not_published`` before), the copy's from its
    record."""
    _, _, copy = _court_pair(session, body)
    detail_a, opening_a = _opening(session, body.original)
    call = BatchCourtClient(dep).resolve_call(
        body.original,
        body.duplicate,
        detail_a=detail_a,
        opening_a=opening_a,
        detail_b=_b(copy.detail or "0x"),
        record_b=_record(copy),
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/court/finalize", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_finalize(
    body: CourtPairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Decide a BatchCourt challenge once its window has passed (the copy's record names its ESP
    for the slash)."""
    _, _, copy = _court_pair(session, body)
    call = BatchCourtClient(dep).finalize_call(body.original, body.duplicate, _record(copy))
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/court/settle", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_settle(
    body: CourtPairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Settle an upheld BatchCourt challenge after the reward hold (anyone may send it): the
    challenger is paid the deposits and ``challengeReward`` (the copy's ESP slash is burned at the
    EspRegistry); if the batched
    original was revoked meanwhile the copy's side is compensated instead (the deposits and the
    copy's bond to its contester or owner; the slash is burned; the copy stays revoked). 409
    ``CourtRewardHeld`` (``fields.releasableAtBlock``) while the hold runs,
    ``CourtDisputeState`` unless the challenge is upheld and unsettled."""
    _court_pair(session, body)
    call = BatchCourtClient(dep).settle_call(body.original, body.duplicate)
    return UnsignedTx.of(dep.chain, call, sender=account)


class MisattestedIn(BaseModel):
    """A single registration or a batch item (token id as a decimal string or 0x-hex)."""

    token: TokenId


def _misattested_item(session: SessionDep, token_id: int) -> MisattestedItem:
    """What a batch item's mis-attestation claim opens, from the index: its attested fingerprint
    and proof (the batch's fingerprints), its descriptor and item opening (the published
    manifest: 404 ``manifest_not_published`` before; without one nobody can prove which bytes
    the item is), and its batch's ESP."""
    batch, index = _item(session, token_id)
    detail, opening = _opening(session, token_id)
    fp, proof = _fp_proof(batch, index)
    return MisattestedItem(token_id, fp, tuple(proof), detail, opening, batch.esp)


@tx_router.post("/court/claim-misattested", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_claim_misattested(
    body: MisattestedIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Claim that a single token's or a batch item's ESP attested a fingerprint or detail
    descriptor that are not its image's (``BatchCourt.claimMisattested``; for a batch item
    ``claimMisattestedItem``, which opens the item from its published manifest, 404
    ``manifest_not_published`` before; anyone): the value is the challenge deposit plus the
    committee's review fee, forwarded to a committee review of the token's record (jurors
    recompute both from its content-addressed image, which the claimant must publish: anyone
    may attach a token's bytes, ``PUT /v1/products/{token}/image``). 404 ``unknown_product`` for
    no such registration; the contract's error name for what it refuses (``CourtTokenRevoked``,
    ``CourtDisputeExists`` while a claim is open, ``CommitteeTooSmall`` with too few jurors
    enrolled)."""
    fee = CommitteeClient(dep).params().review_fee
    court = BatchCourtClient(dep)
    if merkle.is_item_id(body.token):
        item = _misattested_item(session, body.token)
        call = court.claim_misattested_item_call(item, review_fee=fee)
    else:
        single = _single(session, body.token)
        call = court.claim_misattested_call(body.token, _record(single), review_fee=fee)
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post(
    "/court/finalize-misattested", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX
)
def tx_court_finalize_misattested(
    body: MisattestedIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Decide a mis-attestation claim once its review's reveal deadline passed (anyone): upheld,
    the token is revoked, its ESP slashed (burned) and the claimant paid its deposit, the
    challenge reward and back the review fee it paid (out of the copy's bond); rejected, the
    deposit goes to the token's owner; no verdict, it returns. A batch item's claim is decided
    with its claimed values (from its manifest). 409 ``CourtDisputeWindow``
    (``fields.deadline``) before the deadline, ``CourtDisputeState`` without an open claim."""
    court = BatchCourtClient(dep)
    if merkle.is_item_id(body.token):
        record = _misattested_item(session, body.token).record
    else:
        single = _single(session, body.token)  # 404 unknown_product
        # the record claimed against, not the index's: a reclaim since wrote a newer record, and
        # only the claimed one's proof ends that claim (Void, the deposit back); with no claim
        # the contract names what it refuses (CourtDisputeState)
        try:
            record = court.claimed_record(body.token, RegistryClient(dep))
        except LedgerError:
            record = _record(single)
    call = court.finalize_misattested_call(body.token, record)
    return UnsignedTx.of(dep.chain, call, sender=account)


class DuplicateImageIn(BaseModel):
    """A batch item and a single registration of the same bytes (token ids as decimal strings
    or 0x-hex)."""

    item: TokenId
    single: TokenId


@tx_router.post("/court/duplicate-image", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_duplicate_image(
    body: DuplicateImageIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Revoke the second registration of one image held both as a batch item and as a single
    token, both attested by one ESP (``BatchCourt.revokeDuplicateImage``; anyone may send it
    and gets ``challengeReward``): the later published one when one producer registered both,
    the later lock's when two payers did (the ESP's slash is burned). The
    item is opened from its published manifest (404 ``manifest_not_published`` before); 409
    ``not_same_image`` when its content hash is not the single's id, and the court's error name
    (``CourtNotSameEsp``, ``CourtTokenRevoked``, ...) for what the contract refuses."""
    _item(session, body.item)
    single = _single(session, body.single)
    detail, opening = _opening(session, body.item)
    if int.from_bytes(opening.content_hash, "big") != body.single:
        raise Conflict(
            f"batch item {body.item} holds content 0x{opening.content_hash.hex()}, not the image "
            f"of single token {body.single}",
            code="not_same_image",
        )
    call = BatchCourtClient(dep).revoke_duplicate_image_call(
        body.item, body.single, detail_hash=keccak(detail), opening=opening, record=_record(single)
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


class DuplicateItemIn(BaseModel):
    """Two batch items of the same bytes (token ids as decimal strings or 0x-hex), in any
    order: the court decides which one goes."""

    first: TokenId
    second: TokenId


@tx_router.post("/court/duplicate-item", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_duplicate_item(
    body: DuplicateItemIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Revoke the second registration of one image held as two batch items, both attested by
    one ESP (``BatchCourt.revokeDuplicateItem``; anyone may send it and gets
    ``challengeReward``): the later published one when one producer registered both, the later
    lock's when two payers did (the ESP's slash is burned). Both items are opened from their
    published manifests (404 ``manifest_not_published`` before); 409 ``not_same_image`` for
    one item named twice or two items of different content hashes, and the court's error name
    (``CourtNotSameEsp``, ``CourtTokenRevoked``, ``CourtNotOwner``, ...) for what the contract
    refuses."""
    _item(session, body.first)
    _item(session, body.second)
    if body.first == body.second:
        raise Conflict(
            f"batch item {body.first} is named twice: the ruling takes two items",
            code="not_same_image",
        )
    first_detail, first_opening = _opening(session, body.first)
    second_detail, second_opening = _opening(session, body.second)
    if first_opening.content_hash != second_opening.content_hash:
        raise Conflict(
            f"batch item {body.first} holds content 0x{first_opening.content_hash.hex()}, batch "
            f"item {body.second} 0x{second_opening.content_hash.hex()}: not one image",
            code="not_same_image",
        )
    call = BatchCourtClient(dep).revoke_duplicate_item_call(
        body.first,
        body.second,
        first_detail_hash=keccak(first_detail),
        first_opening=first_opening,
        second_detail_hash=keccak(second_detail),
        second_opening=second_opening,
    )
    return UnsignedTx.of(dep.chain, call, sender=account)


@tx_router.post("/court/reinstate", response_model=UnsignedTx, responses=BUILDS_FROM_INDEX)
def tx_court_reinstate(
    body: CourtPairIn, account: CurrentAccount, dep: DeploymentDep, session: SessionDep
) -> UnsignedTx:
    """Reverse a BatchCourt win settled after the reward hold whose batched winner
    (``original``) was revoked since (``BatchCourt.reinstate``; anyone may send it, typically
    the single's side): the single ``duplicate`` is active again at the Registry, backed by the
    bond the caller posts (the value: the Registry's ``bond``, read from the chain). 409
    ``CourtWinnerActive`` while the winner stands, ``CourtDisputeState`` unless the pair's
    dispute is settled (once: a reinstated pair is Reversed)."""
    _court_pair(session, body)
    bond = RegistryClient(dep).params().bond
    call = BatchCourtClient(dep).reinstate_call(body.original, body.duplicate, bond=bond)
    return UnsignedTx.of(dep.chain, call, sender=account)


# -- attestation requests: the producer asks, the ESP's worker answers --------------------------

requests_router = APIRouter(prefix="/v1/batch-requests", tags=["batches"])
Hash32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
RequestId = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
MAX_PENDING = 16  # per producer: a request costs the ESP a look at its records


class RequestItemIn(BaseModel):
    content_hash: Hash32
    fingerprint: Hash32
    detail_hash: Hash32
    seed: Annotated[str | None, Field(pattern=r"^[0-9]{1,78}$")] = None


class BatchRequestIn(BaseModel):
    """The images to batch (what ``aigc register --batch`` computes from the files); ``task_id``
    None lets the ESP name the latest of their locks."""

    esp: Address
    task_id: Hash32 | None = None
    items: Annotated[list[RequestItemIn], Field(min_length=1, max_length=4096)]


class BatchRequestOut(BaseModel):
    id: str
    producer: str
    esp: str
    status: str = Field(description="pending, attested or refused")
    request: dict[str, Any]
    attestation: dict[str, Any] | None = Field(description="the attestation file, checked")
    refusal: dict[str, Any] | None = Field(description="{code, message}: the ESP's rule")
    created_at: int


class BatchRequestsOut(BaseModel):
    items: list[BatchRequestOut]


class AttestedItemIn(BaseModel):
    index: Annotated[int, Field(ge=0, lt=4096)] | None = None
    content_hash: Hash32
    fingerprint: Hash32
    detail_hash: Hash32
    seed: Uint256


class AttestationIn(BaseModel):
    """The ESP's attestation file, as its worker writes it (``SignedBatch.to_json``): each field
    typed here, so that what the service reads with ``int()``, ``bytes.fromhex`` or as EIP-712
    values is already an integer in range, 32 bytes of hex, an address. It was a free JSON
    object before: ``Infinity`` where an integer goes, a negative or 2**256 chain id, ``true``
    as a lock's hashlock each raised in the service's parser or its signature check (a 500;
    red team 7, ``tests/api/test_redteam7_fuzz.py``). Keys it does not name are ignored, and
    only the checked attestation is stored."""

    version: Literal[1]
    chain_id: Annotated[int, Field(ge=0, lt=2**256)]
    batch_registry: Address
    esp: Address
    producer: Address
    task_id: Hash32
    lock: LockIn
    model_id: Hash32
    count: Annotated[int, Field(ge=1, le=4096)] | None = None
    items_root: Hash32
    fp_root: Hash32
    items: Annotated[list[AttestedItemIn], Field(min_length=1, max_length=4096)]
    signature: Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{2}){1,2048}$")]


class RefusalIn(BaseModel):
    code: Annotated[str, Field(pattern=r"^[a-z_]{1,64}$")]
    message: Annotated[Text, Field(max_length=500)]


def _request_out(r: BatchAttestationRequest) -> BatchRequestOut:
    return BatchRequestOut.model_validate(r, from_attributes=True)


def _own_request(session: SessionDep, request_id: str, account: str) -> BatchAttestationRequest:
    r = session.get(BatchAttestationRequest, request_id.lower())
    if r is None or account not in (r.producer, r.esp):
        raise NotFound(f"no batch request {request_id}", code="unknown_batch_request")
    return r


@requests_router.post("", response_model=BatchRequestOut, responses=declare(401, 409, 422, 429))
def post_request(
    body: BatchRequestIn,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> BatchRequestOut:
    """Ask an ESP to attest a batch of the images it delivered to the caller: at most as many
    images as the tasks it delivered to the caller through this API (409 ``not_delivered``)."""
    limiter.hit(
        "batch_requests", client_key(request), limit=settings.rate_batch_requests_per_minute
    )
    if body.esp == account:
        raise Unprocessable("an ESP does not attest its own batch request", code="self_request")
    # The ESP attests only images it delivered to the caller (its worker's records are its
    # tasks here): a request with more costs it a look at its records for nothing, and anyone
    # signed in, with no task, could fill the store with refused requests of 4,096 items.
    delivered = session.scalar(
        select(func.count())
        .select_from(Task)
        .where(
            Task.producer == account,
            Task.esp == body.esp,
            Task.status.in_((TaskState.DELIVERED, TaskState.CLAIMED)),
        )
    )
    if len(body.items) > int(delivered or 0):
        raise Conflict(
            f"{len(body.items)} images asked, {int(delivered or 0)} delivered to you by "
            f"{body.esp} through this API",
            code="not_delivered",
        )
    pending = session.scalar(
        select(func.count())
        .select_from(BatchAttestationRequest)
        .where(BatchAttestationRequest.producer == account)
        .where(BatchAttestationRequest.status == RequestState.PENDING)
    )
    if int(pending or 0) >= MAX_PENDING:
        raise Conflict(f"{MAX_PENDING} requests are pending already", code="too_many_pending")
    asked = BatchRequest.from_json(
        {"producer": account, **body.model_dump(exclude={"esp"})}
    ).to_json()
    r = BatchAttestationRequest(
        id="0x" + secrets.token_hex(32),
        producer=account,
        esp=body.esp,
        status=RequestState.PENDING,
        request=asked,
        created_at=int(time.time()),
    )
    session.add(r)
    session.commit()
    return _request_out(r)


@requests_router.get("", response_model=BatchRequestsOut, responses=declare(401))
def list_requests(
    account: CurrentAccount,
    session: SessionDep,
    role: Annotated[str, Query(pattern="^(producer|esp)$")] = "producer",
    status: Annotated[str | None, Query(pattern="^(pending|attested|refused)$")] = None,
) -> BatchRequestsOut:
    """The caller's batch requests, as producer or as ESP, oldest first (at most 100)."""
    column = BatchAttestationRequest.producer if role == "producer" else BatchAttestationRequest.esp
    q = select(BatchAttestationRequest).where(column == account)
    if status is not None:
        q = q.where(BatchAttestationRequest.status == status)
    rows = session.scalars(q.order_by(BatchAttestationRequest.created_at).limit(100))
    return BatchRequestsOut(items=[_request_out(r) for r in rows])


@requests_router.get("/{request_id}", response_model=BatchRequestOut, responses=declare(401, 404))
def get_request(
    request_id: RequestId, account: CurrentAccount, session: SessionDep
) -> BatchRequestOut:
    """One of the caller's batch requests (its producer's or its ESP's)."""
    return _request_out(_own_request(session, request_id, account))


@requests_router.post(
    "/{request_id}/attestation",
    response_model=BatchRequestOut,
    responses=declare(401, 403, 404, 409, 422),
)
def answer_request(
    request_id: RequestId,
    body: AttestationIn,
    account: CurrentAccount,
    session: SessionDep,
    dep: DeploymentDep,
) -> BatchRequestOut:
    """The ESP's attestation file; refused (422 ``bad_attestation``) unless it is the ESP's
    signature for this producer over exactly the requested images on this deployment."""
    r = _own_request(session, request_id, account)
    if account != r.esp:
        raise Forbidden("only the request's ESP answers it")
    signed = check_attestation(
        r.status,
        r.request,
        body.model_dump(mode="json"),
        producer=r.producer,
        esp=r.esp,
        chain_id=dep.chain.chain_id,
        contract=_client(dep).address,
    )
    # What was checked, not what was sent: keys the check does not read are not stored.
    r.status, r.attestation = RequestState.ATTESTED, signed.to_json()
    session.commit()
    return _request_out(r)


@requests_router.post(
    "/{request_id}/refusal", response_model=BatchRequestOut, responses=declare(401, 403, 404, 409)
)
def refuse_request(
    request_id: RequestId, body: RefusalIn, account: CurrentAccount, session: SessionDep
) -> BatchRequestOut:
    """The ESP's refusal, with the rule it broke (``code``, docs/batches.md)."""
    r = _own_request(session, request_id, account)
    if account != r.esp:
        raise Forbidden("only the request's ESP answers it")
    check_refusal(r.status)
    r.status, r.refusal = RequestState.REFUSED, body.model_dump()
    session.commit()
    return _request_out(r)
