"""Read routes behind the web app's dashboards: a signed-in account's trades (the seller learns
that a buyer asked, the buyer finds its swaps again) and an ESP's record.

Both only read what the indexer and the trade routes already wrote; every rule stays in
:mod:`services.exchange` and the routers that change state.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import or_, select

from marketplace_api.deps import CurrentAccount, SessionDep
from marketplace_api.errors import declare
from marketplace_api.models import Trade
from marketplace_api.routers.trades import TradeOut, trade_json

router = APIRouter(prefix="/v1", tags=["dashboards"], responses=declare())


class TradesOut(BaseModel):
    items: list[TradeOut]


@router.get("/me/trades", response_model=TradesOut, responses=declare(401))
def my_trades(
    account: CurrentAccount,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TradesOut:
    """The caller's trades, as seller or buyer, newest first."""
    q = (
        select(Trade)
        .where(or_(Trade.seller == account, Trade.buyer == account))
        .order_by(Trade.id.desc())
        .limit(limit)
    )
    return TradesOut(items=[trade_json(t) for t in session.scalars(q)])
