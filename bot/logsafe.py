"""Secrets never reach a log line, whichever library writes it.

Libraries log what they hold: python-telegram-bot logs the Bot API URL (``…/bot<token>``) at DEBUG,
httpx every request URL at INFO, a database driver may quote its URL. Rather than silence loggers one
by one, ``protect_logs`` wraps the logging record factory of the process: every record, from any
logger, has the known secrets replaced by ``[REDACTED]`` as it is created, before any handler (or
pytest's capture) sees it, traceback text included. Each process calls it once at start with the
secrets of its environment; a component that learns a secret later (the Telegram token given to
``build_application``) adds it.
"""
from __future__ import annotations

import logging
import os
import traceback
from typing import Any, Iterable, List, Mapping, Optional
from urllib.parse import quote, unquote, urlsplit

MASK = "[REDACTED]"
# Secrets by environment variable name, and URLs whose password is a secret.
SECRET_VARIABLES = ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN", "BACKTALK_PSEUDONYM_KEY", "BACKTALK_ENCRYPTION_KEY",
                    "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "SMTP_PASSWORD")
URL_VARIABLES = ("DATABASE_URL", "REDIS_URL")
MIN_LENGTH = 6  # shorter values would mask ordinary words

_secrets: List[str] = []
_installed = False


def url_password(url: Optional[str]) -> Optional[str]:
    """The password in a URL such as postgresql://user:password@host/db, if any."""
    try:
        return urlsplit(url).password if url else None
    except ValueError:
        return None


def secrets_in(env: Mapping[str, str]) -> List[str]:
    found = [env.get(name, "") for name in SECRET_VARIABLES]
    found += [url_password(env.get(name)) or "" for name in URL_VARIABLES]
    return found


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, MASK)
    return text


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, as it would anyway
        return
    if any(secret in message for secret in _secrets):
        record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        if any(secret in text for secret in _secrets):
            record.exc_text = redact(text)
            record.exc_info = None


def protect_logs(extra: Iterable[Any] = (), env: Optional[Mapping[str, str]] = None) -> None:
    """Redact the secrets of ``env`` (the process's environment) and ``extra`` from every log record."""
    global _installed
    values = [*secrets_in(os.environ if env is None else env), *extra]
    for value in values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
        for variant in (text, quote(text, safe=""), unquote(text)):
            if len(variant) >= MIN_LENGTH and variant not in _secrets:
                _secrets.append(variant)
    _secrets.sort(key=len, reverse=True)  # a secret containing another is masked whole
    if not _installed:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _secrets:
                _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
