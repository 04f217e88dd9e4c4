"""Which Rasa process serves a conversation, when several run side by side (``backtalk run --workers N``,
compose.yaml's ``rasa-1`` … ``rasa-N``).

Rasa OSS's Redis lock store hands out tickets non-atomically (DESIGN.md §6), so two Rasa processes
must never work on one conversation at once. Every channel therefore sends all of a conversation's
messages to the same process: the sender pseudonym's hash picks one of the URLs. The hash is stable
across processes and restarts (Python's ``hash`` of a str is not), so bot.web, the Telegram channel
and their restarts all agree without sharing any state.
"""
from __future__ import annotations

import hashlib
from typing import List, Sequence


def rasa_urls(setting: str) -> List[str]:
    """The Rasa base URLs in ``RASA_URL``: one, or several separated by commas (order matters: every
    channel must list them in the same order)."""
    urls = [url.strip().rstrip("/") for url in setting.split(",") if url.strip()]
    if not urls:
        raise ValueError("RASA_URL names no Rasa server")
    return urls


def route(sender: str, urls: Sequence[str]) -> str:
    """The URL that serves ``sender``'s conversation: the same one for the same list, every time."""
    digest = hashlib.sha256(sender.encode("utf-8")).digest()
    return urls[int.from_bytes(digest[:8], "big") % len(urls)]
