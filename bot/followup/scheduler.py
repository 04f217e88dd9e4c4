"""The follow-up scheduler: a second job of `backtalk worker` (bot.notify.worker), run every poll.

Each round, in one short transaction, it claims due rows of active series with the outbox's lease
(docs/notifications.md): candidates are picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, each row is taken with a compare-and-set ``UPDATE ... WHERE id = ? AND status = ? AND
next_action_at <= now`` (one row counted), and ``attempts`` after the claim is the fencing token
with which the row is later marked. Two schedulers therefore never both send a row; a scheduler that
dies between sending and marking leaves a row that is sent again when its lease runs out (the same
at-most-twice-per-crash trade-off as clinic notifications, for the same reason: no write
transaction open while talking to Telegram).

What one round does, per due row:

- ``reminded`` and the wait is over: ``missed`` (nothing to send).
- ``scheduled`` while a later check-in of the series is also due (the clock jumped, the worker was
  down for weeks): ``skipped``; only the latest is sent.
- due inside the quiet hours of the series' time zone (Telegram): moved to their end, not sent.
- web series: ``scheduled`` becomes ``sent`` (open for the return code) without a message, and an
  open one whose time ran out becomes ``missed``; the web has no address to remind.
- Telegram: ``scheduled`` -> ``sending`` -> invite -> ``sent``; ``sent`` after ``remind_after`` ->
  ``reminding`` -> reminder -> ``reminded``; a failure goes back with a delay, a refusal for good
  (chat forgotten, bot blocked) makes the row ``failed``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.followup.schedules import Schedule, schedule_for
from bot.i18n.catalog import mark, translate
from bot.notify.sender import DeliveryError
from bot.store.db import session_scope
from bot.store.models import Clinic, FollowUp, FollowUpSeries, TriageSession, as_utc, utcnow

logger = logging.getLogger(__name__)

ERROR_LENGTH = 255


class Messenger(Protocol):
    """Writes to a patient's Telegram chat, found by the conversation's pseudonym; raises
    DeliveryError (``permanent`` when the chat is unknown or the bot was blocked)."""

    def send(self, pseudonym: str, text: str) -> None: ...


@dataclass(frozen=True)
class SchedulerPolicy:
    batch_size: int = 200
    lease_seconds: float = 300.0
    max_attempts: int = 10  # invite and reminder together
    retry_seconds: float = 300.0
    # Sent rows are marked this many at a time, in one transaction: far fewer commits, at the price
    # that a scheduler dying mid-batch leaves up to this many sent-but-unmarked rows to be sent
    # again after the lease (the at-most-twice window of the module doc, per batch).
    mark_every: int = 25


@dataclass(frozen=True)
class Task:
    """A claimed row: ``kind`` invite or reminder; ``attempts`` is the claim's fencing token."""

    id: int
    series_id: int
    attempts: int
    kind: str
    pseudonym: str
    language: str
    reference_code: str
    next_wait: timedelta  # after sending: until the reminder (invite) or until missed (reminder)


@dataclass
class Round:
    """What one round did (tests and the benchmark read it; the log says it)."""

    invited: int = 0
    reminded: int = 0
    opened: int = 0
    missed: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0
    retried: int = 0
    tasks: List[Task] = field(default_factory=list)


MESSAGES = {"invite": mark("followup.invite"), "reminder": mark("followup.reminder")}


def message_for(task: Task) -> str:
    return translate(task.language, MESSAGES[task.kind], reference_code=task.reference_code)


