"""The delivery loop (`backtalk worker`, `python -m bot.notify`): claim due notifications, send
them, mark them sent or schedule the next attempt.

Claiming is a lease. In one short transaction a worker picks due rows (``pending``, or ``sending``
whose lease ran out) and sets them to ``sending`` with ``next_attempt_at`` = now + lease and
``attempts`` + 1; it commits, sends outside any transaction, then marks each row in another short
transaction. The claim is a compare-and-set (``UPDATE ... WHERE id = ? AND <still due>``, one row
counted), so two workers never both win a row, on PostgreSQL (where ``FOR UPDATE SKIP LOCKED`` also
lets them pick disjoint rows without waiting) and on SQLite (one writer at a time). ``attempts``
after the claim is the claim's fencing token: a worker only marks a row it still holds.

Why a lease rather than a row lock held while sending: on SQLite a write transaction open during an
SMTP conversation would stall every other writer, patients' answers included. The price: a worker
that dies between sending and marking leaves the row ``sending``; once the lease expires another
worker sends it again. So a notification is sent at least once, and at most twice per crash in that
window (docs/notifications.md).
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from bot.logsafe import protect_logs
from bot.config import ConfigError, Settings, settings as load_settings
from bot.i18n.catalog import normalise_language
from bot.lifeline import watch_supervisor
from bot.notify.messages import compose, summary_link
from bot.notify.sender import DeliveryError, Sender, redact
from bot.privacy.retention import RetentionSchedule
from bot.store.db import session_scope
from bot.store.models import Clinic, Notification, TriageSession, utcnow

logger = logging.getLogger(__name__)

DUE_STATUSES = ("pending", "sending")
ERROR_LENGTH = 255  # notifications.last_error


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the worker claims and retries. Defaults: the first attempt within one poll, retries
    after 30 s, 1, 2, 4, 8, 16 and 32 minutes, and after the 8th attempt (about an hour of
    trying) the row is ``failed``."""

    batch_size: int = 20
    lease_seconds: float = 300.0  # longer than a batch of sends can take; see send deadline below
    max_attempts: int = 8
    first_backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    language: str = "en"  # of the notification texts (NOTIFY_LANGUAGE)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        seconds = self.first_backoff_seconds * 2 ** max(0, attempts - 1)
        return timedelta(seconds=min(seconds, self.max_backoff_seconds))

    @classmethod
    def from_settings(cls, config: Settings) -> "DeliveryPolicy":
        return cls(language=normalise_language(config.notify_language))


@dataclass(frozen=True)
class Job:
    """A claimed notification with what sending needs, read in the claiming transaction."""

    id: int
    attempts: int  # after the claim: the fencing token
    channel: str
    urgency: str
    session_id: int
    reference_code: str
    destination: str


