"""The FastAPI application: ``create_app(settings, deployment)``; :mod:`marketplace_api.stack`
opens it on a chain and a database for ``aigc serve``, the demo and the benchmarks."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from ledger.deploy import Deployment
from marketplace_api import models, models_shared, tokens  # noqa: F401  (registers the tables)
from marketplace_api.config import ApiSettings, prompt_release_depth
from marketplace_api.cors import install_cors, parse_origins
from marketplace_api.db import Base, make_engine, session_factory
from marketplace_api.errors import document_errors, install_handlers
from marketplace_api.indexing import ChainFollower, SharedReadCache
from marketplace_api.market import Market
from marketplace_api.proxies import parse_trusted_proxies
from marketplace_api.ratelimit import RateLimiter
from marketplace_api.routers import (
    auth,
    batches,
    dashboard,
    delivery_keys,
    esps,
    events,
    generation,
    health,
    meta,
    products,
    tasks,
    trades,
    tx,
)
from marketplace_api.routers import web as web_app
from marketplace_api.uploads import BodySizeLimit, JsonDepthLimit
from services.storage import BlobStore, DbBlobStore


class NoSniff:
    """``X-Content-Type-Options: nosniff`` on every answer, the web app's pages included (their
    other headers are :data:`marketplace_api.routers.web.SECURITY_HEADERS`):
    the API serves bytes others uploaded (images, previews, sealed deliveries), typed
    ``image/png`` or ``application/octet-stream``; a browser must never sniff them into HTML or
    script."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [*(message.get("headers") or []), (b"x-content-type-options", b"nosniff")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_nosniff)


def create_app(
    settings: ApiSettings, deployment: Deployment, *, create_schema: bool = True
) -> FastAPI:
    """The app bound to one deployment and one database.

    ``create_schema`` creates missing tables directly (tests, the demo); a long-lived database is
    migrated with Alembic instead (``aigc serve`` runs the migrations first).
    """
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
    )
    if create_schema:
        Base.metadata.create_all(engine)
    if "token_secret" not in settings.model_fields_set:
        # One secret for every replica on this database (and across restarts).
        secret = SecretStr(tokens.stored_secret(engine))
        settings = settings.model_copy(update={"token_secret": secret})
    chain = deployment.chain
    market = Market(
        deployment,
        engine,
        confirmations=settings.confirmations,
        prompt_release_depth=prompt_release_depth(
            settings, chain_id=chain.chain_id, embedded=chain.kind == "embedded"
        ),
    )
    market.read_cache = SharedReadCache(engine)
    stop = threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = None
        index = settings.indexer_interval_s > 0
        interval = settings.indexer_interval_s if index else settings.follow_interval_s
        if interval > 0:
            follower = ChainFollower(market, index=index)
            worker = threading.Thread(
                target=follower.run, args=(stop, interval), name="indexer", daemon=True
            )
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=10)

    app = FastAPI(
        title="AIGC marketplace",
        version="0.1.0",
        description="Generate, register, trade and defend AI-generated images on an EVM chain.",
        lifespan=lifespan,
        # /docs and /redoc are the web router's: local assets under a Content-Security-Policy
        # (FastAPI's own load scripts from a CDN into an unprotected page on this origin)
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.deployment = deployment
    app.state.limiter = RateLimiter(engine)
    app.state.trusted_proxies = parse_trusted_proxies(settings.trusted_proxies)
    app.state.market = market
    app.state.blobs = (
        DbBlobStore(engine) if settings.blob_store == "db" else BlobStore(settings.blob_dir)
    )
    install_handlers(app)
    document_errors(app)
    for module in (health, auth, tx, esps, products, tasks, events, trades, delivery_keys, meta):
        app.include_router(module.router)
    app.include_router(generation.router)  # generation openings (issue 11, generation proofs)
    app.include_router(batches.router)  # batch registration (issue 16)
    app.include_router(batches.tx_router)
    app.include_router(batches.requests_router)
    app.include_router(dashboard.router)  # read routes behind the web app's dashboards
    app.include_router(web_app.router)  # the web app at / (issue 15)
    app.add_middleware(NoSniff)
    app.add_middleware(JsonDepthLimit)  # inside the size limit: what it buffers is bounded
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    install_cors(app, parse_origins(settings.cors_origins))  # outermost: errors get it too
    return app