def run_once(database_url: str, messenger: Optional[Messenger], policy: SchedulerPolicy = SchedulerPolicy(),
             clock: Callable[[], datetime] = utcnow,
             schedules: Callable[[Optional[str]], Schedule] = schedule_for) -> Round:
    """One round: claim what is due, send it, mark it. Without a messenger (no TELEGRAM_BOT_TOKEN),
    Telegram rows wait and web rows still open and close on time."""
    done = claim(database_url, messenger is not None, policy, clock(), schedules)
    delivered: List[Task] = []
    for position, task in enumerate(done.tasks, start=1):
        try:
            messenger.send(task.pseudonym, message_for(task))  # type: ignore[union-attr]
        except Exception as error:  # noqa: BLE001 - one patient's failure never holds up the others
            if record_failure(database_url, task, error, policy, clock()):
                done.failed += 1
            else:
                done.retried += 1
        else:
            delivered.append(task)
        if delivered and (len(delivered) >= policy.mark_every or position == len(done.tasks)):
            for marked in mark_sent(database_url, delivered, clock()):
                if marked.kind == "invite":
                    done.invited += 1
                else:
                    done.reminded += 1
            delivered = []
    if any((done.invited, done.reminded, done.opened, done.missed, done.skipped, done.failed)):
        logger.info("follow-ups: %d sent, %d reminded, %d opened (web), %d missed, %d skipped, %d failed",
                    done.invited, done.reminded, done.opened, done.missed, done.skipped, done.failed)
    return done


def _schedule_of(db: Session, series: FollowUpSeries, schedules: Callable[[Optional[str]], Schedule],
                 cache: Dict[Optional[int], Schedule]) -> Schedule:
    if series.clinic_id not in cache:
        clinic = db.get(Clinic, series.clinic_id) if series.clinic_id is not None else None
        cache[series.clinic_id] = schedules(clinic.code if clinic is not None else None)
    return cache[series.clinic_id]


def _take(db: Session, row: FollowUp, was: str, now: datetime, **values: object) -> bool:
    """Compare-and-set: the row moves only if it is still what we read (status, still due)."""
    return db.execute(
        update(FollowUp)
        .where(FollowUp.id == row.id, FollowUp.status == was, FollowUp.attempts == row.attempts,
               FollowUp.next_action_at <= now)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def claim(database_url: str, can_send: bool, policy: SchedulerPolicy, now: datetime,
          schedules: Callable[[Optional[str]], Schedule] = schedule_for) -> Round:
    """The claiming transaction (module doc); returns the Telegram tasks to send and the counts of
    what was settled without sending."""
    done = Round()
    lease = now + timedelta(seconds=policy.lease_seconds)
    cache: Dict[Optional[int], Schedule] = {}
    with session_scope(database_url) as db:
        due = (
            select(FollowUp, FollowUpSeries, TriageSession.reference_code)
            .join(FollowUpSeries, FollowUpSeries.id == FollowUp.series_id)
            .join(TriageSession, TriageSession.id == FollowUpSeries.session_id)
            .where(FollowUpSeries.status == "active",
                   FollowUp.status.in_(("scheduled", "sending", "sent", "reminding", "reminded")),
                   FollowUp.next_action_at <= now)
            .order_by(FollowUp.next_action_at, FollowUp.id)
            .limit(policy.batch_size)
        )
        if not can_send:
            due = due.where(FollowUpSeries.channel == "web")
        if db.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True, of=FollowUp)  # concurrent schedulers: disjoint rows
        candidates = db.execute(due).all()
        latest_due = _latest_due(db, [series.id for _, series, _ in candidates], now)
        for row, series, reference_code in candidates:
            schedule = _schedule_of(db, series, schedules, cache)
            if row.status == "reminded":
                done.missed += _take(db, row, "reminded", now, status="missed")
                continue
            if row.status == "scheduled" and as_utc(row.due_at) < latest_due[series.id]:
                done.skipped += _take(db, row, "scheduled", now, status="skipped")
                continue
            if series.channel == "web":
                if row.status == "scheduled":
                    done.opened += _take(db, row, "scheduled", now, status="sent", sent_at=now,
                                         next_action_at=now + schedule.remind_after + schedule.missed_after)
                elif row.status == "sent":
                    done.missed += _take(db, row, "sent", now, status="missed")
                continue
            if schedule.is_quiet(now, series.time_zone):
                done.deferred += _take(db, row, row.status, now,
                                       next_action_at=schedule.quiet_until(now, series.time_zone))
                continue
            kind = "invite" if row.status in ("scheduled", "sending") else "reminder"
            if _take(db, row, row.status, now, status="sending" if kind == "invite" else "reminding",
                     attempts=FollowUp.attempts + 1, next_action_at=lease):
                done.tasks.append(Task(
                    id=row.id, series_id=series.id, attempts=row.attempts + 1, kind=kind,
                    pseudonym=series.pseudonym, language=series.language, reference_code=reference_code or "",
                    next_wait=schedule.remind_after if kind == "invite" else schedule.missed_after))
    return done


