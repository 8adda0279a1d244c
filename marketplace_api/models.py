"""ORM models (SQLAlchemy 2.0, typed). Alembic migrations in ``marketplace_api/migrations``."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace_api.db import Base
from services.generation import prompt_commitment


class AuthNonce(Base):
    """A one-time SIWE nonce; consumed by the sign-in that uses it."""

    __tablename__ = "auth_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)  # unix seconds
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class Product(Base):
    """A registered image: its token, provenance and stored blobs."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=True
    )  # registration order
    token_id: Mapped[str] = mapped_column(String(66), unique=True)  # 0x + content hash
    fingerprint: Mapped[str] = mapped_column(String(66), index=True)
    producer: Mapped[str] = mapped_column(String(42), index=True)
    owner: Mapped[str] = mapped_column(String(42), index=True)
    esp: Mapped[str] = mapped_column(String(42), index=True)
    task_id: Mapped[str] = mapped_column(String(66))
    model_id: Mapped[str] = mapped_column(String(66))
    seed: Mapped[str] = mapped_column(String(80))
    registered_block: Mapped[int] = mapped_column(BigInteger, index=True)
    # Challenge priority: the block of the paid generation lock (what the contract compares).
    priority_block: Mapped[int] = mapped_column(BigInteger, index=True, default=0)
    commit_block: Mapped[int] = mapped_column(BigInteger, default=0)  # registered_block: reveal
    detail_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)  # 0x + hex, from the event
    status: Mapped[str] = mapped_column(String(16), default="active")
    image_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What the API recomputed from the image bytes it holds (never the attested values'
    # word): the fingerprint, and "matches" or "mismatch" (the attested fingerprint or detail
    # descriptor is not the image's: not listed nor sold). Null until an image is attached.
    image_fingerprint: Mapped[str | None] = mapped_column(String(66), nullable=True)
    attestation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    metadata_uri: Mapped[str] = mapped_column(Text, default="")
    # "registry" (a single registration) or "batch" (a BatchRegistry item: docs/batches.md).
    collection: Mapped[str] = mapped_column(
        String(16), default="registry", server_default="registry"
    )


class BatchRecord(Base):
    """A registered batch (``BatchRegistered``), and the owner's manifest once published.

    Its items are products (``collection`` "batch"); the manifest (content hashes, detail
    descriptors, seeds, proofs) is accepted only when it matches the on-chain roots."""

    __tablename__ = "batches"

    batch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    producer: Mapped[str] = mapped_column(String(42), index=True)
    esp: Mapped[str] = mapped_column(String(42), index=True)
    start_id: Mapped[str] = mapped_column(String(66))  # token_hex of item 0
    count: Mapped[int] = mapped_column(Integer)
    fp_root: Mapped[str] = mapped_column(String(66))
    items_root: Mapped[str] = mapped_column(String(66))
    task_id: Mapped[str] = mapped_column(String(66))
    model_id: Mapped[str] = mapped_column(String(66))
    priority_block: Mapped[int] = mapped_column(BigInteger)
    commit_block: Mapped[int] = mapped_column(BigInteger)
    reveal_block: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    metadata_uri: Mapped[str] = mapped_column(Text, default="")
    fingerprints: Mapped[list[str]] = mapped_column(JSON)  # token order, 0x + 64 hex
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ProductEvent(Base):
    """A product's history (registered, transferred, challenged, revoked), from the indexer."""

    __tablename__ = "product_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[str] = mapped_column(String(66), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Notification(Base):
    """A message for an address (e.g. the plagiarism watch's prepared challenge)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(String(42), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class AccountKey(Base):
    """An address's secp256k1 public key, recovered from its sign-in signature (for sealing).

    A contract account (EIP-1271 / ERC-6492) has no key of its own: its row exists only once it
    registers a delivery key, with ``public_key`` null."""

    __tablename__ = "account_keys"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    public_key: Mapped[str | None] = mapped_column(String(132), nullable=True)  # 0x04 || x || y
    delivery_key: Mapped[str | None] = mapped_column(String(68), nullable=True)  # 0x02/03 || x


def _fresh_salt() -> str:
    return "0x" + secrets.token_hex(32)


def _commitment_of_row(context: Any) -> str:
    """A row's prompt commitment from its prompt and salt (the salt's default comes first)."""
    row = context.get_current_parameters()
    return "0x" + prompt_commitment(row["prompt"], bytes.fromhex(row["prompt_salt"][2:])).hex()


class Task(Base):
    """A generation task: posted -> quoted -> locked -> delivered -> claimed -> registered,
    or refunded / fraud_proven, or refused (the ESP would not quote it). Chain facts (locked,
    claimed, refunded, registered) come from the indexer, never from a client's word. The ESP
    reads the prompt only once the fee lock is indexed; before, its commitment."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(66), primary_key=True)  # 0x + 32 random bytes
    producer: Mapped[str] = mapped_column(String(42), index=True)
    esp: Mapped[str] = mapped_column(String(42), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    # What the ESP sees of the prompt until the fee lock is indexed (services.generation.prompt):
    # keccak256(tag || salt || prompt), both 0x hex.
    prompt_salt: Mapped[str] = mapped_column(String(66), default=_fresh_salt)
    prompt_commitment: Mapped[str] = mapped_column(String(66), default=_commitment_of_row)
    seed: Mapped[int] = mapped_column(BigInteger)
    max_price: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), index=True, default="posted")
    price: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # One hashlock, one task (migration 0015): the indexer gives a fee lock to the task whose
    # hashlock it carries (POST /v1/tasks/{id}/quote: 409 hashlock_reused).
    hashlock: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True, unique=True)
    deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The ESP's EIP-712 Quote over the fee lock's terms (the producer acknowledges it on chain).
    quote_signature: Mapped[str | None] = mapped_column(String(132), nullable=True)
    lock: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    lock_id: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    preimage: Mapped[str | None] = mapped_column(String(66), nullable=True)
    sealed_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    preview_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    token_id: Mapped[str | None] = mapped_column(String(66), nullable=True)
    fraud: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The ESP's refusal of a locked task ({code, message}): nothing is delivered, and the
    # producer refunds at the deadline.
    refusal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_block: Mapped[int] = mapped_column(BigInteger, default=0)
    # The selection drew the ESP (POST /v1/tasks without ``esp``) at this chain time, and it
    # quoted at ``quoted_at``: the responsiveness log (marketplace_api/draws.py). Null: the
    # producer addressed the ESP itself, or no quote yet.
    drawn_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    quoted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EspDraws(Base):
    """How many tasks the selection drew ``esp`` for in decay period ``epoch`` and how many of
    those it quoted within the quote window (marketplace_api/draws.py): the responsiveness log
    summed as it is written, so a check reads a row per ESP and period, not every task."""

    __tablename__ = "esp_draws"

    esp: Mapped[str] = mapped_column(String(42), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    drawn: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)


