"""Read routes behind the web app's dashboards: a signed-in account's trades (the seller learns
that a buyer asked, the buyer finds its swaps again) and an ESP's record.

Both only read what the indexer and the trade routes already wrote; every rule stays in
:mod:`services.exchange` and the routers that change state.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger import EspRegistryClient
from ledger.indexer import ChainEvent
from marketplace_api.deps import (
    OPTIONAL_SIGN_IN,
    CurrentAccount,
    DeploymentDep,
    OptionalAccount,
    SessionDep,
)
from marketplace_api.errors import NotFound, declare
from marketplace_api.market import _interaction
from marketplace_api.models import Product, ProductEvent, Task, Trade
from marketplace_api.routers.trades import TradeOut, trade_json
from marketplace_api.types import Uint256, token_dec
from services.reputation import ReputationEngine, ReputationParams

ANONYMOUS = "anonymous"  # the viewer GET /v1/esps ranks for when nobody signs in

router = APIRouter(prefix="/v1", tags=["dashboards"], responses=declare())


class TradesOut(BaseModel):
    items: list[TradeOut]


@router.get("/me/trades", response_model=TradesOut, responses=declare(401))
def my_trades(
    account: CurrentAccount,
    session: SessionDep,
    deployment: DeploymentDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TradesOut:
    """The caller's trades, as seller or buyer, newest first."""
    q = (
        select(Trade)
        .where(or_(Trade.seller == account, Trade.buyer == account))
        .order_by(Trade.id.desc())
        .limit(limit)
    )
    return TradesOut(items=[trade_json(t, deployment) for t in session.scalars(q)])


EspAddress = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="the ESP's address")]
MAX_POINTS = 60  # reputation points drawn at most, spread over the ESP's whole record
SETTLED = ("claimed", "registered")  # the ESP revealed its secret: the fee is its revenue


class ReputationPoint(BaseModel):
    """The ESP's reputation, from the viewer's point of view, right after one feedback record
    about it."""

    block: int
    time: int
    reputation: float
    positive: bool


class TaskBrief(BaseModel):
    """A task as the public chain shows it (no prompt: that is the producer's and the ESP's)."""

    id: str
    status: str
    price: Uint256 | None
    created_block: int


class EspChallenge(BaseModel):
    """A challenge against an image this ESP attested, with the contract's verdict once decided."""

    token_id: str
    original: str
    block: int
    verdict: str | None


class EspDashboardOut(BaseModel):
    address: str
    viewer: str
    endpoint: str
    active: bool
    price: Uint256
    stake: Uint256
    challenges_lost: int
    tasks: dict[str, int]
    revenue: Uint256
    refunded: int
    refunded_value: Uint256
    fraud_proven: int
    products: int
    revoked: int
    reputation_now: float
    reputation: list[ReputationPoint]
    challenges: list[EspChallenge]
    recent_tasks: list[TaskBrief]


@router.get(
    "/esps/{address}/dashboard",
    response_model=EspDashboardOut,
    responses=declare(404, 502),
    openapi_extra=OPTIONAL_SIGN_IN,
)
def esp_dashboard(
    address: EspAddress,
    request: Request,
    session: SessionDep,
    deployment: DeploymentDep,
    account: OptionalAccount,
) -> EspDashboardOut:
    """An ESP's record: tasks, revenue, refunds, fraud, challenges, reputation over time."""
    esp = to_checksum_address(address.lower())
    viewer = account or ANONYMOUS  # reputation is always someone's view (the ranking's rule)
    reader = EspRegistryClient(deployment)
    if esp not in reader.esps():
        raise NotFound(f"no ESP {esp} is registered")
    info = reader.esp_info(esp)
    tasks = _counts(session, Task.status, Task.esp == esp)
    prices = session.execute(
        select(Task.status, Task.price).where(
            Task.esp == esp, Task.status.in_((*SETTLED, "refunded")), Task.price.is_not(None)
        )
    ).all()
    revenue = sum(int(p) for s, p in prices if s in SETTLED)
    refunded_value = sum(int(p) for s, p in prices if s == "refunded")
    products = _counts(session, Product.status, Product.esp == esp)
    recent = session.scalars(
        select(Task).where(Task.esp == esp).order_by(Task.created_block.desc()).limit(20)
    )
    params = request.app.state.market.reputation.params
    return EspDashboardOut(
        address=esp,
        viewer=viewer,
        endpoint=info.endpoint,
        active=info.active,
        price=info.price,
        stake=info.stake,
        challenges_lost=info.challenges_lost,
        tasks=tasks,
        revenue=revenue,
        refunded=tasks.get("refunded", 0),
        refunded_value=refunded_value,
        fraud_proven=tasks.get("fraud_proven", 0),
        products=sum(products.values()),
        revoked=products.get("revoked", 0),
        reputation_now=_reputation_now(request, viewer, esp, deployment.chain.timestamp()),
        reputation=_cached_series(request, session, params, viewer, esp),
        challenges=_challenges(session, esp),
        recent_tasks=[
            TaskBrief(
                id=t.id,
                status=t.status,
                price=int(t.price) if t.price else None,
                created_block=t.created_block,
            )
            for t in recent
        ],
    )


