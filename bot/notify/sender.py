"""What the worker needs from a channel: a ``send`` that either delivers or raises DeliveryError.

Senders are synchronous on purpose: the worker is a plain loop over database rows, one send at a
time, and a sender that needs an event loop (Telegram) keeps its own private one.
"""
from __future__ import annotations

from typing import Iterable, Optional, Protocol

from bot.notify.messages import Notice


class DeliveryError(Exception):
    """A notification did not go out. ``permanent`` when trying again cannot help (the recipient
    refused, the bot is not in the group); ``retry_after`` when the server said how long to wait.
    The message must be safe to store and log: no password, no token."""

    def __init__(self, message: str, permanent: bool = False, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    channel: str

    def send(self, notice: Notice, destination: str) -> None:
        """Deliver ``notice`` to ``destination`` (an address, a chat id) or raise DeliveryError."""

    def secrets(self) -> Iterable[str]:
        """Values that must never reach a log line or ``last_error``."""

    def close(self) -> None:
        """Release connections; the sender is not used again."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced (a library's error may quote a token or a password)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return text
