"""Bringing a database's schema up to date with Alembic, for SQLite and PostgreSQL alike."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.paths import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "bot" / "store" / "migrations"))
    # ConfigParser interpolation would trip over a "%" in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
