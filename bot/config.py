"""Every BackTalk setting, in one typed object read from the environment and the project's ``.env``.

``Settings`` is pydantic's ``BaseSettings``: each field names its environment variable, its type and
its default, and this module is the only one that reads ``os.environ`` for a BackTalk setting
(tests/test_config.py checks that). The real environment wins over ``.env``; a variable set to the
empty string counts as unset (compose files and shells often write ``NAME=``).

Development generates its secrets on first run (``backtalk init-env``); production
(``BACKTALK_ENV=production``) refuses to start without them, so no deployment runs on a default secret.
A malformed value (``WEB_PORT=abc``) is a ``ConfigError`` naming the variable; each service's
``main`` prints it and exits with status 2 instead of a traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseSettings, Field, ValidationError, confloat, conint, validator

from bot.paths import PROJECT_ROOT

SECRET_NAMES = ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN", "BACKTALK_PSEUDONYM_KEY", "BACKTALK_ENCRYPTION_KEY")
ENV_FILE = PROJECT_ROOT / ".env"

# The ports each service listens on unless the environment says otherwise: defined here only.
DEFAULT_RASA_PORT = 5005
DEFAULT_ACTION_PORT = 5055
DEFAULT_WEB_PORT = 8000
DEFAULT_TELEGRAM_WEBHOOK_PORT = 8443


def local_url(port: int) -> str:
    """A service on this machine: what the URL settings default to, from the port settings."""
    return f"http://127.0.0.1:{port}"


DEFAULT_PUBLIC_URL = local_url(DEFAULT_WEB_PORT)  # with WEB_PORT set: that port

Port = conint(ge=1, le=65535)


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def _without_empty(source: Callable[[Any], Dict[str, Any]]) -> Callable[[Any], Dict[str, Any]]:
    def read(settings: Any) -> Dict[str, Any]:
        return {name: value for name, value in source(settings).items() if value != ""}

    return read


class Settings(BaseSettings):
    """The settings; README "Configuration" documents each variable. Constructed directly (tests),
    unset fields still come from the environment; ``settings()`` also reads ``.env`` and checks secrets.
    Field order matters: derived URLs are computed from the fields above them."""

    environment: str = Field("development", env="BACKTALK_ENV")  # development | production | test
    data_dir: Path = Field(PROJECT_ROOT / "var", env="BACKTALK_DATA_DIR")
    database_url: str = Field("", env="DATABASE_URL")  # default: SQLite in data_dir
    redis_url: Optional[str] = Field(None, env="REDIS_URL")
    log_level: str = Field("INFO", env="LOG_LEVEL")

    # -- secrets: empty when unset; settings() refuses to return without them ------------------------
    rasa_auth_token: str = Field("", env="RASA_AUTH_TOKEN", repr=False)
    action_server_token: str = Field("", env="ACTION_SERVER_TOKEN", repr=False)
    pseudonym_key: bytes = Field(b"", env="BACKTALK_PSEUDONYM_KEY", repr=False)
    # encrypts what must be reversible (the Telegram chat id, to send follow-ups); see bot/telegram/chats.py
    encryption_key: bytes = Field(b"", env="BACKTALK_ENCRYPTION_KEY", repr=False)

    # -- the services and how they reach each other --------------------------------------------------
    rasa_host: str = Field("127.0.0.1", env="RASA_HOST")
    rasa_port: Port = Field(DEFAULT_RASA_PORT, env="RASA_PORT")  # type: ignore[valid-type]
    # several URLs, comma-separated, when several Rasa processes run (bot/routing.py)
    rasa_url: str = Field("", env="RASA_URL")
    action_host: str = Field("127.0.0.1", env="ACTION_HOST")
    action_port: Port = Field(DEFAULT_ACTION_PORT, env="ACTION_PORT")  # type: ignore[valid-type]
    action_server_url: str = Field("", env="ACTION_SERVER_URL")
    web_host: str = Field("127.0.0.1", env="WEB_HOST")
    web_port: Port = Field(DEFAULT_WEB_PORT, env="WEB_PORT")  # type: ignore[valid-type]
    # where patients' devices reach bot.web: links to care-plan PDFs and outlook graphs start with it
    public_url: str = Field("", env="BACKTALK_PUBLIC_URL")

    # -- bot.web --------------------------------------------------------------------------------------
    widget_allowed_origins: str = Field("", env="WIDGET_ALLOWED_ORIGINS")  # comma-separated; "*" any
    web_rate_limit_messages: conint(ge=1) = Field(10, env="WEB_RATE_LIMIT_MESSAGES")  # type: ignore[valid-type]
    web_rate_limit_seconds: confloat(gt=0) = Field(10.0, env="WEB_RATE_LIMIT_SECONDS")  # type: ignore[valid-type]
    timezone: str = Field("UTC", env="BACKTALK_TIMEZONE")  # the clinic workspace's dates
    # per client address (bot/web/limits.py): messages in a window, new conversations an hour; 0 = off
    web_address_rate_limit_messages: conint(ge=0) = Field(120, env="WEB_ADDRESS_RATE_LIMIT_MESSAGES")  # type: ignore[valid-type]
    web_address_rate_limit_seconds: confloat(gt=0) = Field(60.0, env="WEB_ADDRESS_RATE_LIMIT_SECONDS")  # type: ignore[valid-type]
    web_new_conversations_per_hour: conint(ge=0) = Field(60, env="WEB_NEW_CONVERSATIONS_PER_HOUR")  # type: ignore[valid-type]
    # the header a trusted reverse proxy sets to the client's address; unset: the TCP peer counts
    web_trusted_proxy_header: Optional[str] = Field(None, env="WEB_TRUSTED_PROXY_HEADER")
    # how long a link to a patient's file (/files/...) lasts; bot/web/files.py
    file_link_days: conint(ge=1) = Field(7, env="BACKTALK_FILE_LINK_DAYS")  # type: ignore[valid-type]

    # -- data: retention and the outcome model -------------------------------------------------------
    retention_unfinished_days: conint(ge=0) = Field(30, env="BACKTALK_RETENTION_UNFINISHED_DAYS")  # type: ignore[valid-type]
    retention_days: Optional[conint(ge=0)] = Field(None, env="BACKTALK_RETENTION_DAYS")  # type: ignore[valid-type]
    # a model directory; unset: models/prediction/cohort if trained, else .../synthetic
    prediction_model: Optional[Path] = Field(None, env="BACKTALK_PREDICTION_MODEL")

    # -- notifications (bot/notify) -------------------------------------------------------------------
    notify_poll_seconds: confloat(gt=0) = Field(5.0, env="NOTIFY_POLL_SECONDS")  # type: ignore[valid-type]
    notify_language: str = Field("en", env="NOTIFY_LANGUAGE")
    smtp_host: Optional[str] = Field(None, env="SMTP_HOST")
    smtp_port: Optional[Port] = Field(None, env="SMTP_PORT")  # type: ignore[valid-type]  # 587 with STARTTLS, else 25
    smtp_starttls: bool = Field(True, env="SMTP_STARTTLS")
    smtp_username: Optional[str] = Field(None, env="SMTP_USERNAME")
    smtp_password: Optional[str] = Field(None, env="SMTP_PASSWORD", repr=False)
    smtp_from: Optional[str] = Field(None, env="SMTP_FROM")

    # -- Telegram (bot/telegram/config.py checks how these fit together) ------------------------------
    telegram_bot_token: Optional[str] = Field(None, env="TELEGRAM_BOT_TOKEN", repr=False)
    telegram_api_base_url: Optional[str] = Field(None, env="TELEGRAM_API_BASE_URL")
    telegram_webhook_url: Optional[str] = Field(None, env="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: Optional[str] = Field(None, env="TELEGRAM_WEBHOOK_SECRET", repr=False)
    telegram_webhook_listen: str = Field("127.0.0.1", env="TELEGRAM_WEBHOOK_LISTEN")
    telegram_webhook_port: Port = Field(DEFAULT_TELEGRAM_WEBHOOK_PORT, env="TELEGRAM_WEBHOOK_PORT")  # type: ignore[valid-type]
    telegram_webhook_path: Optional[str] = Field(None, env="TELEGRAM_WEBHOOK_PATH")

    class Config:
        frozen = True
        env_file = None  # settings() names the project's .env; direct construction reads none
        env_file_encoding = "utf-8"

        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):  # type: ignore[no-untyped-def]
            return init_settings, _without_empty(env_settings)

    @validator("database_url", always=True)
    def _database_url(cls, value: str, values: Dict[str, Any]) -> str:  # noqa: N805 - pydantic validator
        if not value:
            value = f"sqlite:///{values.get('data_dir', PROJECT_ROOT / 'var') / 'backtalk.db'}"
        if value.startswith("postgres://"):  # Heroku-style; SQLAlchemy 1.4 only knows postgresql://
            value = "postgresql://" + value[len("postgres://"):]
        return value

    @validator("rasa_url", always=True)
    def _rasa_url(cls, value: str, values: Dict[str, Any]) -> str:  # noqa: N805
        return value or local_url(values.get("rasa_port", DEFAULT_RASA_PORT))

    @validator("action_server_url", always=True)
    def _action_server_url(cls, value: str, values: Dict[str, Any]) -> str:  # noqa: N805
        return value or f"{local_url(values.get('action_port', DEFAULT_ACTION_PORT))}/webhook"

    @validator("public_url", always=True)
    def _public_url(cls, value: str, values: Dict[str, Any]) -> str:  # noqa: N805
        return (value or local_url(values.get("web_port", DEFAULT_WEB_PORT))).rstrip("/")

    @validator("timezone")
    def _timezone(cls, value: str) -> str:  # noqa: N805
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone such as Europe/Oslo") from None
        return value

    @property
    def production(self) -> bool:
        return self.environment == "production"


class _MappingOnly(Settings):
    """Settings from a given mapping of variables alone (see ``settings_from``)."""

    class Config:
        @classmethod
        def customise_sources(cls, init_settings, env_settings, file_secret_settings):  # type: ignore[no-untyped-def]
            return (init_settings,)


def variable(field: str) -> str:
    """The environment variable behind a field of ``Settings``."""
    return str(Settings.__fields__[field].field_info.extra["env"])


def _explain(error: ValidationError) -> ConfigError:
    """One line per bad variable, named as the operator wrote it; values are not echoed (they may be secret)."""
    problems: List[str] = []
    for item in error.errors():
        field = str(item["loc"][0])
        name = variable(field) if field in Settings.__fields__ else field
        problems.append(f"{name}: {item['msg']}")
    return ConfigError("invalid settings: " + "; ".join(problems))


def _checked(build: Callable[[], Settings], require_secrets: bool) -> Settings:
    try:
        config = build()
    except ValidationError as error:
        raise _explain(error) from None
    if require_secrets:
        missing = [name for name in SECRET_NAMES if not getattr(config, _field_of(name))]
        if missing:
            hint = ("set them in the environment" if config.production
                    else "run `make run` or `backtalk init-env`")
            raise ConfigError(f"missing secrets {', '.join(missing)}: {hint}")
    return config


def _field_of(name: str) -> str:
    return next(f for f in Settings.__fields__ if variable(f) == name)


def settings(require_secrets: bool = True, env_file: Optional[Path] = None) -> Settings:
    """Current settings: the environment, then ``.env`` (``env_file``, default the project's) for
    what the environment does not set. Read on each call, so tests and tools can point at other
    databases. ``require_secrets=False`` only for what uses no secret (which outcome model to load)."""
    return _checked(lambda: Settings(_env_file=env_file or ENV_FILE), require_secrets)


def settings_from(env: Mapping[str, str], require_secrets: bool = False) -> Settings:
    """Settings from ``env`` alone (variable name -> text), neither ``os.environ`` nor ``.env``: for
    checking a configuration that is not this process's, and for tests."""
    by_variable = {variable(f).upper(): f for f in Settings.__fields__}
    values = {by_variable[k.upper()]: v for k, v in env.items() if k.upper() in by_variable and v != ""}
    return _checked(lambda: _MappingOnly(**values), require_secrets)


def settings_or_exit(program: str) -> Settings:
    """``settings()`` for a service's ``main``: a configuration problem is one clear line and status 2."""
    try:
        return settings()
    except ConfigError as error:
        print(f"{program}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def env_file_values(path: Path = ENV_FILE) -> Dict[str, Optional[str]]:
    """What a ``.env`` file says (python-dotenv's parser, the one ``settings()`` uses)."""
    from dotenv import dotenv_values

    return dict(dotenv_values(path)) if path.exists() else {}
