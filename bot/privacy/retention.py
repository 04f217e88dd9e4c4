"""Retention and erasure: BackTalk's rows and Rasa's tracker events go together, and the counts say what went.

- Conversations that never consented, or whose triage was abandoned or left unfinished: after
  ``unfinished_days`` (default 30) since their last activity, their triages and Rasa events go. A
  conversation with no triage at all (care consent declined or never given) exists only in Rasa's
  ``events`` table: its events go once the newest is older than that.
- Everything else (finished triages): after ``finished_days`` when the clinic sets a policy
  (``BACKTALK_RETENTION_DAYS``); kept when it sets none.
- Erasure of one conversation by its reference code (admins, `backtalk erase`): the same as Telegram's
  /forget for that conversation.
- The worker (`backtalk worker`) runs retention once a day (``RetentionSchedule``, below).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional, Set

from sqlalchemy import and_, column, delete, func, inspect, or_, select, table
from sqlalchemy.orm import Session

from bot.audit import record
from bot.config import Settings
from bot.store.db import engine_for, session_scope
from bot.store.models import AuditEvent, TriageSession, as_utc, utcnow
from bot.store.repository import TriageRepository
from bot.telegram.forget import Erased, erase_chat

logger = logging.getLogger(__name__)
RASA_EVENTS = table("events", column("sender_id"), column("timestamp"))
DEFAULT_UNFINISHED_DAYS: int = Settings.__fields__["retention_unfinished_days"].default  # defined in bot/config.py
# PostgreSQL advisory lock key of the scheduled run ("BTRT"): one worker at a time checks and runs.
RETENTION_LOCK = 0x42545254


@dataclass(frozen=True)
class RetentionCounts:
    triages: int
    events: int
    conversations: int


def _delete_events(db: Session, rasa_senders: Set[str]) -> int:
    deleted = 0
    ordered = sorted(rasa_senders)
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
        senders = {t.pseudonym: t.rasa_sender for t in old if t.rasa_sender}
        # A conversation goes whole: only when none of its triages is still within retention.
        kept = set(db.execute(select(TriageSession.pseudonym).where(
            TriageSession.pseudonym.in_(pseudonyms), TriageSession.id.notin_([t.id for t in old]))).scalars()) \
            if pseudonyms else set()
        gone = pseudonyms - kept
        repo = TriageRepository(db)
        triages = sum(repo.erase(p) for p in sorted(gone))
        events = 0
        conversations = len(gone)
        if has_events:
            # Rasa's events are keyed by the conversation's Rasa sender (bot/privacy/pseudonym.py).
            with_triage = select(TriageSession.rasa_sender).where(TriageSession.rasa_sender.isnot(None))
            never_consented = set(db.execute(
                select(RASA_EVENTS.c.sender_id).where(RASA_EVENTS.c.sender_id.notin_(with_triage))
                .group_by(RASA_EVENTS.c.sender_id)
                .having(func.max(RASA_EVENTS.c.timestamp) < unfinished_cutoff.timestamp())).scalars())
            conversations += len(never_consented)
            events = _delete_events(db, {senders[p] for p in gone if p in senders} | never_consented)
    return RetentionCounts(triages=triages, events=events, conversations=conversations)


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


@dataclass
class RetentionSchedule:
    """Retention once a day from the worker's loop: ``tick(now)`` on every round is a due-time check,
    so the loop never sleeps for a day and a restarted worker catches up at once.

    The last run is the newest ``retention_run`` row of the audit trail (written with the counts by
    every run, the CLI's too), so it survives restarts and is shared by every worker. Two workers:
    on PostgreSQL the check, the run and its audit row happen in one transaction holding a
    transaction-scoped advisory lock (``pg_try_advisory_xact_lock``): a second worker does not wait
    for it, it skips, and the next time it checks it sees the first one's row and waits a day. On
    SQLite (one host, the embedded default) two workers could both pass the check in the same
    instant; the second run would then find nothing left to delete (retention is idempotent) and
    only cost time.
    """

    database_url: str
    unfinished_days: int = DEFAULT_UNFINISHED_DAYS
    finished_days: Optional[int] = None
    every: timedelta = timedelta(days=1)
    retry: timedelta = timedelta(hours=1)  # after another worker held the lock, or a failed run
    next_check: Optional[datetime] = field(default=None)

    @classmethod
    def from_settings(cls, config: Settings) -> "RetentionSchedule":
        """The same settings as `backtalk retention run` (docs/privacy.md)."""
        return cls(config.database_url, config.retention_unfinished_days, config.retention_days)

    def tick(self, now: datetime) -> Optional[RetentionCounts]:
        """Run retention when it is due; returns the counts of a run, None when none was due."""
        if self.next_check is not None and now < self.next_check:
            return None
        self.next_check = now + self.retry  # also after a failure: no hammering a database that is away
        with session_scope(self.database_url) as db:
            if db.get_bind().dialect.name == "postgresql" and not db.execute(
                    select(func.pg_try_advisory_xact_lock(RETENTION_LOCK))).scalar():
                return None  # another worker is running it right now
            last = as_utc(db.execute(select(func.max(AuditEvent.at))
                                     .where(AuditEvent.action == "retention_run")).scalar())
            if last is not None and now < last + self.every:
                self.next_check = last + self.every
                return None
            counts = run_retention(self.database_url, self.unfinished_days, self.finished_days, now=now)
            record(db, "retention_run", username="worker", at=now,
                   detail={"unfinished_days": self.unfinished_days, "finished_days": self.finished_days,
                           "triages": counts.triages, "events": counts.events})
        self.next_check = now + self.every
        logger.info("retention: deleted %d conversation(s): %d triage(s), %d Rasa event(s)",
                    counts.conversations, counts.triages, counts.events)
        return counts
