"""The Telegram channel's settings (environment / .env): the bot token, and webhook mode when
TELEGRAM_WEBHOOK_URL is set (long polling otherwise: it works behind any firewall)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlparse

from bot.config import ConfigError

# Telegram accepts 1-256 characters A-Z a-z 0-9 _ - as a webhook secret token.
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
DEFAULT_WEBHOOK_PORT = 8443


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    webhook_url: Optional[str] = None
    webhook_secret: Optional[str] = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    webhook_path: str = "/telegram"
    base_url: Optional[str] = None  # another Bot API server (tests, a self-hosted telegram-bot-api)

    @property
    def mode(self) -> str:
        """"webhook" when TELEGRAM_WEBHOOK_URL is set, else "polling"."""
        return "webhook" if self.webhook_url else "polling"


def telegram_settings(env: Optional[Mapping[str, str]] = None) -> TelegramSettings:
    """Read and check the settings; a webhook without a valid secret token is refused."""
    env = os.environ if env is None else env
    token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip()
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env")
    base_url = (env.get("TELEGRAM_API_BASE_URL") or "").strip() or None
    url = (env.get("TELEGRAM_WEBHOOK_URL") or "").strip() or None
    if url is None:
        return TelegramSettings(token=token, base_url=base_url)
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ConfigError("TELEGRAM_WEBHOOK_URL must be an https:// address Telegram can reach")
    secret = (env.get("TELEGRAM_WEBHOOK_SECRET") or "").strip()
    if not SECRET_TOKEN.fullmatch(secret):
        raise ConfigError(
            "webhook mode needs TELEGRAM_WEBHOOK_SECRET (1-256 characters A-Z a-z 0-9 _ -), "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    try:
        port = int(env.get("TELEGRAM_WEBHOOK_PORT") or DEFAULT_WEBHOOK_PORT)
    except ValueError as error:
        raise ConfigError("TELEGRAM_WEBHOOK_PORT must be a number") from error
    # where this process listens: the URL's path unless a reverse proxy rewrites it
    path = (env.get("TELEGRAM_WEBHOOK_PATH") or parsed.path or "/").strip()
    if not path.startswith("/"):
        path = "/" + path
    return TelegramSettings(
        token=token,
        webhook_url=url,
        webhook_secret=secret,
        webhook_listen=(env.get("TELEGRAM_WEBHOOK_LISTEN") or "127.0.0.1").strip(),
        webhook_port=port,
        webhook_path=path,
        base_url=base_url,
    )
