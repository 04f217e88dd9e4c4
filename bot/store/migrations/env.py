"""Alembic environment: BackTalk's tables only (Rasa's tracker store keeps its `events` table in the
same database and manages it itself)."""
from __future__ import annotations

from alembic import context
from bot.store.db import engine_for
from bot.store.models import metadata

config = context.config


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.config import settings

    return settings().database_url


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    return type_ != "table" or name in metadata.tables


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=metadata, literal_binds=True,
                      include_name=include_name, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with engine_for(database_url()).connect() as connection:
        # batch mode lets later migrations alter columns on SQLite too
        context.configure(connection=connection, target_metadata=metadata,
                          include_name=include_name, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
