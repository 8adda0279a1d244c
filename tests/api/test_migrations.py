"""Alembic owns the schema: the migrations build exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ledger.indexer.schema import IndexerBase
from marketplace_api import models_shared  # noqa: F401  (registers the shared-state tables)
from marketplace_api.db import Base
from marketplace_api.migrate import upgrade
from services.storage import StorageBase


def test_upgrade_matches_the_models(database_url):
    url = database_url
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn),
            [Base.metadata, IndexerBase.metadata, StorageBase.metadata],
        )
    assert diff == [], f"models and migrations differ: generate a new revision: {diff}"
    tables = set(inspect(engine).get_table_names())
    assert {
        "products",
        "tasks",
        "listings",
        "trades",
        "chain_events",
        "indexer_checkpoint",
        "rate_limit_buckets",
        "shared_secrets",
        "blobs",
    } <= tables
    upgrade(url)  # idempotent
    engine.dispose()
