"""Rasa's endpoints.yml, written from the environment: SQL tracker store on the same database as
BackTalk's tables, Redis lock store when REDIS_URL is set, and the token-protected action server."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict
from urllib.parse import unquote, urlparse

import yaml

from bot.config import Settings


def tracker_store(database_url: str) -> Dict[str, Any]:
    parsed = urlparse(database_url)
    dialect = parsed.scheme.split("+", 1)[0]
    if dialect == "sqlite":
        return {"type": "SQL", "dialect": "sqlite", "db": database_url.split("///", 1)[1]}
    if dialect not in ("postgresql", "postgres"):
        raise ValueError(f"unsupported DATABASE_URL scheme {parsed.scheme!r}: use sqlite or postgresql")
    store: Dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "db": parsed.path.lstrip("/"),
    }
    if parsed.username:
        store["username"] = unquote(parsed.username)
    if parsed.password:
        store["password"] = unquote(parsed.password)
    return store


def lock_store(redis_url: str) -> Dict[str, Any]:
    parsed = urlparse(redis_url)
    store: Dict[str, Any] = {
        "type": "redis",
        "url": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 6379,
        "db": int(parsed.path.lstrip("/") or 0),
        "key_prefix": "backtalk",
    }
    if parsed.password:
        store["password"] = unquote(parsed.password)
    return store


def endpoints(config: Settings) -> Dict[str, Any]:
    result: Dict[str, Any] = {
        "action_endpoint": {"url": config.action_server_url, "token": config.action_server_token},
        "tracker_store": tracker_store(config.database_url),
    }
    if config.redis_url:
        result["lock_store"] = lock_store(config.redis_url)
    return result


def write_endpoints(config: Settings, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `backtalk endpoints` from the environment; edit .env, not this file.\n"
        + yaml.safe_dump(endpoints(config), sort_keys=False),
        encoding="utf-8",
    )
    path.chmod(0o600)  # it holds the action server token and possibly database passwords
    return path