def _latest_due(db: Session, series_ids: List[int], now: datetime) -> Dict[int, datetime]:
    """Per series, the due time of its latest scheduled check-in already due: an earlier one due
    at the same time (the clock jumped, the worker was down) is skipped, not sent."""
    if not series_ids:
        return {}
    rows = db.execute(
        select(FollowUp.series_id, func.max(FollowUp.due_at))
        .where(FollowUp.series_id.in_(set(series_ids)), FollowUp.status == "scheduled", FollowUp.due_at <= now)
        .group_by(FollowUp.series_id)
    ).all()
    latest = {series_id: as_utc(due_at) for series_id, due_at in rows}
    return {series_id: latest.get(series_id, now) for series_id in series_ids}


def _held(task: Task):  # type: ignore[no-untyped-def]
    """The row as long as this scheduler's claim on it stands."""
    status = "sending" if task.kind == "invite" else "reminding"
    return update(FollowUp).where(
        FollowUp.id == task.id, FollowUp.status == status, FollowUp.attempts == task.attempts
    ).execution_options(synchronize_session=False)


def mark_sent(database_url: str, tasks: List[Task], now: datetime) -> List[Task]:
    """Mark sent rows in one transaction, each only while this scheduler's claim on it stands (a
    stop or a lease taken over in the meantime wins); returns the tasks marked. A check-in of the
    series still unanswered when the next one goes out is missed."""
    marked: List[Task] = []
    with session_scope(database_url) as db:
        for task in tasks:
            values = (dict(status="sent", sent_at=now) if task.kind == "invite"
                      else dict(status="reminded", reminded_at=now))
            if db.execute(_held(task).values(last_error=None, next_action_at=now + task.next_wait,
                                             **values)).rowcount:
                marked.append(task)
        invited = [t for t in marked if t.kind == "invite"]
        if invited:
            db.execute(update(FollowUp).where(
                FollowUp.series_id.in_([t.series_id for t in invited]),
                FollowUp.id.notin_([t.id for t in invited]),
                FollowUp.status.in_(("sent", "reminding", "reminded")),
            ).values(status="missed").execution_options(synchronize_session=False))
    for task in tasks:
        if task not in marked:
            logger.warning("follow-up %d: sent after its lease ran out or after a stop", task.id)
    return marked


def record_failure(database_url: str, task: Task, error: BaseException, policy: SchedulerPolicy,
                   now: datetime) -> bool:
    """Back to the state before the claim, to be tried again later; or ``failed`` when trying again
    cannot help or the attempts are used up. Returns whether the row failed for good."""
    permanent = isinstance(error, DeliveryError) and error.permanent
    text = (str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}")[:ERROR_LENGTH]
    if not isinstance(error, DeliveryError):
        logger.error("follow-up %d: unexpected error", task.id, exc_info=(type(error), error, error.__traceback__))
    if permanent or task.attempts >= policy.max_attempts:
        with session_scope(database_url) as db:
            db.execute(_held(task).values(status="failed", last_error=text))
        logger.error("follow-up %d given up after %d attempt(s): %s", task.id, task.attempts, text)
        return True
    wait = timedelta(seconds=policy.retry_seconds)
    if isinstance(error, DeliveryError) and error.retry_after is not None:
        wait = max(wait, timedelta(seconds=error.retry_after))
    back = "scheduled" if task.kind == "invite" else "sent"
    with session_scope(database_url) as db:
        db.execute(_held(task).values(status=back, last_error=text, next_action_at=now + wait))
    logger.warning("follow-up %d: attempt %d failed, next in %.0f s: %s", task.id, task.attempts,
                   wait.total_seconds(), text)
    return False


__all__ = ["Messenger", "Round", "SchedulerPolicy", "Task", "claim", "mark_sent", "record_failure", "run_once"]
