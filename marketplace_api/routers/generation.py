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

import io
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from PIL import Image
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from generators.errors import InvalidGenerationArgumentError
from marketplace_api.deps import LimiterDep, SessionDep, SettingsDep, client_key
from marketplace_api.errors import Conflict, NotFound, Unprocessable, declare
from marketplace_api.models import GenerationOpeningRow, Product
from marketplace_api.types import UINT_PATTERN, token_dec, token_hex
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
]


class OpeningIn(BaseModel):
    prompt: str = Field(
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
    was stored is 409 ``opening_exists`` (the same one again is 200)."""
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
    image = Image.open(io.BytesIO(request.app.state.blobs.get(product.image_blob)))
    try:
        generated, _ = await run_in_threadpool(make, opening.prompt, opening.seed)
    except InvalidGenerationArgumentError as exc:  # a prompt the model refuses
        raise Unprocessable(
            f"the prompt and seed do not regenerate the token's image ({exc})",
            code="not_reproduced",
        ) from None
    if not reproduces(generated, image):
        raise Unprocessable(
            "the prompt and seed do not regenerate the token's image", code="not_reproduced"
        )
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
