"""The worker's daily retention run (bot/privacy/retention.py RetentionSchedule) driven through the
worker loop with an injected clock, on SQLite and PostgreSQL: due once a day, recorded in the audit
trail, so a second worker (or a restarted one) does not run it again; on PostgreSQL a worker holding
the advisory lock keeps the others out."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import List

from sqlalchemy import func, select, update

from bot.config import Settings
from bot.notify.worker import DeliveryPolicy, serve
from bot.privacy.retention import RETENTION_LOCK, RetentionSchedule
from bot.questionnaires.flow import TriageFlow
from bot.store.db import session_scope
from bot.store.models import AuditEvent, TriageSession, utcnow
from bot.triage.service import TriageService
from tests.conftest import random_sender
from tests.test_transcripts import rasa_url  # noqa: F401 - a fixture: Rasa's events table

START = utcnow()


def abandoned_conversation(settings: Settings, days_ago: float) -> None:
    """A conversation that consented to care and was left ``days_ago`` days before START."""
    service = TriageService(settings, TriageFlow())
    sender = random_sender()
    service.accept_answer(sender, TriageFlow().item("consent"), True, "en")
    with session_scope(settings.database_url) as db:
        db.execute(update(TriageSession).where(TriageSession.pseudonym == service.pseudonym(sender))
                   .values(updated_at=START - timedelta(days=days_ago)))


def triages(settings: Settings) -> int:
    with session_scope(settings.database_url) as db:
        return db.execute(select(func.count()).select_from(TriageSession)).scalar_one()


def runs(settings: Settings) -> List[AuditEvent]:
    with session_scope(settings.database_url) as db:
        return list(db.execute(select(AuditEvent).where(AuditEvent.action == "retention_run")
                               .order_by(AuditEvent.id)).scalars())


def drive(settings: Settings, schedule: RetentionSchedule, hours: List[float]) -> None:
    """The worker's loop, one round per entry of ``hours`` (after START), then stopped."""
    stop = threading.Event()
    moments = iter(hours)
    rounds: List[datetime] = []

    def clock() -> datetime:  # each round asks twice: notifications, then the schedule
        rounds.append(START + timedelta(hours=next(moments)) if len(rounds) % 2 == 0 else rounds[-1])
        if len(rounds) == 2 * len(hours):
            stop.set()
        return rounds[-1]

    serve(settings, {}, DeliveryPolicy(), interval=0, stop=stop, retention=schedule, clock=clock)


def test_the_worker_runs_retention_once_a_day_and_a_second_worker_does_not_repeat_it(
        rasa_url: str, settings: Settings) -> None:
    abandoned_conversation(settings, days_ago=31)
    abandoned_conversation(settings, days_ago=29.5)  # due a day and a half later
    first = RetentionSchedule(settings.database_url)
    drive(settings, first, [0, 1, 12, 23.9])
    assert triages(settings) == 1
    (run,) = runs(settings)
    assert (run.username, json.loads(run.detail)) == ("worker", {"unfinished_days": 30, "finished_days": None,
                                                                 "triages": 1, "events": 0})
    # A second worker starting now learns from the audit trail that today's run is done.
    second = RetentionSchedule(settings.database_url)
    drive(settings, second, [2, 20])
    assert len(runs(settings)) == 1 and second.next_check is not None
    assert abs(second.next_check - (START + timedelta(days=1))) < timedelta(seconds=1)
    # A day later one of them runs it again, and the other one does not.
    drive(settings, second, [24.5, 25, 30])
    drive(settings, first, [26, 31])
    assert [r.username for r in runs(settings)] == ["worker", "worker"] and triages(settings) == 0


def test_on_postgresql_a_worker_holding_the_lock_keeps_another_out(rasa_url: str, settings: Settings) -> None:
    abandoned_conversation(settings, days_ago=40)
    schedule = RetentionSchedule(settings.database_url)
    if not settings.database_url.startswith("postgresql"):
        assert schedule.tick(START) is not None  # SQLite: no lock to hold; the run goes ahead
        return
    with session_scope(settings.database_url) as holder:
        assert holder.execute(select(func.pg_try_advisory_xact_lock(RETENTION_LOCK))).scalar()
        assert schedule.tick(START) is None
        assert schedule.next_check == START + schedule.retry and triages(settings) == 1
    assert schedule.tick(START + schedule.retry).triages == 1
