"""Request and response bodies (pydantic v2), apart from the ORM models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from web3.contract.contract import ContractFunction

from ledger import Chain
from ledger.clients._base import Call
from ledger.tx import unsigned_tx
from marketplace_api.types import LockJson, TokenId, Uint256


class ErrorDetail(BaseModel):
    """One schema violation of a 422 ``validation_error``."""

    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    """What went wrong: ``code`` is stable (clients branch on it), ``message`` is for people."""

    code: str = Field(description="stable error code, e.g. not_found, nonce_too_low")
    message: str
    details: list[ErrorDetail] | None = Field(
        default=None, description="validation_error: each field that failed"
    )
    fields: dict[str, Any] | None = Field(
        default=None, description="a contract's custom error: its decoded arguments"
    )
    reason: str | None = Field(default=None, description="relay refusals: the node's own words")


class ErrorOut(BaseModel):
    """The envelope of every error response: ``{"error": {"code", "message", ...}}``."""

    error: ErrorBody


ErrorResponse = ErrorOut


class Health(BaseModel):
    status: str
    chain_id: int
    block: int
    contracts: dict[str, str]


class NonceOut(BaseModel):
    nonce: str
    expires_at: datetime
    domain: str
    uri: str
    chain_id: int


class VerifyIn(BaseModel):
    message: str = Field(max_length=4096, description="The EIP-4361 message, exactly as signed")
    signature: str = Field(
        pattern=r"^0x(?:[0-9a-fA-F]{2})*$",
        max_length=16386,
        description="personal_sign signature: 65 bytes, EIP-2098 compact 64 bytes, or an "
        "ERC-1271 / ERC-6492 contract account's signature (any length up to 8 KiB)",
    )


class TokenOut(BaseModel):
    token: str
    address: str
    expires_at: int


class Me(BaseModel):
    address: str


class UnsignedTx(BaseModel):
    """A transaction for any wallet to sign (EIP-1559 fields included)."""

    to: str
    data: str
    value: str
    chainId: int
    gas: int
    maxFeePerGas: str
    maxPriorityFeePerGas: str
    from_: str = Field(alias="from")

    model_config = {"populate_by_name": True}

    @classmethod
    def for_call(
        cls, chain: Chain, fn: ContractFunction, *, sender: str, value: int = 0
    ) -> UnsignedTx:
        """The transaction calling ``fn`` from ``sender`` (:func:`ledger.tx.unsigned_tx`: gas
        estimated, so a call the contract would refuse raises its custom error here)."""
        tx = unsigned_tx(chain, fn, sender=sender, value=value)
        return cls.model_validate(
            {
                "to": tx["to"],
                "data": tx["data"],
                "value": str(tx.get("value", 0)),
                "chainId": tx["chainId"],
                "gas": tx["gas"],
                "maxFeePerGas": str(tx["maxFeePerGas"]),
                "maxPriorityFeePerGas": str(tx["maxPriorityFeePerGas"]),
                "from": tx["from"],
            }
        )

    @classmethod
    def of(cls, chain: Chain, call: Call, *, sender: str) -> UnsignedTx:
        """The transaction for a typed client's call object (:class:`ledger.clients._base.Call`),
        encoded by the client, from ``sender``."""
        return cls.for_call(chain, call.fn, sender=sender, value=call.value)


class RelayIn(BaseModel):
    raw: str = Field(
        pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=200_000, description="signed raw tx"
    )


class RelayOut(BaseModel):
    """The relayed transaction's hash, at once; follow it with ``GET /v1/tx/{tx_hash}``."""

    tx_hash: str
    state: str = Field(default="pending", description="always pending: the node accepted it")


class TxState(StrEnum):
    PENDING = "pending"
    MINED = "mined"
    UNKNOWN = "unknown"


class TxEvent(BaseModel):
    contract: str
    event: str
    log_index: int


class TxStatusOut(BaseModel):
    """A transaction as the node sees it: pending (in the pool), mined, or unknown."""

    tx_hash: str
    state: TxState
    status: int | None = Field(default=None, description="mined: 1 success, 0 reverted")
    block: int | None = None
    gas_used: int | None = None
    events: list[TxEvent] = Field(default_factory=list)
    error: ErrorBody | None = Field(default=None, description="mined and reverted: why")


class TaskRefusal(BaseModel):
    code: str = Field(description="stable: prompt_mismatch, same_image, ...")
    message: str


class TaskOut(BaseModel):
    id: str
    producer: str
    esp: str
    prompt: str | None = Field(
        description="the producer's prompt: shown to the ESP only once the fee lock is indexed "
        "(null before; prompt_commitment is what it quotes on)"
    )
    prompt_salt: str | None = Field(
        description="the 32-byte salt of prompt_commitment (null when the prompt is)"
    )
    prompt_commitment: str = Field(
        description='keccak256("aigc-prompt-commitment-v1" || prompt_salt || utf8(prompt))'
    )
    seed: Uint256
    max_price: Uint256
    status: str
    price: Uint256 | None
    hashlock: str | None
    deadline: int | None
    quote_signature: str | None
    lock: LockJson | None
    lock_id: str | None
    token_id: TokenId | None
    delivery: dict[str, Any] | None
    has_sealed: bool
    fraud: dict[str, Any] | None
    refusal: TaskRefusal | None = Field(
        default=None,
        description="the ESP's refusal of the locked task (e.g. prompt_mismatch): nothing will "
        "be delivered; refund the fee lock at its deadline",
    )
    preimage: str | None = None