class Listing(Base):
    """An EIP-712 signed offer to sell a token for a price until an expiry."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[str] = mapped_column(String(66), index=True)
    # The token's contract, as products name it: "registry" or "batch" (a BatchRegistry item);
    # a token is (collection, token_id). Rows from before batches are the Registry's.
    collection: Mapped[str] = mapped_column(
        String(16), default="registry", server_default="registry"
    )
    seller: Mapped[str] = mapped_column(String(42), index=True)
    price: Mapped[str] = mapped_column(String(80))
    expiry: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[str] = mapped_column(String(80))
    signature: Mapped[str] = mapped_column(String(132), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="open")


class Trade(Base):
    """A hash-time-locked swap of a listed token: its two locks as the indexer saw them."""

    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(Integer, index=True)
    token_id: Mapped[str] = mapped_column(String(66), index=True)
    collection: Mapped[str] = mapped_column(  # the listing's: "registry" or "batch"
        String(16), default="registry", server_default="registry"
    )
    seller: Mapped[str] = mapped_column(String(42), index=True)
    buyer: Mapped[str] = mapped_column(String(42), index=True)
    price: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(24), index=True, default="requested")
    hashlock: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    asset_lock: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    asset_lock_id: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    payment_lock: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    payment_lock_id: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    secret: Mapped[str | None] = mapped_column(String(66), nullable=True)


class BatchAttestationRequest(Base):
    """A producer's request that an ESP attest a batch of its deliveries (docs/batches.md):
    pending -> attested (the checked attestation file) | refused (the ESP's rule code)."""

    __tablename__ = "batch_requests"

    id: Mapped[str] = mapped_column(String(66), primary_key=True)  # 0x + 32 random bytes
    producer: Mapped[str] = mapped_column(String(42), index=True)
    esp: Mapped[str] = mapped_column(String(42), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # services.batch.BatchRequest JSON
    attestation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    refusal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, index=True)  # unix seconds


class GenerationOpeningRow(Base):
    """A product's published generation opening (``PUT /v1/products/{id}/generation``): the
    prompt and seed that regenerate its image on the bundled model, checked when stored. The
    evidence a committee juror re-runs to tell an accused generation from a copy
    (services/provenance/generation_proof.py)."""

    __tablename__ = "generation_openings"

    token_id: Mapped[str] = mapped_column(String(66), primary_key=True)  # 0x + 64 hex
    model_id: Mapped[str] = mapped_column(String(200))  # the generator's model id (text)
    prompt: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)


