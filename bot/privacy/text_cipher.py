"""Encryption for the few free-text values BackTalk keeps (the words a patient typed as an answer,
shown to their clinician as typed). Free text may hold anything, so it is never stored in the clear.

Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from BACKTALK_ENCRYPTION_KEY with its own
HKDF label, so it shares no key with the Telegram chat-id mapping.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["TextCipher", "InvalidToken"]


class TextCipher:
    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("BACKTALK_ENCRYPTION_KEY is empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"backtalk", info=b"patient free text").derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text; raises ``InvalidToken`` under another key or for a tampered value."""
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
