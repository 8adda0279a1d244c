"""ESPs with their reputation and selection probability from the caller's point of view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from ledger import EspRegistryClient
from marketplace_api import tokens
from marketplace_api.deps import DeploymentDep, SettingsDep, bearer_token
from marketplace_api.errors import declare
from marketplace_api.schemas import EspsOut

router = APIRouter(prefix="/v1", tags=["esps"], responses=declare(502))


@router.get("/esps", response_model=EspsOut)
def list_esps(
    request: Request,
    deployment: DeploymentDep,
    settings: SettingsDep,
    temperature: Annotated[float, Query(gt=0, le=10)] = 0.15,
    floor: Annotated[float, Query(ge=0, le=1)] = 0.2,
    authorization: Annotated[str | None, Header()] = None,
) -> EspsOut:
    """Active ESPs ranked by reputation from the signed-in producer's view (anonymous otherwise)."""
    viewer = "anonymous"
    token = bearer_token(authorization)  # the scheme in any case, as for signed-in routes
    if token is not None:
        try:
            viewer = tokens.check(token, secret=settings.token_secret.get_secret_value().encode())
        except tokens.TokenError:
            viewer = "anonymous"
    reader = EspRegistryClient(deployment)
    infos = {esp: reader.esp_info(esp) for esp in reader.esps()}
    active = [esp for esp, info in infos.items() if info.active]
    market = request.app.state.market
    ranking = market.ranking(
        viewer, active, now=deployment.chain.timestamp(), temperature=temperature, floor=floor
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
