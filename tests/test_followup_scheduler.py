"""Follow-up schedules and the scheduler, with an injected clock (no freezegun/time-machine in the
environment: every function takes ``now`` or a ``clock``), on SQLite and PostgreSQL: sending once at
the due time, quiet hours, one reminder then missed, stop at once, /forget, clock jumps, two racing
schedulers, the database away, and the Telegram message over the fake Bot API."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.followup import series as followup_series
from bot.followup.scheduler import SchedulerPolicy, run_once
from bot.followup.schedules import ScheduleError, load_schedules, schedule_for
from bot.followup.telegram import TelegramMessenger
from bot.i18n.catalog import translate
from bot.notify.sender import DeliveryError
from bot.notify.telegram import TelegramSender
from bot.reference_code import new_reference_code
from bot.store.db import session_scope
from bot.store.models import FollowUp, FollowUpSeries, TriageSession, as_utc
from bot.telegram.chats import ChatDirectory
from bot.telegram.forget import erase_chat
from tests.telegram_fake import TOKEN, FakeBotAPI

# 10:00 in Copenhagen (CET, UTC+1) on a Monday: outside the default quiet hours 21:00-09:00.
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Recorder:
    """A messenger that records (pseudonym, text); ``fail`` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: List[Tuple[str, str]] = []
        self.fail: List[BaseException] = []
        self.lock = threading.Lock()

    def send(self, pseudonym: str, text: str) -> None:
        with self.lock:
            if self.fail:
                raise self.fail.pop(0)
            self.sent.append((pseudonym, text))


def make_triage(settings: Settings, pseudonym: str, telegram_chat: Optional[int] = None,
                language: str = "en") -> int:
    if telegram_chat is not None:
        ChatDirectory(settings.database_url, settings.pseudonym_key, settings.encryption_key).remember(telegram_chat)
        pseudonym = ChatDirectory(settings.database_url, settings.pseudonym_key,
                                  settings.encryption_key).pseudonym(telegram_chat)
    with session_scope(settings.database_url) as db:
        triage = TriageSession(pseudonym=pseudonym, language=language, status="complete", risk_group="medium",
                               reference_code=new_reference_code(), completed_at=START)
        db.add(triage)
        db.flush()
        return triage.id


def agree(settings: Settings, triage_id: int, now: datetime = START) -> followup_series.Agreed:
    with session_scope(settings.database_url) as db:
        return followup_series.agree(db, db.get(TriageSession, triage_id), now)


def statuses(settings: Settings, series_id: int) -> List[str]:
    with session_scope(settings.database_url) as db:
        return list(db.execute(select(FollowUp.status).where(FollowUp.series_id == series_id)
                               .order_by(FollowUp.due_at)).scalars())


def telegram_series(settings: Settings, chat: int = 4242) -> Tuple[str, followup_series.Agreed]:
    triage = make_triage(settings, "", telegram_chat=chat)
    with session_scope(settings.database_url) as db:
        pseudonym = db.get(TriageSession, triage).pseudonym
    return pseudonym, agree(settings, triage)


# -- the schedule data ------------------------------------------------------------------------


def test_default_schedule_is_2w_6w_3m_6m_with_restratification_at_2_weeks() -> None:
    schedule = schedule_for(None)
    assert [(s.label, s.days, s.restratify) for s in schedule.steps] == [
        ("2w", 14, True), ("6w", 42, False), ("3m", 91, False), ("6m", 182, False)]
    assert schedule_for("a-clinic-not-listed") == schedule


