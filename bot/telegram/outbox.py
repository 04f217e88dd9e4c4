"""Sending to Telegram: every call retried (bot.telegram.retry), messages of one reply sent in order,
media fetched and uploaded when Telegram could not fetch the URL itself, and keyboards that are no
longer current removed so an old button cannot answer a later question.

Which keyboards are current: those sent with the latest reply of the chat. Any input from the user
(typed, a command, a tap) first removes them ("retires" them); a tap on a keyboard that is not current
is refused. After a restart nothing is known about a chat, and a tap is accepted (the only keyboards
left on screen are then the current ones, since every earlier one was retired)."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import OrderedDict
from contextlib import asynccontextmanager
from pathlib import PurePosixPath
from typing import AsyncIterator, Iterable, List, Optional
from urllib.parse import urlparse

import aiohttp
from telegram import Bot, InputFile, Message
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.telegram.render import MAX_TEXT, DocumentOut, Outgoing, PhotoOut, TextOut, split_text, telegram_length
from bot.telegram.retry import with_retries

logger = logging.getLogger(__name__)

MAX_CHATS_TRACKED = 10_000
TYPING_REFRESH = 4.5  # Telegram shows "typing…" for 5 s per chat action
MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=30)
MAX_UPLOAD = {"photo": 10 * 1024 * 1024, "document": 50 * 1024 * 1024}  # Bot API upload limits


class LiveKeyboards:
    """chat id -> message ids whose keyboard is current; bounded (least recently used chat goes)."""

    def __init__(self, limit: int = MAX_CHATS_TRACKED) -> None:
        self.limit = limit
        self._chats: "OrderedDict[int, List[int]]" = OrderedDict()

    def take(self, chat_id: int) -> List[int]:
        """The current keyboards, which stop being current (the chat is now known to have none)."""
        taken = self._chats.pop(chat_id, [])
        self._remember(chat_id, [])
        return taken

    def add(self, chat_id: int, message_ids: Iterable[int]) -> None:
        self._remember(chat_id, self._chats.pop(chat_id, []) + list(message_ids))

    def is_stale(self, chat_id: int, message_id: int) -> bool:
        return chat_id in self._chats and message_id not in self._chats[chat_id]

    def forget(self, chat_id: int) -> None:
        self._chats.pop(chat_id, None)

    def _remember(self, chat_id: int, message_ids: List[int]) -> None:
        self._chats[chat_id] = message_ids
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self.limit:
            self._chats.popitem(last=False)


def needs_upload(url: str) -> bool:
    """Telegram's servers fetch public URLs themselves; a local one (bot.web on this machine or the
    private network) we fetch and upload."""
    host = (urlparse(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith(".localhost") or "." not in host and ":" not in host:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith((".local", ".internal", ".lan"))
    return address.is_private or address.is_loopback or address.is_link_local


class Outbox:
    def __init__(self, bot: Bot, http: Optional[aiohttp.ClientSession] = None) -> None:
        self.bot = bot
        self.http = http
        self.live = LiveKeyboards()

    async def deliver(self, chat_id: int, items: Iterable[Outgoing]) -> List[Message]:
        """Send one reply, in order; its keyboards become the chat's current ones."""
        sent: List[Message] = []
        for item in items:
            message = await self._send(chat_id, item)
            sent.append(message)
            if isinstance(item, TextOut) and item.keyboard is not None:
                self.live.add(chat_id, [message.message_id])
        return sent

    async def text(self, chat_id: int, text: str, keyboard=None) -> List[Message]:  # type: ignore[no-untyped-def]
        parts = split_text(text)
        return await self.deliver(chat_id, [TextOut(p) for p in parts[:-1]] + [TextOut(parts[-1], keyboard)])

    async def _send(self, chat_id: int, item: Outgoing) -> Message:
        if isinstance(item, TextOut):
            # no parse_mode: text is shown exactly as written, never read as Markdown or HTML
            return await with_retries(
                lambda: self.bot.send_message(chat_id=chat_id, text=item.text, reply_markup=item.keyboard),
                "sendMessage",
            )
        if isinstance(item, PhotoOut):
            photo = await self._media(item.url, "photo")
            return await with_retries(
                lambda: self.bot.send_photo(chat_id=chat_id, photo=photo, caption=item.caption), "sendPhoto"
            )
        if isinstance(item, DocumentOut):
            document = await self._media(item.url, "document")
            return await with_retries(
                lambda: self.bot.send_document(chat_id=chat_id, document=document, caption=item.caption),
                "sendDocument",
            )
        raise TypeError(f"cannot send {item!r}")

    async def _media(self, url: str, kind: str):  # type: ignore[no-untyped-def]
        if not needs_upload(url):
            return url
        if self.http is None:
            self.http = aiohttp.ClientSession()
        limit = MAX_UPLOAD[kind]
        async with self.http.get(url, timeout=MEDIA_TIMEOUT) as response:
            response.raise_for_status()
            content = await response.content.read(limit + 1)
            # bot.web names its files (care-plan-BT-….pdf); a link's last segment is only a token.
            disposition = response.content_disposition
            served_name = disposition.filename if disposition is not None else None
        if len(content) > limit:
            raise ValueError(f"{kind} at {url} is larger than Telegram accepts")
        name = served_name or PurePosixPath(urlparse(url).path).name or kind
        return InputFile(content, filename=name)

    async def retire(self, chat_id: int, keep: Optional[int] = None) -> None:
        """Remove the chat's current keyboards (except ``keep``, which the caller edits itself)."""
        for message_id in self.live.take(chat_id):
            if message_id != keep:
                await self.remove_keyboard(chat_id, message_id)

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        try:
            await with_retries(
                lambda: self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None),
                "editMessageReplyMarkup",
                attempts=3,
            )
        except TelegramError as error:  # e.g. already removed, or the message is too old to edit
            logger.info("could not remove a keyboard: %s", error)

    async def mark_chosen(self, chat_id: int, message: Optional[Message], message_id: int, title: Optional[str]) -> None:
        """Show which button was tapped ("✓ title") and remove the keyboard in one edit."""
        original = message.text if message is not None and getattr(message, "text", None) else None
        if original is None or title is None:
            await self.remove_keyboard(chat_id, message_id)
            return
        text = f"{original}\n\n✓ {title}"
        if telegram_length(text) > MAX_TEXT:
            await self.remove_keyboard(chat_id, message_id)
            return
        try:
            await with_retries(
                lambda: self.bot.edit_message_text(chat_id=chat_id, message_id=message_id, text=text, reply_markup=None),
                "editMessageText",
                attempts=3,
            )
        except TelegramError as error:
            logger.info("could not mark the chosen button: %s", error)
            await self.remove_keyboard(chat_id, message_id)

    @asynccontextmanager
    async def typing(self, chat_id: int) -> AsyncIterator[None]:
        """"typing…" in the chat while the block runs (best effort: never retried, errors ignored)."""
        done = asyncio.Event()

        async def keep_typing() -> None:
            while not done.is_set():
                try:
                    await self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
                except TelegramError as error:
                    logger.debug("chat action failed: %s", error)
                try:
                    await asyncio.wait_for(done.wait(), TYPING_REFRESH)
                except asyncio.TimeoutError:
                    pass

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            done.set()
            try:  # let a chat action in flight finish, so it can't arrive after the reply
                await asyncio.wait_for(asyncio.shield(task), 2)
            except (asyncio.TimeoutError, Exception):
                task.cancel()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None

