"""Checking chat requests from browsers and cleaning Rasa's replies before they reach a page."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

MAX_MESSAGE_CHARS = 2000
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CLINIC_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BadRequest(ValueError):
    """The request cannot be served; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ChatRequest:
    conversation_id: str
    message: str
    language: Optional[str]
    clinic: Optional[str] = None  # the page's data-clinic: which clinic receives the triage


def parse_chat_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise BadRequest(400, "the body must be a JSON object")
    conversation_id = body.get("conversation_id")
    message = body.get("message")
    language = body.get("language")
    if not isinstance(conversation_id, str) or not CONVERSATION_ID.match(conversation_id):
        raise BadRequest(400, "conversation_id must be 8-64 letters, digits, '-' or '_'")
    if not isinstance(message, str) or not message.strip():
        raise BadRequest(400, "message must be a non-empty string")
    if len(message) > MAX_MESSAGE_CHARS:
        raise BadRequest(413, f"message is longer than {MAX_MESSAGE_CHARS} characters")
    if language is not None and (not isinstance(language, str) or len(language) > 16):
        raise BadRequest(400, "language must be a short language tag such as 'en' or 'de-CH'")
    clinic = body.get("clinic")
    if clinic is not None and (not isinstance(clinic, str) or not CLINIC_CODE.match(clinic)):
        raise BadRequest(400, "clinic must be 1-64 letters, digits, '-' or '_'")
    return ChatRequest(conversation_id, message.strip(), language, clinic)


def parse_conversation_id(body: Any) -> str:
    """The conversation a privacy request (forget me, research answer) is about."""
    if not isinstance(body, dict):
        raise BadRequest(400, "the body must be a JSON object")
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not CONVERSATION_ID.match(conversation_id):
        raise BadRequest(400, "conversation_id must be 8-64 letters, digits, '-' or '_'")
    return conversation_id


def safe_url(value: Any) -> Optional[str]:
    """An http(s) URL or a path on this server; anything else (javascript:, data:, ...) is dropped."""
    if not isinstance(value, str) or not value or len(value) > 2048 or any(c in value for c in "\x00\r\n\t <>\"'`\\"):
        return None
    if value.startswith("/") and not value.startswith("//"):
        return value
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def clean_reply(messages: Any) -> List[Dict[str, Any]]:
    """Keep only the fields the page renders, as plain strings (the page never renders HTML).

    Rasa's REST channel sends an utterance with text and an image as two messages (text first); they
    are joined again here so the widget can use the text as the image's alternative text.
    """
    cleaned: List[Dict[str, Any]] = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        item: Dict[str, Any] = {}
        if isinstance(message.get("text"), str):
            item["text"] = message["text"]
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in message.get("buttons") or []
            if isinstance(b, dict)
        ]
        if buttons:
            item["buttons"] = buttons
        image = safe_url(message.get("image"))
        if image:
            item["image"] = image
        custom = message.get("custom")
        if isinstance(custom, dict) and safe_url(custom.get("document")):
            document = {"document": safe_url(custom["document"])}
            if isinstance(custom.get("title"), str) and custom["title"].strip():
                document["title"] = custom["title"].strip()[:200]
            item["custom"] = document
        if not item:
            continue
        previous = cleaned[-1] if cleaned else None
        if set(item) == {"image"} and previous and "text" in previous and not ({"image", "custom"} & set(previous)):
            previous["image"] = item["image"]
            continue
        cleaned.append(item)
    return cleaned
