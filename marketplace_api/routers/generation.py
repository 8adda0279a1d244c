"""Generation openings: publish the prompt and seed that regenerate a product's image.

A committee juror tells an accused generation from a copy by re-running its opening on its own
copy of the model (services/provenance/generation_proof.py): stage 3 cannot separate two
independent generations that share a layout, a proof can. Anyone who knows the opening may
publish it (the producer knows its prompt; the ESP knows the seed it generated with): it is
self-verifying, so the API stores only one that regenerates the stored image on the bundled
model, and the jurors check it again on theirs. Publishing reveals the prompt: it is the
accused's choice, made when its token is challenged.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Path, Request
from PIL import Image
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from generators.errors import InvalidGenerationArgumentError
from marketplace_api.deps import LimiterDep, SessionDep, SettingsDep, client_key
from marketplace_api.errors import Conflict, NotFound, Unprocessable, declare
from marketplace_api.models import GenerationOpeningRow, GenerationRefusalRow, Product
from marketplace_api.types import UINT256_TEXT, UINT_PATTERN, Text, token_dec, token_hex
from services.provenance.generation_proof import (
    MAX_PROMPT_CHARS,
    GenerationOpening,
    model_key,
    reproduces,
    runnable_maker,
)

router = APIRouter(prefix="/v1", tags=["products"], responses=declare())
TokenId = Annotated[
    str,
    Path(
        pattern=UINT_PATTERN,
        description="the token id: decimal, or 0x + up to 64 hex digits",
    ),
    UINT256_TEXT,
]


class OpeningIn(BaseModel):
    prompt: Text = Field(  # no control characters: PostgreSQL refuses a NUL (a 500 before)
        min_length=1, max_length=MAX_PROMPT_CHARS, description="the prompt the image was made from"
    )
    seed: str = Field(
        pattern=r"^[0-9]{1,19}$",
        description="the seed the ESP generated with (its generation seed, not the requested "
        "one), a decimal string below 2**63",
    )


class OpeningOut(BaseModel):
    token_id: str = Field(description="decimal")
    model_id: str = Field(description="the generator's model id the opening regenerates on")
    prompt: str
    seed: str = Field(description="decimal string")


def _out(row: GenerationOpeningRow) -> OpeningOut:
    return OpeningOut(
        token_id=token_dec(row.token_id),
        model_id=row.model_id,
        prompt=row.prompt,
        seed=str(row.seed),
    )


def _product(session: SessionDep, token_id: str) -> Product:
    product = session.scalar(select(Product).where(Product.token_id == token_hex(token_id)))
    if product is None:
        raise NotFound(f"no product {token_id}")
    return product


_NOT_REPRODUCED = "the prompt and seed do not regenerate the token's image"
MAX_REFUSALS_KEPT = 64  # per product: the newest refused openings, answered without regenerating


def _opening_key(model_id: str, opening: GenerationOpening) -> str:
    """What a refusal is remembered by: the model, the prompt and the seed."""
    text = json.dumps([model_id, opening.prompt, opening.seed], ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _remember_refusal(session: SessionDep, token_id: str, key: str) -> None:
    """Stores a refused opening and keeps only the newest :data:`MAX_REFUSALS_KEPT` of the
    product (a race on the same opening stores it once)."""
    session.rollback()  # nothing else of this request is written
    session.add(GenerationRefusalRow(token_id=token_id, opening=key, refused_ns=time.time_ns()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return
    t = GenerationRefusalRow
    kept = (
        select(t.refused_ns)
        .where(t.token_id == token_id)
        .order_by(t.refused_ns.desc())
        .offset(MAX_REFUSALS_KEPT)
        .limit(1)
        .scalar_subquery()
    )
    session.execute(delete(t).where(t.token_id == token_id, t.refused_ns <= kept))
    session.commit()


def _count_regeneration(
    request: Request, limiter: LimiterDep, settings: SettingsDep, product: Product
) -> None:
    """One regeneration of ``product``'s image, counted before any work: its parties (producer,
    owner, ESP, signed in) have a budget of their own per product; everyone else shares one per
    product and one across all products (429 ``rate_limited`` beyond)."""
    hour = 3600.0
    caller = client_key(request)
    if caller in {product.producer, product.owner, product.esp}:
        limiter.hit(
            "regenerate_party",
            product.token_id,
            limit=settings.regenerations_per_token_hour,
            window_s=hour,
        )
        return
    limiter.hit(
        "regenerate_others",
        product.token_id,
        limit=settings.regenerations_per_token_hour_others,
        window_s=hour,
    )
    limiter.hit(
        "regenerate_others", "*", limit=settings.regenerations_per_hour_others, window_s=hour
    )


def _regenerations(request: Request, settings: SettingsDep) -> anyio.CapacityLimiter:
    """The process's regeneration threads (at most ``max_concurrent_regenerations`` at once)."""
    cap: anyio.CapacityLimiter | None = getattr(request.app.state, "regenerations", None)
    if cap is None:
        cap = anyio.CapacityLimiter(settings.max_concurrent_regenerations)
        request.app.state.regenerations = cap
    return cap


