"""Shared fixtures: settings pointing at throw-away databases, on SQLite and on real PostgreSQL, and a
fake Telegram Bot API for code that calls it from synchronous workers."""
from __future__ import annotations

import asyncio
import os
import secrets
import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy

from bot.config import Settings
from tests.telegram_fake import FakeBotAPI

# The PostgreSQL server tests run against (CI and this machine: the local one). Unreachable means
# the run fails: storage tests are never silently skipped.
POSTGRES_URL = os.environ.get("BACKTALK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        environment="test",
        data_dir=data_dir,
        database_url=database_url,
        redis_url=None,
        rasa_url="http://127.0.0.1:1",
        rasa_auth_token="test-rasa-token",
        action_server_url="http://127.0.0.1:1/webhook",
        action_server_token="test-action-token",
        pseudonym_key=b"test-pseudonym-key",
        encryption_key=b"test-encryption-key",
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'backtalk.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the real PostgreSQL server, dropped afterwards."""
    schema = f"bt_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL, future=True)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs on both databases."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return request.getfixturevalue(fixture)


@pytest.fixture
def migrated_url(database_url: str) -> str:
    from bot.store.migrate import upgrade

    upgrade(database_url)
    return database_url


@pytest.fixture
def settings(migrated_url: str, tmp_path: Path) -> Settings:
    return make_settings(migrated_url, tmp_path)


def random_sender() -> str:
    return f"test-{secrets.token_hex(6)}"


@pytest.fixture(scope="session")
def model() -> Path:
    """The Rasa model `make run` uses, trained first if the data changed."""
    from tests.e2e.servers import ensure_model

    return ensure_model()


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotAPI]:
    """A fake Bot API served from an event loop of its own in a thread: the notification worker and
    the follow-up scheduler call Telegram from plain threads, as in production."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-bot-api", daemon=True)
    thread.start()
    fake = FakeBotAPI()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(30)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
