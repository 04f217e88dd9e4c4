"""Clinic notifications: the outbox rules, delivery by a real SMTP server (aiosmtpd on loopback) and
the fake Bot API, retries, leases, and two workers racing over the same rows; on SQLite and
PostgreSQL."""
from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from bot import stack
from bot.config import Settings, settings_from
from bot.i18n.catalog import translate
from bot.notify.email import EmailSender, SmtpSettings
from bot.notify.outbox import enqueue_for
from bot.notify.telegram import TelegramSender
from bot.notify.worker import DeliveryPolicy, claim, run_once
from bot.paths import PROJECT_ROOT
from bot.questionnaires.flow import TriageFlow
from bot.store.db import session_scope
from bot.store.models import Clinic, Notification, TriageSession
from bot.store.migrate import upgrade
from bot.triage.service import TriageService
from tests.conftest import make_settings, random_sender
from tests.telegram_fake import TOKEN, FakeBotAPI

FLOW = TriageFlow()
LOW_BACK_FLAGS = [i.id for i in FLOW.required_items({"consent": True, "pain_site": "low_back"}) if i.id.startswith("rf_")]


def low_back(agree: Tuple[int, ...], bother: str) -> Dict[str, Any]:
    return {"consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
            **{flag: False for flag in LOW_BACK_FLAGS},
            **{f"sbt_{n}": ("agree" if n in agree else "disagree") for n in range(1, 9)},
            "sbt_9": bother, "pain_now": 7}


HIGH = low_back((1, 2, 5, 6, 7), "very_much")  # total 6, subscale 4
MEDIUM = low_back((1, 2, 3, 4), "slightly")  # total 4, subscale 0
LOW = low_back((), "slightly")
RED_FLAG = {"consent": True, "pain_site": "low_back", "rf_saddle_numbness": True}
GROUP_CHAT = "-1001234567890"
PASSWORD = "smtp-pa55word-never-logged"


# -- helpers --------------------------------------------------------------------------------


def add_clinic(settings: Settings, email_to: Optional[str] = "team@clinic.example",
               chat: Optional[str] = GROUP_CHAT, every: bool = False) -> int:
    with session_scope(settings.database_url) as db:
        clinic = Clinic(code=f"c{time.monotonic_ns()}", name="Test clinic", notify_email=email_to,
                        notify_telegram_chat=chat, notify_every_triage=every)
        db.add(clinic)
        db.flush()
        return clinic.id


def finish(settings: Settings, answers: Dict[str, Any], clinic_id: Optional[int]) -> Tuple[int, int, str]:
    """A triage finished by the real service, routed to ``clinic_id`` and enqueued as finish will
    (the main engineer wires both into TriageService.finish): (triage id, rows added, sender id)."""
    sender = random_sender()
    TriageService(settings, FLOW).finish(sender, answers, "en")
    with session_scope(settings.database_url) as db:
        triage = db.execute(select(TriageSession).where(TriageSession.pseudonym == TriageService(
            settings, FLOW).pseudonym(sender))).scalar_one()
        triage.clinic_id = clinic_id
        return triage.id, enqueue_for(db, triage), sender


def rows(settings: Settings, triage_id: Optional[int] = None) -> List[Notification]:
    with session_scope(settings.database_url) as db:
        query = select(Notification).order_by(Notification.id)
        if triage_id is not None:
            query = query.where(Notification.session_id == triage_id)
        return list(db.execute(query).scalars())


def aware(value: datetime) -> datetime:
    """SQLite gives stored times back without their (UTC) zone."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message the server accepted."""

    def __init__(self) -> None:
        self.messages: List[email.message.EmailMessage] = []
        self.envelopes: List[Tuple[str, List[str]]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 60) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout), len(self.messages)


