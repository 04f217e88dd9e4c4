"""Retention and erasure: BackTalk's rows and Rasa's tracker events go together, and the counts say what went.

- Conversations that never consented, or whose triage was abandoned or left unfinished: after
  ``unfinished_days`` (default 30) since their last activity, their triages and Rasa events go. A
  conversation with no triage at all (care consent declined or never given) exists only in Rasa's
  ``events`` table: its events go once the newest is older than that.
- Everything else (finished triages): after ``finished_days`` when the clinic sets a policy
  (``BACKTALK_RETENTION_DAYS``); kept when it sets none.
- Erasure of one conversation by its reference code (admins, `backtalk erase`): the same as Telegram's
  /forget for that conversation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Set

from sqlalchemy import and_, column, delete, func, inspect, or_, select, table
from sqlalchemy.orm import Session

from bot.store.db import engine_for, session_scope
from bot.store.models import TriageSession, utcnow
from bot.store.repository import TriageRepository
from bot.telegram.forget import Erased, erase_chat

RASA_EVENTS = table("events", column("sender_id"), column("timestamp"))
DEFAULT_UNFINISHED_DAYS = 30


@dataclass(frozen=True)
class RetentionCounts:
    triages: int
    events: int
    conversations: int


def _delete_events(db: Session, pseudonyms: Set[str]) -> int:
    deleted = 0
    ordered = sorted(pseudonyms)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        deleted += db.execute(delete(RASA_EVENTS).where(RASA_EVENTS.c.sender_id.in_(chunk))).rowcount or 0
    return deleted


def run_retention(database_url: str, unfinished_days: int = DEFAULT_UNFINISHED_DAYS,
                  finished_days: Optional[int] = None, now: Optional[datetime] = None) -> RetentionCounts:
    """Delete what is past its retention; returns how many triages, events and conversations went."""
    now = now or utcnow()
    unfinished_cutoff = now - timedelta(days=unfinished_days)
    has_events = inspect(engine_for(database_url)).has_table("events")
    with session_scope(database_url) as db:
        expired = and_(TriageSession.status.in_(("in_progress", "abandoned")), TriageSession.updated_at < unfinished_cutoff)
        if finished_days is not None:
            expired = or_(expired, and_(TriageSession.status.in_(("complete", "red_flag")),
                                        TriageSession.completed_at < now - timedelta(days=finished_days)))
        old = list(db.execute(select(TriageSession).where(expired)).scalars())
        pseudonyms = {t.pseudonym for t in old}
        # A conversation goes whole: only when none of its triages is still within retention.
        kept = set(db.execute(select(TriageSession.pseudonym).where(
            TriageSession.pseudonym.in_(pseudonyms), TriageSession.id.notin_([t.id for t in old]))).scalars()) \
            if pseudonyms else set()
        gone = pseudonyms - kept
        repo = TriageRepository(db)
        triages = sum(repo.erase(p) for p in sorted(gone))
        events = 0
        if has_events:
            with_triage = select(TriageSession.pseudonym)
            never_consented = set(db.execute(
                select(RASA_EVENTS.c.sender_id).where(RASA_EVENTS.c.sender_id.notin_(with_triage))
                .group_by(RASA_EVENTS.c.sender_id)
                .having(func.max(RASA_EVENTS.c.timestamp) < unfinished_cutoff.timestamp())).scalars())
            gone |= never_consented
            events = _delete_events(db, gone)
    return RetentionCounts(triages=triages, events=events, conversations=len(gone))


class UnknownReferenceCode(LookupError):
    pass


def erase_by_reference_code(database_url: str, reference_code: str) -> Erased:
    """Erase the whole conversation a reference code belongs to (all its triages, Rasa events, chat link)."""
    with session_scope(database_url) as db:
        triage = TriageRepository(db).by_reference_code(reference_code.strip().upper())
        if triage is None:
            raise UnknownReferenceCode(reference_code)
        pseudonym = triage.pseudonym
    return erase_chat(database_url, pseudonym)
