"""Pseudonyms for channel ids: the raw id (a Telegram chat id, a browser's conversation id) is never
stored; a keyed HMAC of it is. Without the key the pseudonym cannot be linked back to the id, and the
same id always maps to the same pseudonym, so a conversation can be resumed."""
from __future__ import annotations

import hashlib
import hmac

PREFIX = "p_"


def pseudonymise(raw_id: str, key: bytes) -> str:
    """Stable pseudonym for ``raw_id``; idempotent on values that already are pseudonyms."""
    if is_pseudonym(raw_id):
        return raw_id
    digest = hmac.new(key, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:40]


def is_pseudonym(value: str) -> bool:
    return (
        value.startswith(PREFIX)
        and len(value) == len(PREFIX) + 40
        and all(c in "0123456789abcdef" for c in value[len(PREFIX):])
    )
