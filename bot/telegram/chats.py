"""Which pseudonym belongs to which Telegram chat.

Rasa only ever sees the chat's Rasa sender ``channel_sender("telegram", chat_id, key)`` and BackTalk's
tables its one-way pseudonym ``pseudonymise(sender, key)`` (bot/privacy/pseudonym.py).
To send a follow-up later the chat id must be recoverable, so table ``telegram_chats`` keeps it
encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived (HKDF-SHA256) from
BACKTALK_ENCRYPTION_KEY: a copy of the database without that secret does not reveal who talked to the bot.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from cryptography.fernet import InvalidToken
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.privacy.keys import fernet_for
from bot.privacy.pseudonym import channel_sender, pseudonymise
from bot.store.db import session_scope
from bot.store.models import TelegramChat, utcnow

# A deep link t.me/<bot>?start=<payload> carries at most 64 of these characters (Telegram's rule).
CLINIC_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
LANGUAGE_CODE_LENGTH = 16

__all__ = ["ChatCipher", "ChatDirectory", "ChatRecord", "InvalidToken", "telegram_pseudonym", "telegram_sender",
           "valid_clinic_code"]


def telegram_sender(chat_id: int, pseudonym_key: bytes) -> str:
    """The chat's conversation id at Rasa."""
    return channel_sender("telegram", chat_id, pseudonym_key)


def telegram_pseudonym(chat_id: int, pseudonym_key: bytes) -> str:
    """The chat's key in BackTalk's tables (the one the action server stores its triages under)."""
    return pseudonymise(telegram_sender(chat_id, pseudonym_key), pseudonym_key)


def valid_clinic_code(value: Optional[str]) -> Optional[str]:
    return value if value and CLINIC_CODE.fullmatch(value) else None


class ChatCipher:
    """Encrypts chat ids; each encryption differs (random IV), so the ciphertext is no key to look up by."""

    def __init__(self, secret: bytes) -> None:
        self._fernet = fernet_for(secret, b"telegram chat id")

    def encrypt(self, chat_id: int) -> str:
        return self._fernet.encrypt(str(int(chat_id)).encode("ascii")).decode("ascii")

    def decrypt(self, token: str) -> int:
        """The chat id; raises ``InvalidToken`` under another key or for a tampered value."""
        return int(self._fernet.decrypt(token.encode("ascii")).decode("ascii"))


@dataclass(frozen=True)
class ChatRecord:
    pseudonym: str
    chat_id: int
    clinic_code: Optional[str]
    language_code: Optional[str]


class ChatDirectory:
    """The telegram_chats table. Synchronous (SQLAlchemy); the channel calls it in a thread."""

    def __init__(self, database_url: str, pseudonym_key: bytes, encryption_key: bytes) -> None:
        self.database_url = database_url
        self.pseudonym_key = pseudonym_key
        self.cipher = ChatCipher(encryption_key)

    def pseudonym(self, chat_id: int) -> str:
        return telegram_pseudonym(chat_id, self.pseudonym_key)

    def sender(self, chat_id: int) -> str:
        return telegram_sender(chat_id, self.pseudonym_key)

    def remember(
        self,
        chat_id: int,
        language_hint: Optional[str] = None,
        clinic_code: Optional[str] = None,
        chosen_language: Optional[str] = None,
    ) -> str:
        """Create or update the chat's row and return its pseudonym. The stored language is the one
        chosen by button, else Telegram's hint; a clinic code replaces an earlier one."""
        pseudonym = self.pseudonym(chat_id)
        hint = language_hint[:LANGUAGE_CODE_LENGTH] if language_hint else None
        for _attempt in range(2):  # a concurrent insert of the same row: update it instead
            try:
                with session_scope(self.database_url) as db:
                    row = db.get(TelegramChat, pseudonym)
                    if row is None:
                        db.add(TelegramChat(
                            pseudonym=pseudonym,
                            chat_id_encrypted=self.cipher.encrypt(chat_id),
                            clinic_code=clinic_code,
                            language_code=chosen_language or hint,
                        ))
                    else:
                        if clinic_code is not None:
                            row.clinic_code = clinic_code
                        if chosen_language is not None or row.language_code is None:
                            row.language_code = chosen_language or hint
                        row.updated_at = utcnow()
                return pseudonym
            except IntegrityError:
                continue
        raise RuntimeError("could not store the chat mapping")

    def get(self, pseudonym: str) -> Optional[ChatRecord]:
        with session_scope(self.database_url) as db:
            row = db.get(TelegramChat, pseudonym)
            if row is None:
                return None
            return ChatRecord(pseudonym, self.cipher.decrypt(row.chat_id_encrypted), row.clinic_code, row.language_code)

    def chat_id(self, pseudonym: str) -> Optional[int]:
        """Where to send a follow-up for this pseudonym, if the chat is still known."""
        record = self.get(pseudonym)
        return record.chat_id if record else None

    @staticmethod
    def delete(db, pseudonym: str) -> int:  # type: ignore[no-untyped-def]
        """Delete the row inside the caller's transaction (see bot.telegram.forget)."""
        return db.execute(delete(TelegramChat).where(TelegramChat.pseudonym == pseudonym)).rowcount or 0
