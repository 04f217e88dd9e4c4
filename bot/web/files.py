"""Links to a patient's files (care-plan PDF and page, outlook graph) that expire.

A link is ``/files/<token>?expires=<unix time>&sig=<signature>``: the token (256 random bits) names the
document, the signature (HMAC-SHA256 under a key derived from BACKTALK_PSEUDONYM_KEY) vouches for the
expiry, so nothing extra is stored and a link cannot be lengthened by editing it. After the expiry
bot.web answers 410 Gone with the reason; links from before signed links existed count as expired.

A fresh link needs what only the patient holds: the widget asks ``POST /api/documents`` with its
conversation id when it resumes a conversation and replaces the links in its transcript; Telegram
keeps the files themselves (they are uploaded to the chat). Clinicians reach documents through the
workspace's own signed-in route (/clinic/triages/<id>/care-plan.pdf), which needs no link.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlencode

DEFAULT_DAYS = 7
SIGNATURE_CHARS = 32


@dataclass(frozen=True)
class FileLinks:
    """Signs and checks file links; ``days`` is how long a new link lasts."""

    pseudonym_key: bytes
    public_url: str
    days: int = DEFAULT_DAYS

    @property
    def _key(self) -> bytes:
        # its own key, so a file signature can never stand in for a pseudonym or the other way round
        return hmac.new(self.pseudonym_key, b"backtalk file links v1", hashlib.sha256).digest()

    def signature(self, token: str, expires: int) -> str:
        message = f"{token}:{expires}".encode("ascii")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]

    def url(self, token: str, now: Optional[float] = None) -> str:
        """A link to the file ``token`` that lasts ``days`` from ``now``."""
        expires = int((now if now is not None else time.time()) + self.days * 86400)
        query = urlencode({"expires": expires, "sig": self.signature(token, expires)})
        return f"{self.public_url.rstrip('/')}/files/{token}?{query}"

    def check(self, token: str, expires: Optional[str], sig: Optional[str], now: Optional[float] = None) -> str:
        """``valid``, ``expired`` (or unsigned, from before links expired) or ``invalid`` (tampered)."""
        if not expires and not sig:
            return "expired"
        if not expires or not sig or not expires.isdigit() or len(expires) > 12:
            return "invalid"
        # bytes: compare_digest refuses str with non-ASCII characters (a fuzzed ?sig= gave a 500)
        if not hmac.compare_digest(self.signature(token, int(expires)).encode(), sig.encode("utf-8")):
            return "invalid"
        return "valid" if int(expires) > (now if now is not None else time.time()) else "expired"
