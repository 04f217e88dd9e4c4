"""Telegram notifications: one message to the clinic team's group chat through the Bot API, with
python-telegram-bot's ``Bot`` (the same bot token and Bot API server as the patient channel,
TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL; bot.telegram.config reads them).

One attempt per call: the worker's own backoff does the retrying, so a flood-control wait
(RetryAfter) becomes the row's next attempt time instead of a sleep that would hold up other
notifications. The bot must be a member of the group; the group's chat id (e.g. -1001234567890)
is what a clinic stores in ``notify_telegram_chat``.
"""
from __future__ import annotations

import asyncio
import re
from typing import Iterable, Optional, Union

from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.config import Settings
from bot.notify.messages import Notice
from bot.notify.sender import DeliveryError, redact
from bot.telegram.config import telegram_settings
from bot.telegram.retry import retry_after_seconds

CHAT_ID = re.compile(r"-?\d{1,20}")


def chat_of(destination: str) -> Union[int, str]:
    """A numeric chat id as a number; a public ``@channelname`` as it is."""
    destination = destination.strip()
    return int(destination) if CHAT_ID.fullmatch(destination) else destination


class TelegramSender:
    """Not thread-safe: one per worker (it owns a private event loop for PTB's async Bot)."""

    channel = "telegram"

    def __init__(self, token: str, base_url: Optional[str] = None) -> None:
        self.token = token
        self._loop = asyncio.new_event_loop()
        self._bot = Bot(token, base_url=base_url) if base_url else Bot(token)
        self._ready = False

    @classmethod
    def from_settings(cls, config: Settings) -> Optional["TelegramSender"]:
        """None when TELEGRAM_BOT_TOKEN is unset (no Telegram notifications)."""
        if not (config.telegram_bot_token or "").strip():
            return None
        settings = telegram_settings(config)
        return cls(settings.token, settings.base_url)

    def secrets(self) -> Iterable[str]:
        return [self.token]

    def send(self, notice: Notice, destination: str) -> None:
        if not destination.strip():
            raise DeliveryError("the clinic has no Telegram group", permanent=True)
        self.send_text(notice.text, destination)

    def send_text(self, text: str, destination: str) -> None:
        """One plain message to a chat (a clinic's group, or a patient's chat for a follow-up)."""
        try:
            self._loop.run_until_complete(self._send(chat_of(destination), text))
        except RetryAfter as error:
            raise DeliveryError(self._describe(error), retry_after=retry_after_seconds(error)) from None
        except (BadRequest, Forbidden) as error:
            # "chat not found", the bot was removed from the group: trying again cannot help
            raise DeliveryError(self._describe(error), permanent=True) from None
        except (InvalidToken, TelegramError) as error:
            raise DeliveryError(self._describe(error)) from None

    async def _send(self, chat_id: Union[int, str], text: str) -> None:
        if not self._ready:
            await self._bot.initialize()
            self._ready = True
        # no parse_mode: shown as written; no link preview: Telegram's servers do not fetch the page
        await self._bot.send_message(chat_id=chat_id, text=text,
                                     link_preview_options=LinkPreviewOptions(is_disabled=True))

    def _describe(self, error: BaseException) -> str:
        return redact(f"Telegram: {type(error).__name__}: {error}", self.secrets())

    def close(self) -> None:
        try:
            if self._ready:
                self._loop.run_until_complete(self._bot.shutdown())
        finally:
            self._loop.close()