def _counts(session: Session, column: Any, where: Any) -> dict[str, int]:
    """Rows by ``column`` value, in one grouped query."""
    q = select(column, func.count()).where(where).group_by(column)
    return {str(k): int(n) for k, n in session.execute(q)}


def _reputation_now(request: Request, viewer: str, esp: str, now: int) -> float:
    return round(float(request.app.state.market.reputation.reputation(viewer, esp, now=now)), 6)


_SERIES = TypeAdapter(list[ReputationPoint])


def _cached_series(
    request: Request, session: Session, params: ReputationParams, viewer: str, esp: str
) -> list[ReputationPoint]:
    """The series replays every feedback record, so it is kept in the market's read cache,
    which the indexer clears whenever it ingests events (the only way new feedback arrives):
    repeated reads cost one lookup, not one replay each."""
    cache = request.app.state.market.read_cache
    key = f"esp-reputation:{esp}:{viewer}"
    body = cache.get(key)
    if body is not None:
        return _SERIES.validate_json(body)
    generation = cache.generation
    points = _reputation_series(session, params, viewer, esp)
    cache.put(key, _SERIES.dump_json(points), generation)
    return points


def _reputation_series(
    session: Session, params: ReputationParams, viewer: str, esp: str
) -> list[ReputationPoint]:
    """Replays the chain's feedback records into a fresh engine (the ranking's own rule and
    parameters) and reads the ESP's reputation in ``viewer``'s eyes after its records, at most
    ``MAX_POINTS`` of them evenly spread (always the last)."""
    rows = session.execute(
        select(ChainEvent.args, ChainEvent.block_time, ChainEvent.block_number)
        .where(ChainEvent.event == "FeedbackRecorded")
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    ).all()
    own = [i for i, (args, _, _) in enumerate(rows) if to_checksum_address(args["esp"]) == esp]
    step = max(1, -(-len(own) // MAX_POINTS))
    wanted = set(own[::-1][::step])  # from the last one backwards
    engine = ReputationEngine(params)
    points = []
    for i, (args, block_time, block) in enumerate(rows):
        engine.record(_interaction(args, block_time))
        if i in wanted:
            rep = float(engine.reputation(viewer, esp, now=int(block_time)))
            points.append(
                ReputationPoint(
                    block=block, time=block_time, reputation=round(rep, 6),
                    positive=bool(args["positive"]),
                )
            )  # fmt: skip
    return points


def _challenges(session: Session, esp: str) -> list[EspChallenge]:
    """The latest challenges against this ESP's images, each with its verdict once decided."""
    rows = session.execute(
        select(ProductEvent)
        .join(Product, Product.token_id == ProductEvent.token_id)
        .where(Product.esp == esp, ProductEvent.kind.in_(("challenged", "decided")))
        .order_by(ProductEvent.id.desc())
        .limit(100)
    ).scalars()
    out: dict[tuple[str, str], EspChallenge] = {}
    for e in rows:
        if e.data.get("duplicate") != e.token_id:
            continue  # this ESP's image was the original, not the accused
        key = (e.token_id, str(e.data.get("original")))
        item = out.setdefault(
            key,
            EspChallenge(
                token_id=token_dec(e.token_id),
                original=token_dec(str(e.data.get("original"))),
                block=e.block_number,
                verdict=None,
            ),
        )
        if e.kind == "decided":
            item.verdict = str(e.data.get("verdict"))
        else:
            item.block = e.block_number
    return list(out.values())[:20]
