"""Settings from the environment (and a ``.env`` file when present).

Development generates its secrets on first run (``backtalk init-env``); production
(``BACKTALK_ENV=production``) refuses to start without them, so no deployment runs on a default secret.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from bot.paths import PROJECT_ROOT

SECRET_NAMES = ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN", "BACKTALK_PSEUDONYM_KEY", "BACKTALK_ENCRYPTION_KEY")


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def read_env_file(path: Path) -> Dict[str, str]:
    values: Dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def load_env_file(path: Optional[Path] = None) -> None:
    """Put ``.env`` values into ``os.environ`` without overriding what the environment already says."""
    for key, value in read_env_file(path or PROJECT_ROOT / ".env").items():
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class Settings:
    environment: str
    data_dir: Path
    database_url: str
    redis_url: Optional[str]
    rasa_url: str
    rasa_auth_token: str
    action_server_url: str
    action_server_token: str
    pseudonym_key: bytes
    # encrypts what must be reversible (the Telegram chat id, to send follow-ups); see bot/telegram/chats.py
    encryption_key: bytes
    # where patients' devices reach bot.web: links to care-plan PDFs and outlook graphs start with it
    public_url: str = "http://127.0.0.1:8000"
    # how long a link to a patient's file (/files/...) lasts; bot/web/files.py
    file_link_days: int = 7

    @property
    def production(self) -> bool:
        return self.environment == "production"


def settings() -> Settings:
    """Current settings; read on each call so tests and tools can point at other databases."""
    load_env_file()
    env = os.environ
    environment = env.get("BACKTALK_ENV", "development")
    missing = [name for name in SECRET_NAMES if not env.get(name)]
    if missing:
        hint = "set them in the environment" if environment == "production" else "run `make run` or `backtalk init-env`"
        raise ConfigError(f"missing secrets {', '.join(missing)}: {hint}")
    data_dir = Path(env.get("BACKTALK_DATA_DIR", PROJECT_ROOT / "var"))
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'backtalk.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    return Settings(
        environment=environment,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        rasa_url=env.get("RASA_URL", f"http://127.0.0.1:{env.get('RASA_PORT', '5005')}"),
        rasa_auth_token=env["RASA_AUTH_TOKEN"],
        action_server_url=env.get(
            "ACTION_SERVER_URL", f"http://127.0.0.1:{env.get('ACTION_PORT', '5055')}/webhook"
        ),
        action_server_token=env["ACTION_SERVER_TOKEN"],
        pseudonym_key=env["BACKTALK_PSEUDONYM_KEY"].encode("utf-8"),
        encryption_key=env["BACKTALK_ENCRYPTION_KEY"].encode("utf-8"),
        public_url=(env.get("BACKTALK_PUBLIC_URL") or f"http://127.0.0.1:{env.get('WEB_PORT', '8000')}").rstrip("/"),
        file_link_days=int(env.get("BACKTALK_FILE_LINK_DAYS", "7")),
    )