@pytest.fixture
def smtp() -> Iterator[Tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def email_sender(port: int, password: Optional[str] = None) -> EmailSender:
    return EmailSender(SmtpSettings(host="127.0.0.1", port=port, sender="backtalk@clinic.example", starttls=False,
                                    username="backtalk" if password else None, password=password, timeout=5))


# -- what is enqueued -------------------------------------------------------------------------


def test_red_flag_and_high_risk_are_enqueued_once_per_configured_channel(settings: Settings) -> None:
    clinic = add_clinic(settings)
    red, added_red, _ = finish(settings, RED_FLAG, clinic)
    high, added_high, _ = finish(settings, HIGH, clinic)
    assert (added_red, added_high) == (2, 2)
    assert [(n.channel, n.urgency, n.status, n.attempts, n.clinic_id) for n in rows(settings, red)] == [
        ("email", "red_flag", "pending", 0, clinic), ("telegram", "red_flag", "pending", 0, clinic)]
    assert [(n.channel, n.urgency) for n in rows(settings, high)] == [("email", "high_risk"), ("telegram", "high_risk")]


def test_medium_and_low_risk_only_when_the_clinic_wants_every_triage(settings: Settings) -> None:
    quiet = add_clinic(settings, chat=None)
    every = add_clinic(settings, chat=None, every=True)
    assert finish(settings, MEDIUM, quiet)[1] == 0
    assert finish(settings, LOW, quiet)[1] == 0
    medium, added, _ = finish(settings, MEDIUM, every)
    assert added == 1 and [(n.channel, n.urgency) for n in rows(settings, medium)] == [("email", "routine")]
    assert finish(settings, LOW, every)[1] == 1
    # a red flag stays a red flag for a clinic that hears of every triage
    red, _, _ = finish(settings, RED_FLAG, every)
    assert [n.urgency for n in rows(settings, red)] == ["red_flag"]


def test_no_clinic_or_no_channel_enqueues_nothing(settings: Settings) -> None:
    silent = add_clinic(settings, email_to="  ", chat=None, every=True)
    assert finish(settings, RED_FLAG, None)[1] == 0
    assert finish(settings, RED_FLAG, silent)[1] == 0
    assert rows(settings) == []


def test_enqueueing_twice_adds_nothing_the_second_time(settings: Settings) -> None:
    clinic = add_clinic(settings)
    triage_id, first, _ = finish(settings, RED_FLAG, clinic)
    with session_scope(settings.database_url) as db:
        triage = db.get(TriageSession, triage_id)
        assert (first, enqueue_for(db, triage), enqueue_for(db, triage)) == (2, 0, 0)
    assert len(rows(settings, triage_id)) == 2


def test_an_unfinished_triage_is_not_told(settings: Settings) -> None:
    clinic = add_clinic(settings)
    with session_scope(settings.database_url) as db:
        triage = TriageSession(pseudonym="p" * 64, language="en", status="in_progress", red_flag="rf_fever",
                               clinic_id=clinic)
        db.add(triage)
        assert enqueue_for(db, triage) == 0


# -- delivery -----------------------------------------------------------------------------------


def test_an_email_arrives_with_code_and_link_and_nothing_clinical(settings: Settings, smtp: Tuple[Inbox, int]) -> None:
    inbox, port = smtp
    clinic = add_clinic(settings, email_to="team@clinic.example, lead@clinic.example", chat=None)
    triage_id, _, sender = finish(settings, RED_FLAG, clinic)
    assert run_once(settings, {"email": email_sender(port)}) == 1
    inbox.wait_for(1)
    (message,) = inbox.messages
    with session_scope(settings.database_url) as db:
        triage = db.get(TriageSession, triage_id)
        code, pseudonym = triage.reference_code, triage.pseudonym
        answers = {a.item_id: a.code for a in triage.answers}
    link = f"{settings.public_url}/clinic/triages/{triage_id}"
    subject, body = str(message["Subject"]), message.get_content()
    assert subject == translate("en", "notify.subject.red_flag", reference_code=code)
    assert code in body and link in body
    assert inbox.envelopes == [("backtalk@clinic.example", ["team@clinic.example", "lead@clinic.example"])]
    assert message["Auto-Submitted"] == "auto-generated"
    # nothing clinical: no flag name or question, no answer, no pseudonym or sender id, no score
    text = f"{subject}\n{body}"
    for forbidden in (translate("en", "rf_saddle_numbness.short"), translate("en", "rf_saddle_numbness.ask"),
                      "rf_saddle_numbness", "saddle", "low_back", translate("en", "pain_site.low_back"),
                      pseudonym, sender, *[c for c in answers.values() if len(c) > 3]):
        assert forbidden.lower() not in text.lower(), forbidden
    assert not re.search(r"\d", text.replace(code, "").replace(link, "")), "a number besides code and link"
    (row,) = rows(settings, triage_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None) and row.sent_at is not None


def test_a_high_risk_email_carries_no_score_or_answers(settings: Settings, smtp: Tuple[Inbox, int]) -> None:
    inbox, port = smtp
    clinic = add_clinic(settings, chat=None)
    triage_id, _, _ = finish(settings, HIGH, clinic)
    assert run_once(settings, {"email": email_sender(port)}) == 1
    inbox.wait_for(1)
    (message,) = inbox.messages
    with session_scope(settings.database_url) as db:
        triage = db.get(TriageSession, triage_id)
        code, score = triage.reference_code, triage.risk_score
    text = f"{message['Subject']}\n{message.get_content()}"
    assert score == 6 and translate("en", "notify.subject.high_risk", reference_code=code) in text
    link = f"{settings.public_url}/clinic/triages/{triage_id}"
    assert not re.search(r"\d", text.replace(code, "").replace(link, ""))
    for forbidden in ("agree", "very much", "very_much", translate("en", "sbt_1.ask"), "start back", "score"):
        assert forbidden not in text.lower()


def test_telegram_goes_to_the_clinic_group_without_link_preview(settings: Settings, fake_bot_api: FakeBotAPI) -> None:
    clinic = add_clinic(settings, email_to=None)
    triage_id, _, _ = finish(settings, HIGH, clinic)
    sender = TelegramSender(TOKEN, base_url=fake_bot_api.base_url)
    try:
        assert run_once(settings, {"telegram": sender}) == 1
    finally:
        sender.close()
    (call,) = [c for c in fake_bot_api.calls if c.method == "sendMessage"]
    code = rows_code(settings, triage_id)
    assert call.chat_id == int(GROUP_CHAT)
    assert call.params["text"].startswith(translate("en", "notify.subject.high_risk", reference_code=code))
    assert f"{settings.public_url}/clinic/triages/{triage_id}" in call.params["text"]
    assert "parse_mode" not in call.params and call.params["link_preview_options"] == {"is_disabled": True}
    assert [r.status for r in rows(settings, triage_id)] == ["sent"]


def rows_code(settings: Settings, triage_id: int) -> str:
    with session_scope(settings.database_url) as db:
        return db.get(TriageSession, triage_id).reference_code


def test_telegram_refusals_are_final_and_flood_control_waits(settings: Settings, fake_bot_api: FakeBotAPI) -> None:
    clinic = add_clinic(settings, email_to=None)
    blocked, _, _ = finish(settings, RED_FLAG, clinic)
    sender = TelegramSender(TOKEN, base_url=fake_bot_api.base_url)
    try:
        fake_bot_api.fail_next("sendMessage", "forbidden")  # the bot was removed from the group
        assert run_once(settings, {"telegram": sender}) == 0
        (row,) = rows(settings, blocked)
        assert (row.status, row.attempts) == ("failed", 1) and "Forbidden" in row.last_error
        assert TOKEN not in row.last_error
        flooded, _, _ = finish(settings, RED_FLAG, clinic)
        fake_bot_api.fail_next("sendMessage", "retry_after")
        before = datetime.now(timezone.utc)
        assert run_once(settings, {"telegram": sender}) == 0
        (row,) = rows(settings, flooded)
        assert (row.status, row.attempts) == ("pending", 1) and "RetryAfter" in row.last_error
        assert aware(row.next_attempt_at) >= before + timedelta(seconds=29)
    finally:
        sender.close()


def test_a_refused_smtp_connection_is_retried_with_backoff(settings: Settings) -> None:
    clinic = add_clinic(settings, chat=None)
    triage_id, _, _ = finish(settings, RED_FLAG, clinic)
    refused = email_sender(free_port(), password=PASSWORD)  # nothing listens there
    policy = DeliveryPolicy(max_attempts=3)
    start = datetime.now(timezone.utc)
    assert run_once(settings, {"email": refused}, policy) == 0
    (first,) = rows(settings, triage_id)
    assert (first.status, first.attempts, first.sent_at) == ("pending", 1, None)
    assert "Connection refused" in first.last_error or "ConnectionRefused" in first.last_error
    assert aware(first.next_attempt_at) >= start + timedelta(seconds=30)
    # not yet due: nothing is tried
    assert run_once(settings, {"email": refused}, policy) == 0
    assert rows(settings, triage_id)[0].attempts == 1
    # due again: the second attempt waits twice as long
    later = aware(first.next_attempt_at) + timedelta(seconds=1)
    assert run_once(settings, {"email": refused}, policy, clock=lambda: later) == 0
    (second,) = rows(settings, triage_id)
    assert (second.status, second.attempts) == ("pending", 2)
    assert aware(second.next_attempt_at) >= later + timedelta(seconds=60) > aware(first.next_attempt_at)
    # the last attempt fails the row, loudly, and it is not tried again
    last = aware(second.next_attempt_at) + timedelta(seconds=1)
    assert run_once(settings, {"email": refused}, policy, clock=lambda: last) == 0
    (final,) = rows(settings, triage_id)
    assert (final.status, final.attempts, final.sent_at) == ("failed", 3, None)
    assert PASSWORD not in (final.last_error or "")
    assert run_once(settings, {"email": refused}, policy, clock=lambda: last + timedelta(days=1)) == 0


def test_one_failing_notification_does_not_hold_up_the_others(settings: Settings, smtp: Tuple[Inbox, int],
                                                              fake_bot_api: FakeBotAPI) -> None:
    inbox, port = smtp
    clinic = add_clinic(settings)
    triage_id, _, _ = finish(settings, RED_FLAG, clinic)
    fake_bot_api.fail_next("sendMessage", "drop")
    telegram = TelegramSender(TOKEN, base_url=fake_bot_api.base_url)
    try:
        assert run_once(settings, {"email": email_sender(port), "telegram": telegram}) == 1
    finally:
        telegram.close()
    inbox.wait_for(1)
    assert {r.channel: r.status for r in rows(settings, triage_id)} == {"email": "sent", "telegram": "pending"}


def test_a_claim_whose_worker_died_is_sent_again_after_the_lease(settings: Settings, smtp: Tuple[Inbox, int]) -> None:
    """The documented trade-off: a worker that dies between sending and marking leaves the row
    claimed; it goes out (again) once the lease has run out, never before."""
    inbox, port = smtp
    clinic = add_clinic(settings, chat=None)
    triage_id, _, _ = finish(settings, RED_FLAG, clinic)
    policy = DeliveryPolicy(lease_seconds=120)
    now = datetime.now(timezone.utc)
    (job,) = claim(settings.database_url, ["email"], policy, now)  # ... and the worker dies here
    assert [(r.status, r.attempts) for r in rows(settings, triage_id)] == [("sending", 1)]
    assert run_once(settings, {"email": email_sender(port)}, policy, clock=lambda: now + timedelta(seconds=60)) == 0
    after = now + timedelta(seconds=121)
    assert run_once(settings, {"email": email_sender(port)}, policy, clock=lambda: after) == 1
    inbox.wait_for(1)
    assert [(r.status, r.attempts) for r in rows(settings, triage_id)] == [("sent", 2)]


def test_two_workers_racing_send_each_of_50_rows_exactly_once(settings: Settings, smtp: Tuple[Inbox, int]) -> None:
    inbox, port = smtp
    clinic = add_clinic(settings, chat=None)
    triage_id, _, _ = finish(settings, RED_FLAG, clinic)
    with session_scope(settings.database_url) as db:
        db.query(Notification).delete()
        for _ in range(50):
            db.add(Notification(clinic_id=clinic, session_id=triage_id, channel="email", urgency="red_flag"))
    policy = DeliveryPolicy(batch_size=5)
    start = threading.Barrier(2)
    sent: Dict[str, int] = {}
    errors: List[BaseException] = []

    def worker(name: str) -> None:
        sender = email_sender(port)  # each worker its own sender; run_once opens its own sessions
        total = 0
        try:
            start.wait(30)
            while True:
                count = run_once(settings, {"email": sender}, policy)
                total += count
                if count == 0 and not due(settings):
                    break
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        sent[name] = total

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    inbox.wait_for(50)
    time.sleep(0.2)  # a 51st message, if any, would have arrived by now
    assert len(inbox.messages) == 50 and sum(sent.values()) == 50
    assert {(r.status, r.attempts) for r in rows(settings)} == {("sent", 1)}


def due(settings: Settings) -> int:
    with session_scope(settings.database_url) as db:
        return db.execute(select(func.count()).select_from(Notification).where(
            Notification.status.in_(("pending", "sending")))).scalar_one()


# -- configuration and the process ----------------------------------------------------------------


def test_smtp_settings_from_the_environment() -> None:
    assert SmtpSettings.from_settings(settings_from({})) is None
    plain = SmtpSettings.from_settings(settings_from({"SMTP_HOST": "mail.example", "SMTP_FROM": "bt@example.org", "SMTP_STARTTLS": "false"}))
    assert plain is not None and (plain.port, plain.starttls, plain.username) == (25, False, None)
    secure = SmtpSettings.from_settings(settings_from({"SMTP_HOST": "mail.example", "SMTP_FROM": "bt@example.org",
                                    "SMTP_USERNAME": "bt", "SMTP_PASSWORD": PASSWORD}))
    assert secure is not None and (secure.port, secure.starttls) == (587, True)
    assert PASSWORD not in repr(secure)
    from bot.config import ConfigError

    with pytest.raises(ConfigError):  # a password would cross the network in the clear
        SmtpSettings.from_settings(settings_from({"SMTP_HOST": "mail.example", "SMTP_FROM": "bt@example.org", "SMTP_STARTTLS": "no",
                               "SMTP_USERNAME": "bt", "SMTP_PASSWORD": PASSWORD}))
    with pytest.raises(ConfigError):
        SmtpSettings.from_settings(settings_from({"SMTP_HOST": "mail.example"}))


def test_make_run_starts_the_worker(tmp_path: Path) -> None:
    config = make_settings(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    (worker,) = [s for s in stack.services(config, tmp_path / "endpoints.yml") if s.name == "worker"]
    assert worker.command[1:] == ["-m", "bot.notify"] and worker.ready_url is None


def test_backtalk_worker_delivers_and_stops_on_sigterm(tmp_path: Path, smtp: Tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = make_settings(f"sqlite:///{tmp_path / 'w.db'}", tmp_path)
    upgrade(settings.database_url)
    clinic = add_clinic(settings, chat=None)
    triage_id, _, _ = finish(settings, RED_FLAG, clinic)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "BACKTALK_DATA_DIR": str(tmp_path),
           "RASA_AUTH_TOKEN": "r", "ACTION_SERVER_TOKEN": "a", "BACKTALK_PSEUDONYM_KEY": "test-pseudonym-key",
           "BACKTALK_ENCRYPTION_KEY": "e", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
           "SMTP_STARTTLS": "false", "SMTP_FROM": "backtalk@clinic.example", "SMTP_USERNAME": "",
           "SMTP_PASSWORD": PASSWORD, "TELEGRAM_BOT_TOKEN": "", "NOTIFY_POLL_SECONDS": "0.2"}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        inbox.wait_for(1, timeout=60)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output[-2000:]
    assert "sending by email" in output and PASSWORD not in output
    assert [r.status for r in rows(settings, triage_id)] == ["sent"]
