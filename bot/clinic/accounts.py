"""Clinics and workspace accounts: creating them, and checking a password with lock-out.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended set). There is no
default account and no default password: the first admin comes from ``backtalk users add``.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.store.models import Clinic, User, as_utc, utcnow

ROLES = ("clinician", "researcher", "admin")
MIN_PASSWORD_LENGTH = 12
# Five wrong passwords in a row lock an account for 15 minutes (OWASP ASVS 2.2.1 asks for anti-automation).
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
CLINIC_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the same shape the Telegram deep link accepts
_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about clinics or accounts that cannot be done, with a reason to show."""


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a user, or why not (``invalid``, ``locked``)."""

    user: Optional[User]
    reason: Optional[str] = None


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 5:
        raise AccountError("the password repeats too few different characters")


def generate_password() -> str:
    """A password to hand over once (about 120 bits)."""
    return secrets.token_urlsafe(15)


def add_clinic(db: Session, code: str, name: str, *, default: bool = False, email: Optional[str] = None,
               telegram_chat: Optional[str] = None, every_triage: bool = False) -> Clinic:
    if not CLINIC_CODE.match(code):
        raise AccountError("a clinic code is 1-64 letters, digits, '_' or '-' (it goes into links)")
    if db.execute(select(Clinic.id).where(Clinic.code == code)).first() is not None:
        raise AccountError(f"a clinic with code {code!r} exists already")
    if default:  # one default clinic at most: it receives triages that name no known clinic
        db.execute(update(Clinic).values(is_default=False))
    clinic = Clinic(code=code, name=name.strip() or code, is_default=default, notify_email=email or None,
                    notify_telegram_chat=telegram_chat or None, notify_every_triage=every_triage)
    db.add(clinic)
    db.flush()
    return clinic


def clinic_by_code(db: Session, code: str) -> Optional[Clinic]:
    return db.execute(select(Clinic).where(Clinic.code == code)).scalar_one_or_none()


def clinic_for_patient(db: Session, code: Optional[str]) -> Optional[Clinic]:
    """The clinic a patient's conversation belongs to: the one their link named, else the default."""
    clinic = clinic_by_code(db, code) if code else None
    if clinic is None:
        clinic = db.execute(select(Clinic).where(Clinic.is_default.is_(True))).scalars().first()
    return clinic


def list_clinics(db: Session) -> List[Clinic]:
    return list(db.execute(select(Clinic).order_by(Clinic.code)).scalars())


def add_user(db: Session, username: str, password: str, role: str, clinic_code: Optional[str] = None,
             language: str = "en") -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("a username is 2-64 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if language not in SUPPORTED_LANGUAGES:
        raise AccountError(f"the language must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    clinic = None
    if clinic_code:
        clinic = clinic_by_code(db, clinic_code)
        if clinic is None:
            raise AccountError(f"no clinic with code {clinic_code!r}; add it first with `backtalk clinics add`")
    elif role != "admin":
        raise AccountError("a clinician or researcher belongs to a clinic: give --clinic CODE")
    if db.execute(select(User.id).where(User.username == username)).first() is not None:
        raise AccountError(f"the username {username!r} is taken")
    check_password_strength(password)
    user = User(username=username, password_hash=_hasher.hash(password), role=role,
                clinic_id=clinic.id if clinic else None, language=language)
    db.add(user)
    db.flush()
    return user


def user_by_name(db: Session, username: str) -> Optional[User]:
    return db.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()


def _existing(db: Session, username: str) -> User:
    user = user_by_name(db, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def disable_user(db: Session, username: str) -> User:
    """Disabling also ends the user's open sessions (they are deleted with the next lookup)."""
    user = _existing(db, username)
    user.disabled = True
    return user


def reset_password(db: Session, username: str, password: str) -> User:
    """A new password, and the account unlocked and enabled again."""
    user = _existing(db, username)
    check_password_strength(password)
    user.password_hash = _hasher.hash(password)
    user.password_changed_at = utcnow()
    user.failed_logins, user.locked_until, user.disabled = 0, None, False
    return user


def list_users(db: Session) -> List[User]:
    return list(db.execute(select(User).order_by(User.username)).scalars())


def count_admins(db: Session) -> int:
    return int(db.execute(select(func.count(User.id)).where(User.role == "admin")).scalar_one())


def authenticate(db: Session, username: str, password: str, now: Optional[datetime] = None) -> SignIn:
    """Check a sign-in. A disabled account, an unknown name and a wrong password all read "invalid"
    to the caller (nothing tells which names exist); a locked account says so."""
    now = now or utcnow()
    user = user_by_name(db, username) if username else None
    if user is None:
        _verify(_DUMMY_HASH, password)
        return SignIn(None, "invalid")
    locked_until = as_utc(user.locked_until)
    if locked_until is not None and locked_until > now:
        return SignIn(None, "locked")
    if not _verify(user.password_hash, password) or user.disabled:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
        return SignIn(None, "invalid")
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return SignIn(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