def test_a_clinic_overrides_only_what_it_names_and_typos_fail_at_load(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yml"
    path.write_text("default: {time_zone: Europe/Copenhagen, followups: [{label: 2w, days: 14}]}\n"
                    "clinics: {lisboa: {time_zone: Europe/Lisbon}}\n", encoding="utf-8")
    schedules = load_schedules(path)
    assert schedules["lisboa"].time_zone == "Europe/Lisbon" and schedules["lisboa"].steps == schedules[None].steps
    path = tmp_path / "bad_zone.yml"  # (loading is cached per file)
    path.write_text("default: {time_zone: Europe/Atlantis, followups: [{label: 2w, days: 14}]}\n", encoding="utf-8")
    with pytest.raises(ScheduleError, match="time_zone"):
        load_schedules(path)
    path = tmp_path / "bad_order.yml"
    path.write_text("default: {time_zone: UTC, followups: [{label: 6w, days: 42}, {label: 2w, days: 14}]}\n",
                    encoding="utf-8")
    with pytest.raises(ScheduleError, match="order"):
        load_schedules(path)


def test_quiet_hours_follow_the_zone_and_daylight_saving() -> None:
    schedule = schedule_for(None)  # Europe/Copenhagen, 21:00-09:00
    assert not schedule.is_quiet(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))  # 10:00 local
    late = datetime(2026, 1, 5, 20, 30, tzinfo=timezone.utc)  # 21:30 local
    assert schedule.is_quiet(late)
    assert schedule.quiet_until(late) == datetime(2026, 1, 6, 8, 0, tzinfo=timezone.utc)  # 09:00 CET
    # The night summer time begins (29 March 2026): 09:00 CEST is 07:00 UTC.
    spring = datetime(2026, 3, 28, 22, 0, tzinfo=timezone.utc)
    assert schedule.quiet_until(spring) == datetime(2026, 3, 29, 7, 0, tzinfo=timezone.utc)


# -- agreeing, stopping -----------------------------------------------------------------------


def test_agreeing_schedules_four_check_ins_and_stores_only_the_hash_of_the_return_code(settings: Settings) -> None:
    triage = make_triage(settings, "web-patient")
    agreed = agree(settings, triage)
    assert agreed.channel == "web" and agreed.first_due == START + timedelta(days=14)
    with session_scope(settings.database_url) as db:
        series = db.get(FollowUpSeries, agreed.series_id)
        assert series.token_hash == followup_series.token_hash(agreed.token) != agreed.token
        assert [(f.label, as_utc(f.due_at) - START, f.status) for f in series.followups] == [
            ("2w", timedelta(days=14), "scheduled"), ("6w", timedelta(days=42), "scheduled"),
            ("3m", timedelta(days=91), "scheduled"), ("6m", timedelta(days=182), "scheduled")]
        assert followup_series.series_by_token(db, agreed.token).id == agreed.series_id
        assert followup_series.series_by_token(db, "not-the-code") is None


def test_a_new_triage_supersedes_the_earlier_series(settings: Settings) -> None:
    first = agree(settings, make_triage(settings, "returning"))
    second = agree(settings, make_triage(settings, "returning"), START + timedelta(days=20))
    assert statuses(settings, first.series_id) == ["cancelled"] * 4
    assert statuses(settings, second.series_id) == ["scheduled"] * 4
    with session_scope(settings.database_url) as db:
        assert db.get(FollowUpSeries, first.series_id).status == "superseded"


# -- the scheduler ---------------------------------------------------------------------------


def test_sent_once_when_due_reminded_once_after_two_days_then_missed(settings: Settings) -> None:
    pseudonym, agreed = telegram_series(settings)
    clock, messenger = Clock(START + timedelta(days=14) - timedelta(minutes=1)), Recorder()
    assert run_once(settings.database_url, messenger, clock=clock).invited == 0
    clock.advance(minutes=1)
    assert run_once(settings.database_url, messenger, clock=clock).invited == 1
    assert run_once(settings.database_url, messenger, clock=clock).invited == 0  # not twice
    assert messenger.sent == [(pseudonym, translate("en", "followup.invite", reference_code=_code(settings, pseudonym)))]
    clock.advance(days=2)
    assert run_once(settings.database_url, messenger, clock=clock).reminded == 1
    assert messenger.sent[-1][1] == translate("en", "followup.reminder")
    clock.advance(days=1)
    assert run_once(settings.database_url, messenger, clock=clock).missed == 0
    clock.advance(days=1)
    assert run_once(settings.database_url, messenger, clock=clock).missed == 1
    assert statuses(settings, agreed.series_id) == ["missed", "scheduled", "scheduled", "scheduled"]
    assert len(messenger.sent) == 2


def _code(settings: Settings, pseudonym: str) -> str:
    with session_scope(settings.database_url) as db:
        return db.execute(select(TriageSession.reference_code).where(TriageSession.pseudonym == pseudonym)).scalar_one()


