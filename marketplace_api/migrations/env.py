"""Alembic environment: the marketplace's models plus the indexer's and the blob store's tables,
one schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from ledger.indexer.schema import IndexerBase
from marketplace_api import models, models_shared  # noqa: F401  (registers the tables)
from marketplace_api.db import Base
from services.storage import StorageBase

config = context.config
target_metadata = [Base.metadata, IndexerBase.metadata, StorageBase.metadata]


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
