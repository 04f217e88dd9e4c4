"""Encryption for the few free-text values BackTalk keeps (the words a patient typed as an answer,
shown to their clinician as typed). Free text may hold anything, so it is never stored in the clear.

Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from BACKTALK_ENCRYPTION_KEY with its own
HKDF label, so it shares no key with the Telegram chat-id mapping.
"""
from __future__ import annotations

from cryptography.fernet import InvalidToken

from bot.privacy.keys import fernet_for

__all__ = ["TextCipher", "InvalidToken"]


class TextCipher:
    def __init__(self, secret: bytes) -> None:
        self._fernet = fernet_for(secret, b"patient free text")

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text; raises ``InvalidToken`` under another key or for a tampered value."""
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
