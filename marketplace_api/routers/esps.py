"""ESPs with their reputation and selection probability from the caller's point of view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ledger import EspRegistryClient
from marketplace_api.deps import OPTIONAL_SIGN_IN, DeploymentDep, OptionalAccount, SessionDep
from marketplace_api.draws import unresponsive_esps
from marketplace_api.errors import declare
from marketplace_api.market import SELECTION_FLOOR, SELECTION_TEMPERATURE
from marketplace_api.schemas import EspsOut

router = APIRouter(prefix="/v1", tags=["esps"], responses=declare(502))


@router.get("/esps", response_model=EspsOut, openapi_extra=OPTIONAL_SIGN_IN)
def list_esps(
    request: Request,
    deployment: DeploymentDep,
    account: OptionalAccount,
    session: SessionDep,
    temperature: Annotated[float, Query(gt=0, le=10)] = SELECTION_TEMPERATURE,
    floor: Annotated[float, Query(ge=0, le=1)] = SELECTION_FLOOR,
) -> EspsOut:
    """Active ESPs ranked by reputation from the signed-in producer's view (anonymous otherwise),
    with the probability that a task posted without an ESP goes to each: established ESPs at or
    above ``floor`` by softmax, newcomers and ESPs on probation sharing a 2% exploration slice
    (a newcomer that left tasks it was drawn for unquoted gets none of it)."""
    viewer = account or "anonymous"  # the bearer scheme in any case, as for signed-in routes
    reader = EspRegistryClient(deployment)
    infos = {esp: reader.esp_info(esp) for esp in reader.esps()}
    active = [esp for esp, info in infos.items() if info.active]
    market = request.app.state.market
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