@router.put(
    "/products/{token_id}/generation",
    response_model=OpeningOut,
    responses=declare(404, 409, 422, 429),
)
async def put_generation(
    token_id: TokenId,
    body: OpeningIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> OpeningOut:
    """Publish the prompt and seed that regenerate the product's image (anyone may: the API
    regenerates it on the bundled model and stores only an opening that reproduces the stored
    image, up to another CPU's float noise). The image must be attached first (409
    ``image_missing``); a model the API cannot run is 422 ``model_not_runnable``; an opening
    that does not reproduce the image is 422 ``not_reproduced``; a different opening after one
    was stored is 409 ``opening_exists`` (the same one again is 200).

    Each check regenerates the image (about 0.5 s of CPU), so it is counted: per product and
    hour its producer, owner or ESP (signed in) may have 12 checked, everyone else together 3,
    and everyone else 60 across all products (429 ``rate_limited`` beyond); a refused opening
    sent again is 422 ``not_reproduced`` at once (the newest 64 per product are remembered)."""
    limiter.hit("upload", client_key(request), limit=settings.rate_upload_per_minute)
    try:
        opening = GenerationOpening(body.prompt, int(body.seed))
    except ValueError as exc:
        raise Unprocessable(str(exc), code="bad_opening") from None
    product = _product(session, token_id)
    stored = session.get(GenerationOpeningRow, product.token_id)
    if stored is not None:
        if (stored.prompt, stored.seed) == (opening.prompt, opening.seed):
            return _out(stored)
        raise Conflict(f"an opening of {token_id} is already published", code="opening_exists")
    if product.image_blob is None:
        raise Conflict(
            f"attach the image of {token_id} first (PUT /v1/products/{token_id}/image)",
            code="image_missing",
        )
    from generators import get_generator

    model_id = get_generator("bundled").model_id
    make = runnable_maker(model_id)
    attested = str(product.model_id).lower().removeprefix("0x")
    if make is None or model_key(model_id).hex() != attested:
        raise Unprocessable(
            f"the token's attested model is not one this API can run (only {model_id})",
            code="model_not_runnable",
        )
    key = _opening_key(model_id, opening)
    if session.get(GenerationRefusalRow, (product.token_id, key)) is not None:
        raise Unprocessable(_NOT_REPRODUCED + " (refused before)", code="not_reproduced")
    _count_regeneration(request, limiter, settings, product)
    image = Image.open(io.BytesIO(request.app.state.blobs.get(product.image_blob)))
    try:
        generated, _ = await anyio.to_thread.run_sync(
            make, opening.prompt, opening.seed, limiter=_regenerations(request, settings)
        )
    except InvalidGenerationArgumentError as exc:  # a prompt the model refuses
        _remember_refusal(session, product.token_id, key)
        raise Unprocessable(f"{_NOT_REPRODUCED} ({exc})", code="not_reproduced") from None
    if not reproduces(generated, image):
        _remember_refusal(session, product.token_id, key)
        raise Unprocessable(_NOT_REPRODUCED, code="not_reproduced")
    row = GenerationOpeningRow(
        token_id=product.token_id, model_id=model_id, prompt=opening.prompt, seed=opening.seed
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another publication of the same token won the race
        session.rollback()
        stored = session.get(GenerationOpeningRow, product.token_id)
        if stored is None or (stored.prompt, stored.seed) != (opening.prompt, opening.seed):
            raise Conflict(
                f"an opening of {token_id} is already published", code="opening_exists"
            ) from None
        return _out(stored)
    return _out(row)


@router.get(
    "/products/{token_id}/generation",
    response_model=OpeningOut,
    responses=declare(404),
)
def get_generation(token_id: TokenId, session: SessionDep) -> OpeningOut:
    """The product's published generation opening (404 ``not_found`` when none is)."""
    product = _product(session, token_id)
    row = session.get(GenerationOpeningRow, product.token_id)
    if row is None:
        raise NotFound(f"no generation opening published for {token_id}")
    return _out(row)