def test_nothing_is_sent_in_quiet_hours_it_waits_for_the_morning(settings: Settings) -> None:
    _, agreed = telegram_series(settings)
    evening = START + timedelta(days=14, hours=12)  # 22:00 in Copenhagen
    clock, messenger = Clock(evening), Recorder()
    result = run_once(settings.database_url, messenger, clock=clock)
    assert (result.invited, result.deferred, messenger.sent) == (0, 1, [])
    with session_scope(settings.database_url) as db:
        first = db.get(FollowUpSeries, agreed.series_id).followups[0]
        assert as_utc(first.next_action_at) == datetime(2026, 1, 20, 8, 0, tzinfo=timezone.utc)  # 09:00 local
    clock.now = datetime(2026, 1, 20, 7, 59, tzinfo=timezone.utc)
    assert run_once(settings.database_url, messenger, clock=clock).invited == 0
    clock.now = datetime(2026, 1, 20, 8, 0, tzinfo=timezone.utc)
    assert run_once(settings.database_url, messenger, clock=clock).invited == 1


def test_stopping_cancels_every_pending_check_in_at_once(settings: Settings) -> None:
    pseudonym, agreed = telegram_series(settings)
    clock, messenger = Clock(START + timedelta(days=14)), Recorder()
    run_once(settings.database_url, messenger, clock=clock)
    with session_scope(settings.database_url) as db:
        (series,) = followup_series.active_series(db, pseudonym)
        assert followup_series.end(db, series, clock()) == 4  # the one sent (reminder pending) and three to come
    for days in (2, 40, 200):
        clock.advance(days=days)
        run_once(settings.database_url, messenger, clock=clock)
    assert len(messenger.sent) == 1
    assert statuses(settings, agreed.series_id) == ["cancelled"] * 4


def test_a_stop_while_a_scheduler_is_sending_is_not_overwritten(settings: Settings) -> None:
    pseudonym, agreed = telegram_series(settings)
    now = START + timedelta(days=14)

    class StopMidway(Recorder):
        def send(self, who: str, text: str) -> None:
            with session_scope(settings.database_url) as db:
                followup_series.end(db, followup_series.active_series(db, pseudonym)[0], now)
            super().send(who, text)

    result = run_once(settings.database_url, StopMidway(), clock=lambda: now)
    assert result.invited == 0 and statuses(settings, agreed.series_id) == ["cancelled"] * 4


def test_a_forgotten_chat_gets_nothing(settings: Settings) -> None:
    pseudonym, agreed = telegram_series(settings)
    erased = erase_chat(settings.database_url, pseudonym)
    assert erased.triages == 1 and erased.chat_link
    messenger = Recorder()
    run_once(settings.database_url, messenger, clock=lambda: START + timedelta(days=200))
    assert messenger.sent == []
    with session_scope(settings.database_url) as db:  # erased with the triage, nothing left to send
        assert db.execute(select(FollowUp)).first() is None


def test_a_clock_jump_sends_only_the_latest_due_and_a_jump_back_sends_nothing_again(settings: Settings) -> None:
    _, agreed = telegram_series(settings)
    clock, messenger = Clock(START + timedelta(days=100)), Recorder()  # 2w and 6w and 3m all due
    result = run_once(settings.database_url, messenger, clock=clock)
    assert (result.invited, result.skipped) == (1, 2)
    assert statuses(settings, agreed.series_id) == ["skipped", "skipped", "sent", "scheduled"]
    clock.now = START + timedelta(days=15)  # the clock goes back
    for _ in range(3):
        run_once(settings.database_url, messenger, clock=clock)
    assert len(messenger.sent) == 1


def test_an_unanswered_check_in_is_missed_when_the_next_is_sent(settings: Settings) -> None:
    _, agreed = telegram_series(settings)
    messenger = Recorder()
    run_once(settings.database_url, messenger, clock=lambda: START + timedelta(days=14))
    run_once(settings.database_url, messenger, clock=lambda: START + timedelta(days=42))
    assert statuses(settings, agreed.series_id)[:2] == ["missed", "sent"]


def test_a_failed_send_is_tried_again_later_and_a_refusal_is_final(settings: Settings) -> None:
    _, agreed = telegram_series(settings)
    now = START + timedelta(days=14)
    messenger = Recorder()
    messenger.fail = [DeliveryError("Telegram: NetworkError")]
    result = run_once(settings.database_url, messenger, SchedulerPolicy(retry_seconds=60), clock=lambda: now)
    assert (result.invited, result.retried) == (0, 1) and statuses(settings, agreed.series_id)[0] == "scheduled"
    assert run_once(settings.database_url, messenger, clock=lambda: now + timedelta(seconds=59)).invited == 0
    assert run_once(settings.database_url, messenger, clock=lambda: now + timedelta(seconds=60)).invited == 1
    _, other = telegram_series(settings, chat=5151)
    messenger.fail = [DeliveryError("Telegram: Forbidden: bot was blocked by the user", permanent=True)]
    assert run_once(settings.database_url, messenger, clock=lambda: now + timedelta(minutes=5)).failed == 1
    assert statuses(settings, other.series_id)[0] == "failed"


