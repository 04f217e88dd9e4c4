"""One Fernet key per purpose, derived from BACKTALK_ENCRYPTION_KEY with HKDF, so the Telegram chat
map and the patient's typed words never share a key (and one can be rotated without the other)."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def fernet_for(secret: bytes, purpose: bytes) -> Fernet:
    if not secret:
        raise ValueError("BACKTALK_ENCRYPTION_KEY is empty")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"backtalk", info=purpose).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))
