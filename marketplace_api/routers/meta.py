"""Interfaces for wallets, dApps and NFT marketplaces (issue 14, items 4 and 5).

* ``GET /v1/tokens/{id}``: the ERC-721 metadata JSON the Registry's ``tokenURI`` points at
  (base URI set at deployment + the decimal id; 0x-hex accepted too).
* ``GET /v1/images/{content hash}``: a registered image, addressed by the content hash the
  Registry stores (its token id), so its bytes never change: cached as immutable.
* ``GET /v1/contract``: the ERC-7572 collection metadata ``contractURI`` points at.
* ``GET /v1/deployment``: chain id, addresses, ABIs, and every EIP-712 domain and type set the
  product signs, each domain the one its contract reports through ERC-5267 ``eip712Domain()``.

Token metadata comes from the indexer's projection of the chain (the ``Registered``, ``Revoked``,
``Reinstated`` and ``Transfer`` events); the Registry emits ERC-4906 ``MetadataUpdate`` when a
token's status changes, so marketplaces fetch it again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from ledger import artifacts
from ledger.clients.batch_registry import BATCH_ATTESTATION_TYPES
from ledger.clients.esp_registry import QUOTE_TYPES
from ledger.clients.registry import ATTESTATION_TYPES
from ledger.deploy import Deployment
from ledger.eip712 import CONTRACT_DOMAINS, contract_domain
from marketplace_api.batch_catalog import registered_content_hash
from marketplace_api.deps import DeploymentDep, SessionDep, SettingsDep
from marketplace_api.errors import NotFound, declare
from marketplace_api.models import Product
from marketplace_api.types import UINT256_TEXT, UINT_PATTERN, token_dec, token_hex
from services.listing import OFFER_TYPES
from services.storage import BlobNotFound

router = APIRouter(prefix="/v1", tags=["interfaces"], responses=declare())
TokenId = Annotated[
    str,
    Path(pattern=UINT_PATTERN, description="token id: decimal (the output form) or 0x-hex"),
    UINT256_TEXT,
]
ContentHash = Annotated[
    str,
    Path(
        pattern=r"^(0x)?[0-9a-fA-F]{64}$",
        description="the image's content hash as the Registry stores it (= its token id, in hex)",
    ),
]
# A registered image's bytes never change (the content hash pins its pixels): cache for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
# The contracts whose address and ABI the deployment publishes.
_PUBLISHED = (
    "Registry",
    "BatchRegistry",
    "BatchCourt",
    "EspRegistry",
    "HashTimeLock",
    "ReputationView",
    "DetailVerifier",
    "CommitteeVerifier",  # stage 3: the accused asks it for a review before contesting
)
# Every EIP-712 message the product signs or checks: primary type -> (contract, types, signer).
_MESSAGES: dict[str, tuple[str, dict[str, list[dict[str, str]]], str]] = {
    "Attestation": ("Registry", ATTESTATION_TYPES, "the ESP, over an image it generated"),
    "Offer": ("Registry", OFFER_TYPES, "the seller, listing a token"),
    "Quote": ("EspRegistry", QUOTE_TYPES, "the ESP, promising a generation for a fee lock"),
    "BatchAttestation": (
        "BatchRegistry",
        BATCH_ATTESTATION_TYPES,
        "the ESP, over a batch of images it generated (docs/batches.md)",
    ),
}


class Attribute(BaseModel):
    """One OpenSea-style trait."""

    trait_type: str
    value: str | int
    display_type: str | None = None


class TokenMetadataOut(BaseModel):
    """ERC-721 metadata JSON (the ERC-721 metadata schema, with OpenSea's attributes)."""

    name: str
    description: str
    image: str | None = Field(
        None, description="absolute URL of the content-addressed image (absent until uploaded)"
    )
    external_url: str
    attributes: list[Attribute]


class ContractMetadataOut(BaseModel):
    """ERC-7572 collection metadata."""

    name: str
    symbol: str
    description: str
    external_link: str
    seller_fee_basis_points: int = Field(
        description="the ERC-2981 royalty (paid to each token's original producer)"
    )


class Eip712Domain(BaseModel):
    name: str
    version: str
    chainId: int
    verifyingContract: str


class TypedMessage(BaseModel):
    """What a wallet needs to sign one kind of message (viem's ``signTypedData`` parameters)."""

    contract: str = Field(description="the contract whose domain it is")
    signer: str
    primaryType: str
    domain: Eip712Domain
    types: dict[str, list[dict[str, str]]]


class ContractOut(BaseModel):
    address: str
    abi: list[dict[str, Any]]


class DeploymentOut(BaseModel):
    chain_id: int
    block: int = Field(description="the block of deployment (where indexing starts)")
    contracts: dict[str, ContractOut]
    eip712: dict[str, TypedMessage] = Field(description="by primary type")


def _base(request: Request, public_url: str) -> str:
    return (public_url or str(request.base_url)).rstrip("/")


def _domains(deployment: Deployment) -> dict[str, dict[str, Any]]:
    chain_id = deployment.manifest.chain_id
    return {
        name: contract_domain(name, chain_id=chain_id, address=deployment.manifest.address(name))
        for name in CONTRACT_DOMAINS
        if name in deployment.manifest.contracts
    }


def royalty_bps(deployment: Deployment) -> int:
    return int(deployment.manifest.params.get("royalty_bps", 0))


def token_name(collection: str, token_id: str, *, revoked: bool = False) -> str:
    """A token's display name. A single registration's id is its content hash, so its first
    four bytes tell tokens apart; a batched item's id is ``(batch << 32) | index``, whose first
    bytes are zeros, so it is named by its batch and index instead."""
    value = int(token_id, 16)
    if collection == "batch":
        name = f"AIGC Batch {value >> 32} #{value & 0xFFFFFFFF}"
    else:
        name = f"Proof-of-AIGC 0x{value:064x}"[:24]
    return f"[revoked] {name}" if revoked else name


@router.get(
    "/tokens/{token_id}",
    response_model=TokenMetadataOut,
    response_model_exclude_none=True,
    responses=declare(404),
)
def token_metadata(
    token_id: TokenId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    deployment: DeploymentDep,
) -> dict[str, Any]:
    """ERC-721 metadata of a registered image: what the Registry's ``tokenURI`` resolves to."""
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token_id)))
    if product is None:
        raise NotFound(f"no registered token {token_id}", code="unknown_token")
    base = _base(request, settings.public_url)
    dec = token_dec(product.token_id)
    revoked = product.status == "revoked"
    # a batched item's content hash is its manifest's (its token id is (batch << 32) | index)
    content = registered_content_hash(session, product) or "not published yet"
    description = (
        f"An AI-generated image registered on chain (Proof-of-AIGC): ESP {product.esp} attested "
        f"that it generated the image for producer {product.producer}, who was paid a fee lock "
        f"in block {product.priority_block}. Content hash {content}."
    )
    if revoked:
        description += " REVOKED: an upheld challenge showed it copies an earlier registered image."
    attributes = [
        Attribute(trait_type="Status", value=product.status),
        Attribute(trait_type="ESP", value=product.esp),
        Attribute(trait_type="Model", value=product.model_id),
        Attribute(trait_type="Producer", value=product.producer),
        Attribute(trait_type="Fingerprint", value=product.fingerprint),
        Attribute(trait_type="Content hash", value=content),
        Attribute(trait_type="Priority block", value=product.priority_block, display_type="number"),
        Attribute(
            trait_type="Registration block", value=product.registered_block, display_type="number"
        ),
        Attribute(trait_type="Royalty (bps)", value=royalty_bps(deployment), display_type="number"),
    ]
    return {
        "name": token_name(product.collection, product.token_id, revoked=revoked),
        "description": description,
        "image": f"{base}/v1/images/{product.token_id[2:]}" if product.image_blob else None,
        "external_url": f"{base}/v1/products/{dec}",
        "attributes": attributes,
    }