def test_a_claim_whose_scheduler_died_is_sent_after_the_lease(settings: Settings) -> None:
    from bot.followup.scheduler import claim

    _, agreed = telegram_series(settings)
    now = START + timedelta(days=14)
    assert len(claim(settings.database_url, True, SchedulerPolicy(lease_seconds=300), now).tasks) == 1  # then dies
    messenger = Recorder()
    assert run_once(settings.database_url, messenger, clock=lambda: now + timedelta(seconds=299)).invited == 0
    assert run_once(settings.database_url, messenger, clock=lambda: now + timedelta(seconds=300)).invited == 1


def test_web_check_ins_open_without_a_message_and_are_missed_when_their_time_runs_out(settings: Settings) -> None:
    agreed = agree(settings, make_triage(settings, "web-only"))
    messenger = Recorder()
    assert run_once(settings.database_url, messenger, clock=lambda: START + timedelta(days=14)).opened == 1
    with session_scope(settings.database_url) as db:
        assert followup_series.answerable(db.get(FollowUpSeries, agreed.series_id)).label == "2w"
    assert run_once(settings.database_url, None, clock=lambda: START + timedelta(days=18)).missed == 1
    assert messenger.sent == [] and statuses(settings, agreed.series_id)[0] == "missed"


def test_telegram_rows_wait_for_a_scheduler_that_can_send(settings: Settings) -> None:
    _, agreed = telegram_series(settings)
    assert run_once(settings.database_url, None, clock=lambda: START + timedelta(days=14)).invited == 0
    assert statuses(settings, agreed.series_id)[0] == "scheduled"


def test_the_database_away_when_due_loses_nothing(settings: Settings) -> None:
    _, agreed = telegram_series(settings)
    messenger = Recorder()
    away = "postgresql://postgres@127.0.0.1:1/test" if settings.database_url.startswith("postgresql") \
        else "sqlite:////nonexistent-dir-backtalk/x/y.db"
    with pytest.raises(Exception):
        run_once(away, messenger, clock=lambda: START + timedelta(days=14))
    assert run_once(settings.database_url, messenger, clock=lambda: START + timedelta(days=14, hours=3)).invited == 1
    assert len(messenger.sent) == 1


def test_two_schedulers_racing_send_each_check_in_exactly_once(settings: Settings) -> None:
    series_ids = []
    for n in range(60):
        series_ids.append(telegram_series(settings, chat=10_000 + n)[1].series_id)
    now = START + timedelta(days=14)
    messenger = Recorder()
    barrier = threading.Barrier(2)
    errors: List[BaseException] = []

    def scheduler() -> None:
        try:
            barrier.wait(30)
            while run_once(settings.database_url, messenger, SchedulerPolicy(batch_size=7), clock=lambda: now).tasks:
                pass
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(messenger.sent) == 60 and len({p for p, _ in messenger.sent}) == 60
    assert all(statuses(settings, s)[0] == "sent" for s in series_ids)


# -- Telegram ----------------------------------------------------------------------------------


def test_the_check_in_reaches_the_patients_chat_through_the_encrypted_map(settings: Settings,
                                                                          fake_bot_api: FakeBotAPI) -> None:
    pseudonym, _ = telegram_series(settings, chat=777001)
    with session_scope(settings.database_url) as db:
        db.get(FollowUpSeries, followup_series.active_series(db, pseudonym)[0].id).language = "de"
    directory = ChatDirectory(settings.database_url, settings.pseudonym_key, settings.encryption_key)
    sender = TelegramSender(TOKEN, base_url=fake_bot_api.base_url)
    try:
        result = run_once(settings.database_url, TelegramMessenger(directory, sender),
                          clock=lambda: START + timedelta(days=14))
    finally:
        sender.close()
    assert result.invited == 1
    (call,) = [c for c in fake_bot_api.calls if c.method == "sendMessage"]
    assert call.chat_id == 777001
    assert call.params["text"] == translate("de", "followup.invite", reference_code=_code(settings, pseudonym))
