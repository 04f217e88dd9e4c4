"""The Telegram channel's settings: the bot token, and webhook mode when TELEGRAM_WEBHOOK_URL is set
(long polling otherwise: it works behind any firewall). bot/config.py reads and types each variable;
this checks how they fit together."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlparse

from bot.config import DEFAULT_TELEGRAM_WEBHOOK_PORT, ConfigError, Settings, settings as load_settings

# Telegram accepts 1-256 characters A-Z a-z 0-9 _ - as a webhook secret token.
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    webhook_url: Optional[str] = None
    webhook_secret: Optional[str] = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = DEFAULT_TELEGRAM_WEBHOOK_PORT
    webhook_path: str = "/telegram"
    base_url: Optional[str] = None  # another Bot API server (tests, a self-hosted telegram-bot-api)

    @property
    def mode(self) -> str:
        """"webhook" when TELEGRAM_WEBHOOK_URL is set, else "polling"."""
        return "webhook" if self.webhook_url else "polling"


def telegram_settings(config: Optional[Settings] = None) -> TelegramSettings:
    """Check the settings (``config``, else the current ones); a webhook without a valid secret
    token is refused."""
    config = load_settings() if config is None else config
    token = (config.telegram_bot_token or "").strip()
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env")
    base_url = (config.telegram_api_base_url or "").strip() or None
    url = (config.telegram_webhook_url or "").strip() or None
    if url is None:
        return TelegramSettings(token=token, base_url=base_url)
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ConfigError("TELEGRAM_WEBHOOK_URL must be an https:// address Telegram can reach")
    secret = (config.telegram_webhook_secret or "").strip()
    if not SECRET_TOKEN.fullmatch(secret):
        raise ConfigError(
            "webhook mode needs TELEGRAM_WEBHOOK_SECRET (1-256 characters A-Z a-z 0-9 _ -), "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    # where this process listens: the URL's path unless a reverse proxy rewrites it
    path = (config.telegram_webhook_path or parsed.path or "/").strip()
    if not path.startswith("/"):
        path = "/" + path
    return TelegramSettings(
        token=token,
        webhook_url=url,
        webhook_secret=secret,
        webhook_listen=config.telegram_webhook_listen.strip(),
        webhook_port=config.telegram_webhook_port,
        webhook_path=path,
        base_url=base_url,
    )
