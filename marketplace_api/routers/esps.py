"""ESPs with their reputation and selection probability from the caller's point of view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from marketplace_api.deps import OPTIONAL_SIGN_IN, DeploymentDep, OptionalAccount, SessionDep
from marketplace_api.draws import unresponsive_esps
from marketplace_api.errors import declare
from marketplace_api.esp_directory import current_esps
from marketplace_api.market import SELECTION_FLOOR, SELECTION_TEMPERATURE
from marketplace_api.schemas import EspsOut
from marketplace_api.types import UINT256_TEXT, UINT_PATTERN, parse_uint

router = APIRouter(prefix="/v1", tags=["esps"], responses=declare(502))


@router.get("/esps", response_model=EspsOut, openapi_extra=OPTIONAL_SIGN_IN)
def list_esps(
    request: Request,
    account: OptionalAccount,
    session: SessionDep,
    deployment: DeploymentDep,
    temperature: Annotated[float, Query(gt=0, le=10)] = SELECTION_TEMPERATURE,
    floor: Annotated[float, Query(ge=0, le=1)] = SELECTION_FLOOR,
    max_price: Annotated[
        str | None,
        Query(
            pattern=UINT_PATTERN,
            description="wei, decimal or 0x-hex: only ESPs priced within it, as a task posted "
            "with this max_price draws",
        ),
        UINT256_TEXT,
    ] = None,
) -> EspsOut:
    """Active ESPs ranked by reputation from the signed-in producer's view (anonymous otherwise),
    with the probability that a task posted without an ESP goes to each: established ESPs at or
    above ``floor`` by softmax, newcomers and ESPs on probation sharing a 2% exploration slice
    (a newcomer that left tasks it was drawn for unquoted gets none of it). With ``max_price``,
    only the ESPs a task paying at most that can be drawn for, with that draw's probabilities.
    Read from the indexed ESP directory and the ESP events of the blocks not indexed yet: the
    same few calls whatever the number of ESPs."""
    viewer = account or "anonymous"  # the bearer scheme in any case, as for signed-in routes
    limit = None if max_price is None else parse_uint(max_price)
    market = request.app.state.market
    indexed_to = market.indexer.checkpoint()[0]
    esps = current_esps(session, deployment, indexed_to=indexed_to, max_price=limit)
    infos = {e.address: e for e in esps}
    active = list(infos)
    now = deployment.chain.timestamp()
    quiet = unresponsive_esps(session, active, now=now, params=market.reputation.params)
    ranking = market.ranking(
        viewer, active, now=now, temperature=temperature, floor=floor, unresponsive=quiet
    )
    items = [
        {
            "address": esp,
            "endpoint": infos[esp].endpoint,
            "price": infos[esp].price,
            "stake": infos[esp].stake,
            "challenges_lost": infos[esp].challenges_lost,
            "reputation": round(rep, 6),
            "selection_probability": round(prob, 6),
        }
        for esp, rep, prob in ranking
    ]
    return EspsOut.model_validate(
        {"viewer": viewer, "temperature": temperature, "floor": floor, "items": items}
    )
