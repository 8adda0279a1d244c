"""Alembic owns the schema: the migrations build exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ledger.indexer.schema import IndexerBase
from marketplace_api.db import Base
from marketplace_api.migrate import upgrade


def test_upgrade_matches_the_models(database_url):
    url = database_url
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn), [Base.metadata, IndexerBase.metadata]
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
    } <= tables
    upgrade(url)  # idempotent
    engine.dispose()
