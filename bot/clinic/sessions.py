"""Server-side sign-in sessions and CSRF tokens.

The browser holds a random 256-bit token in an HttpOnly, SameSite=Strict cookie (Secure whenever the
workspace is served over https); the database holds only its SHA-256, the user and a per-session CSRF
token that every form must echo. Sessions end after 30 idle minutes or 12 hours, on sign-out, and
when the account is disabled or its password changes.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.models import User, WebSession, as_utc, utcnow

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# last_seen_at is written at most once a minute, not on every page view.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SignedIn:
    user: User
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(db: Session, user: User, now: Optional[datetime] = None) -> Tuple[str, str]:
    """A new session for ``user``: (cookie token, CSRF token)."""
    now = now or utcnow()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=_digest(token), user_id=user.id, csrf_token=csrf, created_at=now,
                      last_seen_at=now, expires_at=now + ABSOLUTE_TIMEOUT))
    # Sign-in is a good moment to sweep this user's expired sessions.
    db.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at < now))
    return token, csrf


def current(db: Session, token: Optional[str], now: Optional[datetime] = None) -> Optional[SignedIn]:
    """The signed-in user of a cookie token, or None (and the session is gone) when it has expired
    or the account was disabled or given a new password since."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = db.get(WebSession, _digest(token))
    if row is None:
        return None
    user = db.get(User, row.user_id)
    created, last_seen, expires = as_utc(row.created_at), as_utc(row.last_seen_at), as_utc(row.expires_at)
    changed = as_utc(user.password_changed_at) if user is not None else None
    # A session row missing a time is treated as expired (an explicit check: asserts vanish under `python -O`).
    if (created is None or last_seen is None or expires is None
            or user is None or user.disabled or expires <= now or last_seen + IDLE_TIMEOUT <= now
            or (changed is not None and changed > created)):
        db.delete(row)
        return None
    if now - last_seen >= TOUCH_EVERY:
        row.last_seen_at = now
    return SignedIn(user, row.csrf_token)


def close_session(db: Session, token: Optional[str]) -> None:
    if token:
        db.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def csrf_matches(expected: str, given: Optional[str]) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