class TasksOut(BaseModel):
    items: list[TaskOut]
    next: str | None = Field(
        default=None,
        description="the ``after`` of the next page; null: this is the last one",
    )


class AccountKeyOut(BaseModel):
    address: str
    public_key: str


class ProductOut(BaseModel):
    token_id: TokenId
    fingerprint: str
    producer: str
    owner: str
    esp: str
    task_id: str = Field(description="the attested task: the id of the paid generation lock")
    model_id: str
    seed: Uint256
    registered_block: int
    priority_block: int = Field(description="the paid lock's block: what challenges compare")
    detail_hash: str | None
    status: str
    has_image: bool
    image_fingerprint: str | None = Field(
        default=None, description="the fingerprint recomputed from the attached image, if any"
    )
    attestation: str = Field(
        default="unchecked",
        description="unchecked (no image attached), matches, or mismatch: the attested "
        "fingerprint or detail descriptor is not the image's (the token is not traded: 409 "
        "attestation_mismatch)",
    )
    metadata_uri: str
    collection: str = Field(
        default="registry",
        description="registry (a single registration) or batch (a BatchRegistry item: its "
        "challenges go through /v1/tx/batch/*, docs/batches.md)",
    )


class HistoryItem(BaseModel):
    """One indexed event of a product; token ids inside (``original``, ``duplicate``) are
    decimal strings like everywhere else."""

    model_config = ConfigDict(extra="allow")
    kind: str
    block: int
    tx_hash: str


class MisattestationOut(BaseModel):
    """The token's latest mis-attestation claim at the BatchCourt, from the indexer: while
    ``state`` is open the token is not traded (409 ``misattestation_claim_open``: upheld, the
    court revokes it); upheld means the court revoked it."""

    state: str = Field(description="open, upheld (the token revoked), rejected or void")
    round: int = Field(description="the court's round: the token's n-th claim")
    claimant: str
    esp: str = Field(description="the ESP whose attestation is claimed false")
    claimed_block: int
    claim_tx: str
    review: str = Field(
        description="the committee review of the record: requested (jurors not drawn yet), "
        "drawn, or cancelled (anyone may finalize at once: no verdict)"
    )
    review_deadline: int | None = Field(
        default=None,
        description="the review's reveal deadline (block): anyone may finalize the claim after "
        "it; null until the jurors are drawn",
    )
    decided_block: int | None = None


class ProductDetailOut(ProductOut):
    reclaimable_until: int | None = Field(
        default=None,
        description="the last block at which an earlier payer of the token's ESP could still "
        "reclaim it (the token is not traded until then: 409 token_reclaimable); null if none",
    )
    misattestation: MisattestationOut | None = Field(
        default=None,
        description="the token's latest mis-attestation claim (null: never claimed); while "
        "open the token is not traded (409 misattestation_claim_open)",
    )
    history: list[HistoryItem]


class ProductsOut(BaseModel):
    items: list[ProductOut]
    limit: int
    offset: int


class SimilarItem(ProductOut):
    distance: int


class SimilarOut(BaseModel):
    fingerprint: str
    matches: list[SimilarItem]


class NotificationOut(BaseModel):
    """``plagiarism_suspected`` (with ``prepared_challenge``, which revokes the copy),
    ``equivocation`` (one ESP attested both images: ``revokes`` is false and
    ``prepared_steps`` lists challenge, contest and resolve; the ESP is slashed, nothing is
    revoked), ``challenge_opened`` (to the accused, with ``equivocal`` and ``revokes``),
    ``misattested_copy`` (a registration whose image, recomputed from its bytes, nearly copies
    yours although its ESP attested other values: ``esp``, ``attested_fingerprint``,
    ``image_fingerprint``, ``challenge_admissible`` false and ``advice``; no prepared
    challenge, it would revert), ``duplicate_registration`` (one image held as a batch item
    and a single token under one ESP: ``item``, ``single``, ``revoked_token``, ``yours``
    "kept" or "revoked", ``two_payers``, and ``prepared_ruling``, which anyone may send),
    ``misattestation_claimed`` (to the holder of a token claimed mis-attested at the
    BatchCourt, each round: ``token_id``, ``round``, ``claimant``, ``esp``, ``review_key`` and
    ``prepared_finalize``; its sale is refused until the claim is finalized, which anyone may
    do once the review's reveal deadline has passed)."""

    model_config = ConfigDict(extra="allow")
    id: int
    kind: str
    block: int


class NotificationsOut(BaseModel):
    items: list[NotificationOut]
    next: int | None = Field(
        default=None,
        description="the ``before`` of the next (older) page; null: this is the last one",
    )


class ChallengesOut(BaseModel):
    items: list[HistoryItem]


class EspOut(BaseModel):
    address: str
    endpoint: str
    price: Uint256
    stake: Uint256
    challenges_lost: int
    reputation: float
    selection_probability: float


class EspsOut(BaseModel):
    viewer: str
    temperature: float
    floor: float
    items: list[EspOut]