class GenerationRefusalRow(Base):
    """An opening ``PUT /v1/products/{id}/generation`` regenerated and refused (422
    ``not_reproduced``), remembered so that the same one again costs no regeneration: the
    newest 64 per product (routers/generation.py)."""

    __tablename__ = "generation_refusals"

    token_id: Mapped[str] = mapped_column(String(66), primary_key=True)  # 0x + 64 hex
    opening: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    refused_ns: Mapped[int] = mapped_column(BigInteger, index=True)  # unix nanoseconds


class MisattestationClaimRow(Base):
    """One round of a mis-attestation claim against a token at the BatchCourt
    (``MisattestationClaimed``, then ``MisattestationDecided``), with its committee review's
    reveal deadline (``ReviewDrawn``), from the indexer (:mod:`marketplace_api.misattestations`).
    ``round`` is the court's: the token's n-th claim."""

    __tablename__ = "misattestation_claims"

    token_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    claimant: Mapped[str] = mapped_column(String(42))
    esp: Mapped[str] = mapped_column(String(42))
    review_key: Mapped[str] = mapped_column(String(66), index=True)
    # open, upheld (the token revoked), rejected or void
    state: Mapped[str] = mapped_column(String(16))
    claimed_block: Mapped[int] = mapped_column(BigInteger, index=True)
    claim_tx: Mapped[str] = mapped_column(String(66))
    # requested (jurors not drawn yet), drawn (review_deadline set) or cancelled
    review: Mapped[str] = mapped_column(String(16), default="requested")
    review_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decided_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EspDirectoryRow(Base):
    """A registered ESP as its EspRegistry events left it (``EspRegistered``, ``EspUpdated``,
    ``EspDeregistered``, ``EspStakeAdded``, ``EspStakeWithdrawn``, ``EspSlashed``,
    ``ChallengeRecorded``), from the indexer (:mod:`marketplace_api.esp_directory`): the task
    draw's and ``GET /v1/esps``' candidates without an ``espInfo`` call per ESP. Amounts are
    decimal strings (uint256)."""

    __tablename__ = "esp_directory"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    listed: Mapped[int] = mapped_column(Integer)  # its position in the registry's esps()
    endpoint: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[str] = mapped_column(String(80), default="0")
    stake: Mapped[str] = mapped_column(String(80), default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    challenges_lost: Mapped[int] = mapped_column(Integer, default=0)
    updated_block: Mapped[int] = mapped_column(BigInteger, default=0)
