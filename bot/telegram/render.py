"""Rasa's replies as Telegram messages, without sending anything.

A reply is a list of dicts with ``text``, ``buttons`` (``title``, ``payload``), ``image`` (URL),
``attachment`` (URL) and ``custom`` (``{"document": URL}`` for the care plan). Buttons become an
inline keyboard whose callback_data is the payload itself (Rasa payloads fit Telegram's 64 bytes; a
test in test_project_data checks). Texts longer than Telegram's 4,096 characters are split at
paragraph, line or word boundaries; the keyboard goes under the last part. Nothing is sent with a
parse_mode, so whatever anyone typed is shown as typed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

logger = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram counts UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
MAX_CAPTION = 1024


@dataclass(frozen=True)
class TextOut:
    text: str
    keyboard: Optional[InlineKeyboardMarkup] = None


@dataclass(frozen=True)
class PhotoOut:
    url: str
    caption: Optional[str] = None


@dataclass(frozen=True)
class DocumentOut:
    url: str
    caption: Optional[str] = None


Outgoing = Union[TextOut, PhotoOut, DocumentOut]


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Parts of at most ``limit`` UTF-16 units, cut after a blank line, a line or a space if possible."""
    parts: List[str] = []
    rest = text
    while telegram_length(rest) > limit:
        fits = _cut(rest, limit)
        window = rest[:fits]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            position = window.rfind(separator)
            if position > 0:
                cut = position + len(separator)
                break
        if cut <= 0:
            cut = fits
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip("\n ")
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def _row_width(titles: Sequence[str]) -> int:
    longest = max((len(t) for t in titles), default=0)
    if longest <= 3:  # numbers 0-10
        return 6
    if longest <= 8:
        return 3
    if longest <= 14:  # yes/no, language names
        return 2
    return 1


def callback_data(button: Dict[str, Any]) -> Optional[str]:
    """The payload itself; a payload too long for Telegram falls back to the title (which Rasa
    understands as typed text), and a button with neither usable is left out."""
    payload = str(button.get("payload") or button.get("title") or "")
    if len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA:
        return payload or None
    title = str(button.get("title") or "")
    logger.error("button payload over %d bytes: %r", MAX_CALLBACK_DATA, payload)
    return title if title and len(title.encode("utf-8")) <= MAX_CALLBACK_DATA else None


def keyboard(buttons: Iterable[Dict[str, Any]]) -> Optional[InlineKeyboardMarkup]:
    usable = [(str(b.get("title") or b.get("payload")), callback_data(b)) for b in buttons]
    usable = [(title, data) for title, data in usable if data]
    if not usable:
        return None
    width = _row_width([title for title, _ in usable])
    rows = [
        [InlineKeyboardButton(title, callback_data=data) for title, data in usable[i:i + width]]
        for i in range(0, len(usable), width)
    ]
    return InlineKeyboardMarkup(rows)


def _caption(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    return text if telegram_length(text) <= MAX_CAPTION else None


def render(replies: Iterable[Dict[str, Any]]) -> List[Outgoing]:
    """The Telegram messages for one Rasa reply, in order."""
    out: List[Outgoing] = []
    for reply in replies:
        text = str(reply.get("text") or "")
        markup = keyboard(reply.get("buttons") or [])
        if text or markup is not None:
            parts = split_text(text) if text else []
            if markup is not None and not parts:
                parts = ["…"]  # a keyboard needs a message to hang on
            for part in parts[:-1]:
                out.append(TextOut(part))
            out.append(TextOut(parts[-1], markup))
        if reply.get("image"):
            out.append(PhotoOut(str(reply["image"])))
        if reply.get("attachment") and isinstance(reply["attachment"], str):
            out.append(DocumentOut(reply["attachment"]))
        custom = reply.get("custom")
        if isinstance(custom, dict):
            if custom.get("document"):
                out.append(DocumentOut(str(custom["document"]), _caption(custom.get("caption"))))
            if custom.get("image"):
                out.append(PhotoOut(str(custom["image"]), _caption(custom.get("caption"))))
    return out


def buttons_in(markup: Optional[InlineKeyboardMarkup]) -> Dict[str, str]:
    """callback_data -> title of a keyboard we sent (to show which one was tapped)."""
    if markup is None:
        return {}
    return {
        str(button.callback_data): button.text
        for row in markup.inline_keyboard
        for button in row
        if button.callback_data is not None
    }
