"""Starting and stopping a patient's follow-ups, and finding the follow-up a returning patient means.

A series belongs to one finished triage. The patient is reached where they did the triage: on
Telegram through the encrypted chat map (the triage conversation's pseudonym), on the web only when
they come back with the return code shown at the end of the triage (BackTalk collects no e-mail
address or phone number, so there is nobody to send to)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.followup.schedules import Schedule, schedule_for
from bot.store.models import (
    Clinic,
    FollowUp,
    FollowUpSeries,
    TelegramChat,
    TriageSession,
    as_utc,
)

# Rows the scheduler may still act on: stopping a series cancels these.
PENDING = ("scheduled", "sending", "sent", "reminding", "reminded")
# A follow-up the patient can (still) answer: sent, reminded, even missed (a late answer is kept).
ANSWERABLE = ("sent", "reminding", "reminded", "missed", "answering")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Agreed:
    series_id: int
    channel: str  # telegram | web
    token: str  # the web return code; shown once, only its hash is stored
    first_due: datetime


def channel_for(db: Session, pseudonym: str) -> str:
    """Telegram when the conversation has a chat mapping (it can be written to), else web."""
    return "telegram" if db.get(TelegramChat, pseudonym) is not None else "web"


def agree(db: Session, triage: TriageSession, now: datetime, schedule: Optional[Schedule] = None) -> Agreed:
    """The patient said yes: schedule the check-ins of the triage's clinic, counted from ``now``.

    An earlier active series of the same conversation (a new triage later on) is superseded, so a
    patient never gets two sets of check-ins; saying yes twice for the same triage returns the
    series already there with a fresh return code (the old code stops working)."""
    clinic = db.get(Clinic, triage.clinic_id) if triage.clinic_id is not None else None
    schedule = schedule or schedule_for(clinic.code if clinic is not None else None)
    token = secrets.token_urlsafe(16)
    existing = db.execute(
        select(FollowUpSeries).where(FollowUpSeries.session_id == triage.id, FollowUpSeries.status == "active")
    ).scalar_one_or_none()
    if existing is not None:
        existing.token_hash = token_hash(token)
        return Agreed(existing.id, existing.channel, token, as_utc(existing.followups[0].due_at))
    for older in db.execute(
        select(FollowUpSeries).where(FollowUpSeries.pseudonym == triage.pseudonym, FollowUpSeries.status == "active")
    ).scalars():
        end(db, older, now, "superseded")
    series = FollowUpSeries(
        session_id=triage.id, pseudonym=triage.pseudonym, channel=channel_for(db, triage.pseudonym),
        language=triage.language, clinic_id=triage.clinic_id, time_zone=schedule.time_zone,
        token_hash=token_hash(token), status="active", created_at=now,
    )
    for step in schedule.steps:
        due = now + timedelta(days=step.days)
        series.followups.append(FollowUp(label=step.label, offset_days=step.days, restratify=step.restratify,
                                         status="scheduled", due_at=due, next_action_at=due, attempts=0))
    db.add(series)
    db.flush()
    return Agreed(series.id, series.channel, token, now + timedelta(days=schedule.steps[0].days))


def end(db: Session, series: FollowUpSeries, now: datetime, status: str = "stopped") -> int:
    """Stop a series (``stopped`` by the patient, ``superseded`` by a newer one); every check-in not
    yet done is cancelled in the same transaction, so the scheduler, which only claims rows of
    active series still pending, sends nothing more. Returns how many were cancelled."""
    series.status, series.stopped_at = status, now
    return db.execute(
        update(FollowUp)
        .where(FollowUp.series_id == series.id, FollowUp.status.in_(PENDING))
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    ).rowcount or 0


def active_series(db: Session, pseudonym: str) -> List[FollowUpSeries]:
    return list(db.execute(
        select(FollowUpSeries).where(FollowUpSeries.pseudonym == pseudonym, FollowUpSeries.status == "active")
    ).scalars())


def series_by_token(db: Session, token: str) -> Optional[FollowUpSeries]:
    if not token or len(token) > 64:
        return None
    return db.execute(
        select(FollowUpSeries).where(FollowUpSeries.token_hash == token_hash(token))
    ).scalar_one_or_none()


def answerable(series: FollowUpSeries) -> Optional[FollowUp]:
    """The check-in a returning patient answers: the latest one sent (even if it was missed: a late
    answer is still an answer, dated when given); None before the first is due or when the latest
    was already answered."""
    sent = [f for f in series.followups if f.sent_at is not None or f.status in ANSWERABLE]
    if not sent:
        return None
    latest = max(sent, key=lambda f: f.due_at)
    return latest if latest.status in ANSWERABLE else None
