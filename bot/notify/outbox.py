"""Writing notifications into the outbox, in the transaction that finishes a triage.

Why an outbox: sending from inside ``TriageService.finish`` would either hold the patient's reply
hostage to an SMTP server or lose the notification when the process dies after committing. A row
written in the same transaction exists exactly when the finished triage does; the worker
(``bot.notify.worker``) delivers it, retrying as long as it takes.
"""
from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import Clinic, Notification, TriageSession, utcnow

CHANNELS = ("email", "telegram")
FINISHED = ("complete", "red_flag")


def urgency_of(triage: TriageSession, clinic: Clinic) -> Optional[str]:
    """How urgently the clinic must hear of a finished triage, or None when it need not hear at all.

    A red flag and high risk are always told; any other finished triage only when the clinic
    asked for every one (``notify_every_triage``)."""
    if triage.status not in FINISHED:
        return None
    if triage.status == "red_flag" or triage.red_flag:
        return "red_flag"
    if triage.risk_group == "high":
        return "high_risk"
    return "routine" if clinic.notify_every_triage else None


def channels_of(clinic: Clinic) -> List[str]:
    """The channels the clinic configured, in a fixed order."""
    configured = {
        "email": (clinic.notify_email or "").strip(),
        "telegram": (clinic.notify_telegram_chat or "").strip(),
    }
    return [channel for channel in CHANNELS if configured[channel]]


def enqueue_for(db: Session, triage: TriageSession) -> int:
    """Add one pending notification per configured channel of the triage's clinic, when the
    urgency warrants it; returns how many were added.

    Call it inside the transaction that finishes the triage, after status, red flag, risk group
    and reference code are set. No clinic, no channel, or nothing worth telling: 0. Idempotent: a
    channel that already has a row for this triage (an action retried after a crash) gets no other.
    """
    if triage.clinic_id is None:
        return 0
    clinic = db.get(Clinic, triage.clinic_id)
    if clinic is None:
        return 0
    urgency = urgency_of(triage, clinic)
    channels = channels_of(clinic)
    if urgency is None or not channels:
        return 0
    if triage.id is None:
        db.flush()  # the rows name the triage by id
    existing = set(
        db.execute(select(Notification.channel).where(Notification.session_id == triage.id)).scalars()
    )
    now = utcnow()
    added = 0
    for channel in channels:
        if channel in existing:
            continue
        db.add(Notification(clinic_id=clinic.id, session_id=triage.id, channel=channel, urgency=urgency,
                            status="pending", attempts=0, created_at=now, next_attempt_at=now))
        added += 1
    return added
