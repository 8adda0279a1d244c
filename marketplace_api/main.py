"""The FastAPI application: ``create_app(settings, deployment)``; ``aigc serve`` runs it."""

from __future__ import annotations

from fastapi import FastAPI

from ledger.deploy import Deployment
from marketplace_api import models  # noqa: F401  (registers the tables)
from marketplace_api.config import ApiSettings
from marketplace_api.db import Base, make_engine, session_factory
from marketplace_api.errors import install_handlers
from marketplace_api.ratelimit import RateLimiter
from marketplace_api.routers import auth, health, tx


def create_app(
    settings: ApiSettings, deployment: Deployment, *, create_schema: bool = True
) -> FastAPI:
    """The app bound to one deployment and one database.

    ``create_schema`` creates missing tables directly (tests, the embedded demo); a long-lived
    database is migrated with Alembic instead (``aigc serve`` runs the migrations).
    """
    app = FastAPI(
        title="AIGC marketplace",
        version="0.1.0",
        description="Generate, register, trade and defend AI-generated images on an EVM chain.",
    )
    engine = make_engine(settings.database_url)
    if create_schema:
        Base.metadata.create_all(engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.deployment = deployment
    app.state.limiter = RateLimiter()
    install_handlers(app)
    for module in (health, auth, tx):
        app.include_router(module.router)
    return app
