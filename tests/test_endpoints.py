from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.rasa_endpoints import endpoints, lock_store, tracker_store, write_endpoints
from tests.conftest import make_settings


def test_sqlite_tracker_store_uses_the_same_file() -> None:
    assert tracker_store("sqlite:////data/backtalk.db") == {"type": "SQL", "dialect": "sqlite", "db": "/data/backtalk.db"}


def test_postgresql_url_becomes_rasa_sql_settings() -> None:
    assert tracker_store("postgresql://bt:s%40cret@db.internal:5433/backtalk") == {
        "type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 5433,
        "db": "backtalk", "username": "bt", "password": "s@cret",
    }


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        tracker_store("mysql://x@y/z")


def test_redis_lock_store() -> None:
    assert lock_store("redis://:pw@127.0.0.1:6379/2") == {
        "type": "redis", "url": "127.0.0.1", "port": 6379, "db": 2, "key_prefix": "backtalk", "password": "pw"}


def test_written_file_carries_the_action_token_and_is_private(tmp_path: Path) -> None:
    config = make_settings("sqlite:////tmp/x.db", tmp_path)
    path = write_endpoints(config, tmp_path / "endpoints.yml")
    written = yaml.safe_load(path.read_text())
    assert written == endpoints(config)
    assert written["action_endpoint"]["token"] == "test-action-token"
    assert "lock_store" not in written
    assert path.stat().st_mode & 0o077 == 0
