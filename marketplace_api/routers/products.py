"""Products: registered images with provenance and history; their images; similar-image search."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from PIL import Image
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace_api.batch_catalog import registered_content_hash
from marketplace_api.deps import CurrentAccount, LimiterDep, SessionDep, SettingsDep, client_key
from marketplace_api.errors import NotFound, Unprocessable, declare
from marketplace_api.misattestations import claim_json, latest_claims
from marketplace_api.models import Notification, Product, ProductEvent
from marketplace_api.sale_holds import reclaim_hold, withdraw_from_sale
from marketplace_api.schemas import (
    ChallengesOut,
    NotificationsOut,
    ProductDetailOut,
    ProductOut,
    ProductsOut,
    SimilarOut,
)
from marketplace_api.types import UINT256_TEXT, UINT_PATTERN, token_dec, token_hex
from marketplace_api.uploads import decode_image
from services.content import canonical_hash
from services.provenance import (
    DegenerateImageError,
    Fingerprint,
    detail_descriptor,
    fingerprint,
)

router = APIRouter(prefix="/v1", tags=["products"], responses=declare())
TokenId = Annotated[
    str,
    Path(pattern=UINT_PATTERN, description="token id: decimal (the output form) or 0x-hex"),
    UINT256_TEXT,
]
_TOKEN_KEYS = ("token_id", "original", "duplicate")
AddressFilter = Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{40}$")]


def decimal_ids(data: Any) -> Any:
    """``data`` with every token id (``original``, ``duplicate``, ``token_id``, nested in
    prepared request bodies too) in the output form, a decimal string."""
    if isinstance(data, dict):
        return {
            k: token_dec(v) if k in _TOKEN_KEYS and isinstance(v, str | int) else decimal_ids(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [decimal_ids(v) for v in data]
    return data


def _product_json(p: Product) -> dict[str, Any]:
    return {
        "token_id": token_dec(p.token_id),
        "fingerprint": p.fingerprint,
        "producer": p.producer,
        "owner": p.owner,
        "esp": p.esp,
        "task_id": p.task_id,  # the attested task: the id of the paid generation lock
        "model_id": p.model_id,
        "seed": p.seed,
        "registered_block": p.registered_block,
        "priority_block": p.priority_block,  # the lock's block: what challenges compare
        "detail_hash": p.detail_hash,
        "status": p.status,
        "has_image": p.image_blob is not None,
        "image_fingerprint": p.image_fingerprint,
        "attestation": p.attestation or "unchecked",
        "metadata_uri": p.metadata_uri,
        "collection": p.collection,
    }


def _load(session: SessionDep, token_id: str) -> Product:
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token_id)))
    if product is None:
        raise NotFound(f"no product {token_id}")
    return product


@router.get("/products", response_model=ProductsOut)
async def list_products(
    request: Request,
    owner: AddressFilter = None,
    producer: AddressFilter = None,
    esp: AddressFilter = None,
    status: Annotated[str | None, Query(pattern="^(active|revoked)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    """Registered products, newest first; filters (owner, producer, ESP, status) combine."""

    def render(session: Session) -> ProductsOut:
        q = select(Product).order_by(Product.id.desc()).limit(limit).offset(offset)
        # Each filter is one indexed column of the same single SELECT (addresses stored
        # checksummed, so any case the caller sends matches).
        for column, value in ((Product.owner, owner), (Product.producer, producer),
                              (Product.esp, esp)):  # fmt: skip
            if value:
                q = q.where(column == to_checksum_address(value.lower()))
        if status:
            q = q.where(Product.status == status)
        items = [_product_json(p) for p in session.scalars(q)]
        return ProductsOut.model_validate({"items": items, "limit": limit, "offset": offset})

    return await _cached(request, render)


@router.get("/products/{token_id}", response_model=ProductDetailOut, responses=declare(404))
async def get_product(token_id: TokenId, request: Request) -> Response:
    """One product with its full provenance and history."""

    market = request.app.state.market

    def render(session: Session) -> ProductDetailOut:
        product = _load(session, token_id)
        head = market.deployment.chain.w3.eth.block_number
        until = reclaim_hold(market.deployment, product, head=head)
        events = session.scalars(
            select(ProductEvent)
            .where(ProductEvent.token_id == product.token_id)
            .order_by(ProductEvent.id)
        )
        history = [
            {"kind": e.kind, "block": e.block_number, "tx_hash": e.tx_hash, **decimal_ids(e.data)}
            for e in events
        ]
        claim = latest_claims(session, [product.token_id]).get(product.token_id)
        return ProductDetailOut.model_validate(
            {
                **_product_json(product),
                "reclaimable_until": until,
                "misattestation": claim_json(claim),
                "history": history,
            }
        )

    # A reclaim hold ends with time, not with an event that would clear the cache: not cached.
    return await _cached(
        request, render, keep=lambda out: getattr(out, "reclaimable_until", None) is None
    )


async def _cached(
    request: Request,
    render: Callable[[Session], BaseModel],
    *,
    keep: Callable[[BaseModel], bool] = lambda _: True,
) -> Response:
    """Product reads are served from the market's read cache, which the indexer clears whenever
    it ingests events (and an image upload clears too); a miss renders in the thread pool and
    is cached when ``keep`` says so."""
    cache = request.app.state.market.read_cache
    key = str(request.url.path) + "?" + str(request.url.query)
    body = cache.get(key)
    if body is None:

        def build() -> tuple[bytes, bool]:
            with request.app.state.sessions() as session:
                out = render(session)
                return out.model_dump_json().encode(), keep(out)

        generation = cache.generation
        body, cacheable = await run_in_threadpool(build)
        if cacheable:
            cache.put(key, body, generation)
    return Response(body, media_type="application/json")


def _decoded_and_hashed(
    data: bytes, declared_type: str | None, max_pixels: int
) -> tuple[Image.Image, str]:
    img = decode_image(data, declared_type=declared_type, max_pixels=max_pixels)
    return img, "0x" + canonical_hash(img).hex()


def _fingerprint(img: Image.Image) -> Fingerprint:
    try:
        return fingerprint(img)
    except DegenerateImageError as exc:
        raise Unprocessable(str(exc), code="degenerate_image") from None


def _fingerprint_and_detail(img: Image.Image) -> tuple[Fingerprint, bytes]:
    return _fingerprint(img), detail_descriptor(img)


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _fingerprint_of(data: bytes, declared_type: str | None, max_pixels: int) -> Fingerprint:
    return _fingerprint(decode_image(data, declared_type=declared_type, max_pixels=max_pixels))


@router.put(
    "/products/{token_id}/image",
    response_model=ProductOut,
    responses=declare(401, 404, 413, 415, 429),
)
async def put_image(
    token_id: TokenId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
    limiter: LimiterDep,
    image: Annotated[UploadFile, File()],
) -> ProductOut:
    """Attach the image of a product (any signed-in account); its content hash must be the
    token's (else 422 ``hash_mismatch``). The fingerprint and detail descriptor are recomputed
    from it: ``attestation`` is "mismatch" when the attested ones differ (then the token is not
    traded, its open listings and unpaid trades are cancelled, and the owners of the images it
    nearly copies are told).

    The token's content hash names its bytes, so they authenticate themselves: whoever holds
    them may publish them here, not only its producer or owner. A plagiarist that never
    attaches its mis-attested copy must not leave the jurors of a mis-attestation claim
    (``ApiImages`` reads this route) without bytes, which would have them vote "no" and give the
    claimant's deposit to the plagiarist; the victim who found the copy attaches it. What the
    owner-only rule protected, and why that is given up: the producer's choice to keep its
    image off this API (the studio's "publish" box); the bytes of a token are no secret from
    whoever holds them (its ESP generated them, a buyer received them), who could publish them
    elsewhere anyway. Nothing else moves: an upload changes no owner, listing or price except a
    mismatch's withdrawal from sale, which the bytes prove; bytes of the same pixels give the
    same stored PNG and verdict (idempotent: one image per token, each "misattested_copy" note
    sent once), and uploads stay counted per account (``RATE_UPLOAD_PER_MINUTE``), size- and
    pixel-limited, and decoded strictly."""
    limiter.hit("upload", client_key(request), limit=settings.rate_upload_per_minute)
    product = _load(session, token_id)
    data = await image.read()
    # Decoding (up to max_image_pixels) and hashing cost CPU: off the event loop, which every
    # other request of the process waits on.
    img, content_hash = await run_in_threadpool(
        _decoded_and_hashed, data, image.content_type, settings.max_image_pixels
    )
    if content_hash != registered_content_hash(session, product):
        raise Unprocessable(
            "image content hash differs from the registered one", code="hash_mismatch"
        )
    # The stored PNG is the pixels alone (decode_image keeps no metadata): the same pixels give
    # the same bytes. Those already stored: nothing to redo, and the market's read cache is not
    # cleared (anyone may upload a token's public bytes, up to the upload rate, each clear made
    # every product and batch read render again).
    stored = await run_in_threadpool(_png_bytes, img)
    if product.image_blob == hashlib.sha256(stored).hexdigest() and product.image_fingerprint:
        return ProductOut.model_validate(_product_json(product))
    # The bytes are the token's (content hash checked): what they give is the truth, whatever
    # was attested. A mismatch is kept (it is the evidence), never trusted.
    fp, detail = await run_in_threadpool(_fingerprint_and_detail, img)
    attested_detail = product.detail
    matches = fp.hex() == product.fingerprint and (
        attested_detail is None or attested_detail.removeprefix("0x") == detail.hex()
    )
    product.image_blob = request.app.state.blobs.put(stored)
    product.image_fingerprint = fp.hex()
    product.attestation = "matches" if matches else "mismatch"
    if not matches:
        withdraw_from_sale(session, product)
        market = request.app.state.market
        market.catalog.misattested(
            session, product, fp, detail, block=market.deployment.chain.w3.eth.block_number
        )
    session.commit()
    request.app.state.market.read_cache.clear()
    return ProductOut.model_validate(_product_json(product))


@router.get(
    "/products/{token_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **declare(404)},
)
def get_image(token_id: TokenId, session: SessionDep, request: Request) -> Response:
    """The product's image (PNG)."""
    product = _load(session, token_id)
    if product.image_blob is None:
        raise NotFound(f"no image stored for {token_id}")
    return Response(request.app.state.blobs.get(product.image_blob), media_type="image/png")


@router.post("/search/similar", response_model=SimilarOut, responses=declare(413, 415, 429))
async def search_similar(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    limiter: LimiterDep,
    image: Annotated[UploadFile, File(description="the image to look up")],
) -> SimilarOut:
    """Registered products that this image nearly duplicates (fingerprint computed here)."""
    limiter.hit("upload", client_key(request), limit=settings.rate_upload_per_minute)
    fp = await run_in_threadpool(
        _fingerprint_of, await image.read(), image.content_type, settings.max_image_pixels
    )  # off the event loop: an anonymous upload of up to max_image_pixels to decode
    hits = request.app.state.market.catalog.similar(fp)
    items = []
    for pid, distance in sorted(hits, key=lambda h: h[1]):
        product = session.get(Product, pid)
        if product is not None:
            items.append({**_product_json(product), "distance": distance})
    return SimilarOut.model_validate({"fingerprint": fp.hex(), "matches": items})


MAX_NOTIFICATIONS_PAGE = 200
MAX_NOTIFICATION_ID = 2**31 - 1  # the column's range (a 32-bit integer)
NotificationCursor = Annotated[int, Query(ge=0, le=MAX_NOTIFICATION_ID)]


@router.get("/notifications", response_model=NotificationsOut, responses=declare(401))
def notifications(
    account: CurrentAccount,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_NOTIFICATIONS_PAGE)] = 100,
    before: Annotated[
        NotificationCursor | None,
        Query(description="the previous page's ``next``: notifications older than that id"),
    ] = None,
    after: Annotated[
        NotificationCursor | None,
        Query(description="only notifications newer than this id (the last one you have read)"),
    ] = None,
) -> NotificationsOut:
    """The caller's notifications (e.g. suspected plagiarism with a prepared challenge), newest
    first, a page of at most ``limit`` (200) at a time: ``next`` (null on the last page) is the
    ``before`` of the next, older page. Others' registrations and locks write to this list, so
    a reader that must not miss one (the defender) asks for those ``after`` the last id it read
    and follows ``next`` to the end."""
    q = select(Notification).where(Notification.recipient == account)
    if before is not None:
        q = q.where(Notification.id < before)
    if after is not None:
        q = q.where(Notification.id > after)
    rows = list(session.scalars(q.order_by(Notification.id.desc()).limit(limit)))
    items = [  # the note's own fields last: no payload key replaces the id a cursor moves by
        {**decimal_ids(n.payload), "id": n.id, "kind": n.kind, "block": n.block_number}
        for n in rows
    ]
    last = rows[-1].id if len(rows) == limit else None
    return NotificationsOut.model_validate({"items": items, "next": last})


@router.get("/challenges", response_model=ChallengesOut)
def list_challenges(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> ChallengesOut:
    """Challenges decided on chain, newest first (each with its verdict and distance)."""
    rows = session.scalars(
        select(ProductEvent)
        .where(ProductEvent.kind == "challenged")
        .order_by(ProductEvent.id.desc())
        .limit(2 * limit)
    )
    seen: set[str] = set()
    items = []
    for event in rows:
        if event.tx_hash in seen:
            continue  # recorded on both products
        seen.add(event.tx_hash)
        items.append(
            {
                "kind": event.kind,
                "block": event.block_number,
                "tx_hash": event.tx_hash,
                **decimal_ids(event.data),
            }
        )
    return ChallengesOut.model_validate({"items": items[:limit]})