def run_once(
    config: Settings,
    senders: Mapping[str, Sender],
    policy: DeliveryPolicy = DeliveryPolicy(),
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Claim the due notifications of the channels in ``senders``, send them; returns how many
    were sent. A failure of one notification is recorded on its row and never stops the others."""
    jobs = claim(config.database_url, tuple(senders), policy, clock())
    # Stop sending before our lease runs out: past it, another worker may claim and send the same row.
    deadline = time.monotonic() + policy.lease_seconds * 0.8
    secrets = [s for sender in senders.values() for s in sender.secrets()]
    sent = 0
    for job in jobs:
        if time.monotonic() > deadline:
            release(config.database_url, job, clock())
            continue
        try:
            notice = compose(job.urgency, job.reference_code, summary_link(config.public_url, job.session_id),
                             policy.language)
            senders[job.channel].send(notice, job.destination)
        except Exception as error:  # noqa: BLE001 - one notification's failure must not stop the rest
            record_failure(config.database_url, job, error, policy, clock(), secrets)
        else:
            if mark_sent(config.database_url, job, clock()):
                sent += 1
    return sent


def claim(database_url: str, channels: Iterable[str], policy: DeliveryPolicy, now: datetime) -> List[Job]:
    """Take up to ``batch_size`` due notifications of ``channels`` for this worker (see module doc)."""
    channels = tuple(channels)
    if not channels:
        return []
    lease_until = now + timedelta(seconds=policy.lease_seconds)
    with session_scope(database_url) as db:
        due = (
            select(Notification.id)
            .where(Notification.status.in_(DUE_STATUSES), Notification.next_attempt_at <= now,
                   Notification.channel.in_(channels))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(policy.batch_size)
        )
        if db.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)  # concurrent workers pick disjoint rows
        won: List[int] = []
        for notification_id in db.execute(due).scalars().all():
            taken = db.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.status.in_(DUE_STATUSES),
                       Notification.next_attempt_at <= now)
                .values(status="sending", attempts=Notification.attempts + 1, next_attempt_at=lease_until)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:
                won.append(notification_id)
        return _jobs(db, won)


def _jobs(db: Session, ids: List[int]) -> List[Job]:
    if not ids:
        return []
    rows = db.execute(
        select(Notification, TriageSession.reference_code, Clinic.notify_email, Clinic.notify_telegram_chat)
        .join(TriageSession, TriageSession.id == Notification.session_id)
        .join(Clinic, Clinic.id == Notification.clinic_id)
        .where(Notification.id.in_(ids))
        .order_by(Notification.next_attempt_at, Notification.id)
    ).all()
    jobs = []
    for notification, reference_code, email, chat in rows:
        # The clinic's address as it is now: a changed address is used, a removed one fails.
        destination = (email if notification.channel == "email" else chat) or ""
        jobs.append(Job(id=notification.id, attempts=notification.attempts, channel=notification.channel,
                        urgency=notification.urgency, session_id=notification.session_id,
                        reference_code=reference_code or "", destination=destination))
    return jobs


def _held(job: Job) -> Update:
    """The row as long as this worker's claim on it stands."""
    return update(Notification).where(
        Notification.id == job.id, Notification.status == "sending", Notification.attempts == job.attempts
    ).execution_options(synchronize_session=False)


def mark_sent(database_url: str, job: Job, now: datetime) -> bool:
    with session_scope(database_url) as db:
        done = db.execute(_held(job).values(status="sent", sent_at=now, last_error=None)).rowcount == 1
    if done:
        logger.info("notification %d sent (%s, %s)", job.id, job.channel, job.urgency)
    else:
        logger.warning("notification %d was sent after its lease ran out; another worker may send it too", job.id)
    return done


def record_failure(database_url: str, job: Job, error: BaseException, policy: DeliveryPolicy, now: datetime,
                   secrets: Iterable[str] = ()) -> None:
    """Schedule the next attempt with backoff, or give up (``failed``) after the last one or when
    trying again cannot help."""
    if isinstance(error, DeliveryError):
        text, permanent, retry_after = str(error), error.permanent, error.retry_after
    else:  # a bug, not the network: keep the kind of error, and the traceback in the log
        text, permanent, retry_after = f"{type(error).__name__}: {error}", False, None
        logger.error("notification %d: unexpected error", job.id, exc_info=(type(error), error, error.__traceback__))
    text = redact(text, secrets)[:ERROR_LENGTH]
    if permanent or job.attempts >= policy.max_attempts:
        with session_scope(database_url) as db:
            db.execute(_held(job).values(status="failed", last_error=text))
        logger.error("NOTIFICATION FAILED: notification %d (%s, %s) given up after %d attempt(s): %s; "
                     "the clinic was not told", job.id, job.channel, job.urgency, job.attempts, text)
        return
    wait = policy.backoff(job.attempts)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    with session_scope(database_url) as db:
        db.execute(_held(job).values(status="pending", last_error=text, next_attempt_at=now + wait))
    logger.warning("notification %d (%s) attempt %d/%d failed, next in %.0f s: %s", job.id, job.channel,
                   job.attempts, policy.max_attempts, wait.total_seconds(), text)


def release(database_url: str, job: Job, now: datetime) -> None:
    """Give a claimed row back unsent (the batch ran too long), without counting an attempt."""
    with session_scope(database_url) as db:
        db.execute(_held(job).values(status="pending", attempts=Notification.attempts - 1, next_attempt_at=now))


def senders_from_settings(config: Settings) -> Dict[str, Sender]:
    """The channels this deployment can send on: e-mail when SMTP_HOST is set, Telegram when
    TELEGRAM_BOT_TOKEN is."""
    from bot.notify.email import EmailSender
    from bot.notify.telegram import TelegramSender

    senders: Dict[str, Sender] = {}
    for sender in (EmailSender.from_settings(config), TelegramSender.from_settings(config)):
        if sender is not None:
            senders[sender.channel] = sender
    return senders


def waiting_without_sender(database_url: str, channels: Iterable[str]) -> Dict[str, int]:
    """Pending notifications of channels this worker cannot send on (left for when one is set up)."""
    with session_scope(database_url) as db:
        rows = db.execute(
            select(Notification.channel, func.count())
            .where(Notification.status.in_(DUE_STATUSES), Notification.channel.notin_(tuple(channels)))
            .group_by(Notification.channel)
        ).all()
    return {channel: count for channel, count in rows}


def serve(config: Settings, senders: Mapping[str, Sender], policy: DeliveryPolicy, interval: float,
          stop: threading.Event, jobs: Sequence[Callable[[], object]] = (),
          retention: Optional[RetentionSchedule] = None, clock: Callable[[], datetime] = utcnow) -> None:
    """``run_once`` and then each of ``jobs`` (the follow-up scheduler) every ``interval`` seconds, and
    the daily retention run when it is due (bot/privacy/retention.py), until ``stop`` is set; a
    database that is away is waited for, not fatal, and one job's failure does not hold up the others."""
    while not stop.is_set():
        for job in (lambda: run_once(config, senders, policy, clock), *jobs):
            try:
                job()
            except Exception:  # noqa: BLE001 - e.g. the database restarting: try again next round
                logger.exception("worker round failed; trying again in %.0f s", interval)
        if retention is not None:
            try:
                retention.tick(clock())
            except Exception:  # noqa: BLE001 - retried at the schedule's next check
                logger.exception("retention run failed; trying again later")
        stop.wait(interval)


class FollowUpJob:
    """The follow-up scheduler as a job of this loop, with its own Telegram sender (each sender owns
    an event loop) when TELEGRAM_BOT_TOKEN is set; without it, web check-ins still open and close."""

    def __init__(self, database_url: str, messenger: Optional[object], sender: Optional[Sender]) -> None:
        self.database_url = database_url
        self.messenger = messenger
        self.sender = sender

    def run(self) -> object:
        from bot.followup.scheduler import run_once as followup_round

        return followup_round(self.database_url, self.messenger)  # type: ignore[arg-type]

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()


def followup_job(config: Settings) -> FollowUpJob:
    from bot.followup.telegram import TelegramMessenger
    from bot.notify.telegram import TelegramSender
    from bot.telegram.chats import ChatDirectory

    sender = TelegramSender.from_settings(config)
    if sender is None:
        return FollowUpJob(config.database_url, None, None)
    directory = ChatDirectory(config.database_url, config.pseudonym_key, config.encryption_key)
    return FollowUpJob(config.database_url, TelegramMessenger(directory, sender), sender)


def main() -> int:
    watch_supervisor()  # ends with `backtalk run` (bot/lifeline.py)
    try:
        config = load_settings()
        interval = config.notify_poll_seconds
        policy = DeliveryPolicy.from_settings(config)
        senders = senders_from_settings(config)
    except ConfigError as error:
        print(f"backtalk worker: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs contain the bot token
    # the senders' secrets (SMTP password, bot token) may come from .env, not the environment
    protect_logs([config.rasa_auth_token, config.pseudonym_key, config.encryption_key,
                  *(secret for sender in senders.values() for secret in sender.secrets())])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logger.info("worker: retention runs once a day; notifications: sending by %s, every %.0f s",
                ", ".join(sorted(senders)) or "nothing (set SMTP_HOST and/or TELEGRAM_BOT_TOKEN)", interval)
    try:
        for channel, count in waiting_without_sender(config.database_url, senders).items():
            logger.warning("%d %s notification(s) wait: this worker cannot send %s", count, channel, channel)
    except Exception as error:  # noqa: BLE001 - not migrated yet, database away: the loop will say so
        logger.warning("could not count waiting notifications: %s", type(error).__name__)
    followups = followup_job(config)
    try:
        serve(config, senders, policy, interval, stop, [followups.run], RetentionSchedule.from_settings(config))
    finally:
        followups.close()
        for sender in senders.values():
            sender.close()
    logger.info("notification worker stopped")
    return 0