@router.get(
    "/images/{content_hash}",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the image (PNG), immutable"},
        **declare(404),
    },
)
def image(content_hash: ContentHash, request: Request, session: SessionDep) -> Response:
    """A registered image by its content hash (the token id): its bytes never change."""
    token = token_hex("0x" + content_hash.lower().removeprefix("0x"))
    product = session.scalar(select(Product).where(Product.token_id == token))
    if product is None or product.image_blob is None:
        raise NotFound(f"no image with content hash {content_hash}", code="unknown_image")
    try:
        data = request.app.state.blobs.get(product.image_blob)
    except BlobNotFound:
        raise NotFound(f"no image with content hash {content_hash}", code="unknown_image") from None
    headers = {"Cache-Control": IMMUTABLE, "ETag": f'"{token[2:]}"'}
    return Response(data, media_type="image/png", headers=headers)


@router.get("/contract", response_model=ContractMetadataOut)
def collection_metadata(
    request: Request, settings: SettingsDep, deployment: DeploymentDep
) -> dict[str, Any]:
    """ERC-7572 collection metadata: what the Registry's ``contractURI`` resolves to."""
    name, _ = CONTRACT_DOMAINS["Registry"]  # the ERC-721 name is the EIP-712 name
    return {
        "name": name,
        "symbol": "AIGC",
        "description": (
            "AI-generated images registered with Proof-of-AIGC: each token's id is the image's "
            "content hash, attested by the edge service provider (ESP) that generated it for a "
            "paid fee lock. Near-duplicates of earlier images can be challenged and revoked; the "
            "original producer earns an ERC-2981 royalty on every resale."
        ),
        "external_link": _base(request, settings.public_url) + "/",
        "seller_fee_basis_points": royalty_bps(deployment),
    }


@router.get("/deployment", response_model=DeploymentOut)
def deployment_info(deployment: DeploymentDep) -> dict[str, Any]:
    """Chain id, contract addresses and ABIs, and every EIP-712 domain and type set the product
    signs or checks (each domain equal to its contract's ERC-5267 ``eip712Domain()``)."""
    manifest = deployment.manifest
    domains = _domains(deployment)
    return {
        "chain_id": manifest.chain_id,
        "block": manifest.block,
        "contracts": {
            name: {"address": manifest.address(name), "abi": artifacts.abi(name)}
            for name in _PUBLISHED
            if name in manifest.contracts
        },
        "eip712": {
            primary: {
                "contract": contract,
                "signer": signer,
                "primaryType": primary,
                "domain": domains[contract],
                "types": types,
            }
            for primary, (contract, types, signer) in _MESSAGES.items()
            if contract in domains  # a deployment from before batches has no BatchRegistry
        },
    }
