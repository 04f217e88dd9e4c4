"""What the follow-up actions call (bot.followup.service), on SQLite and PostgreSQL: the offer's
answer, the web return link and the Telegram promise, "no more messages" with its confirmation, and
the worker running the scheduler as its second job."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import List

from sqlalchemy import func, select

from bot.config import Settings
from bot.followup.service import FollowUpService, offer
from bot.i18n.catalog import translate
from bot.notify.worker import FollowUpJob, serve
from bot.notify.worker import DeliveryPolicy
from bot.privacy.pseudonym import pseudonymise
from bot.reference_code import new_reference_code
from bot.store.db import session_scope
from bot.store.models import FollowUp, FollowUpSeries, TriageSession
from bot.telegram.chats import ChatDirectory

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def finished_triage(settings: Settings, sender: str, language: str = "de") -> None:
    with session_scope(settings.database_url) as db:
        db.add(TriageSession(pseudonym=pseudonymise(sender, settings.pseudonym_key), language=language,
                             status="complete", risk_group="low", reference_code=new_reference_code(),
                             completed_at=NOW))


def service(settings: Settings, now: datetime = NOW) -> FollowUpService:
    return FollowUpService(settings, clock=lambda: now)


def series_count(settings: Settings, status: str = "active") -> int:
    with session_scope(settings.database_url) as db:
        return db.execute(select(func.count()).select_from(FollowUpSeries)
                          .where(FollowUpSeries.status == status)).scalar_one()


def test_the_offer_is_a_yes_no_question_with_payload_buttons() -> None:
    message = offer("fr")
    assert message["text"] == translate("fr", "followup.offer.ask")
    assert [b["payload"] for b in message["buttons"]] == ['/followup_consent{"code": "yes"}',
                                                         '/followup_consent{"code": "no"}']


def test_yes_on_the_web_gives_a_return_link_and_a_date_in_the_patients_language(settings: Settings) -> None:
    finished_triage(settings, "web-sender")
    (message,) = service(settings).consent("web-sender", True, "de")
    assert f"{settings.public_url}/chat?followup=" in message["text"]
    assert "19. Januar 2026" in message["text"]  # 14 days after NOW, as Babel writes it in German
    token = message["text"].split("followup=")[1].split()[0]
    turn = service(settings, NOW + timedelta(days=1)).open("a-new-browser", token, None)
    assert turn.messages == [{"text": translate("en", "followup.nothing_open")}]  # not yet due
    assert series_count(settings) == 1


def test_yes_on_telegram_promises_a_message_there(settings: Settings) -> None:
    directory = ChatDirectory(settings.database_url, settings.pseudonym_key, settings.encryption_key)
    directory.remember(31337)
    finished_triage(settings, directory.sender(31337))
    assert service(settings).consent(directory.sender(31337), True, "de") == [
        {"text": translate("de", "followup.agreed.telegram")}]
    with session_scope(settings.database_url) as db:
        assert db.execute(select(FollowUpSeries.channel)).scalar_one() == "telegram"


def test_no_stores_nothing_and_yes_without_a_finished_triage_schedules_nothing(settings: Settings) -> None:
    finished_triage(settings, "declines")
    assert service(settings).consent("declines", False, "en") == [{"text": translate("en", "followup.declined")}]
    assert service(settings).consent("forgotten", True, "en") == [{"text": translate("en", "followup.stop.nothing")}]
    assert series_count(settings) == 0


def test_no_more_messages_asks_first_then_stops_everything_at_once(settings: Settings) -> None:
    finished_triage(settings, "stopper")
    service(settings).consent("stopper", True, "en")
    (ask,) = service(settings).stop("stopper", None, None, "en")
    assert ask["text"] == translate("en", "followup.stop.ask")
    assert ask["buttons"][0]["payload"] == '/stop_followups{"code": "yes"}'
    assert service(settings).stop("stopper", None, "no", "en") == [{"text": translate("en", "followup.stop.kept")}]
    assert series_count(settings) == 1
    assert service(settings).stop("stopper", None, "yes", "en") == [{"text": translate("en", "followup.stop.done")}]
    assert series_count(settings) == 0 and series_count(settings, "stopped") == 1
    with session_scope(settings.database_url) as db:
        assert set(db.execute(select(FollowUp.status)).scalars()) == {"cancelled"}
    assert service(settings).stop("stopper", None, None, "en") == [{"text": translate("en", "followup.stop.nothing")}]


def test_stopping_from_another_browser_stops_the_series_being_answered(settings: Settings) -> None:
    from bot.followup.scheduler import run_once

    finished_triage(settings, "first-browser")
    (message,) = service(settings).consent("first-browser", True, "en")
    token = message["text"].split("followup=")[1].split()[0]
    run_once(settings.database_url, None, clock=lambda: NOW + timedelta(days=14))
    turn = service(settings, NOW + timedelta(days=14)).open("second-browser", token, None)
    assert turn.followup_id is not None and turn.language == "de"
    assert service(settings).stop("second-browser", turn.followup_id, "yes", "en")[0]["text"] == \
        translate("en", "followup.stop.done")
    assert series_count(settings) == 0
    assert service(settings).answer(turn.followup_id, "3", "de").messages == [
        {"text": translate("de", "followup.nothing_open")}]


def test_the_worker_loop_runs_the_scheduler_as_a_second_job_and_survives_its_failure(settings: Settings) -> None:
    rounds: List[str] = []
    stop = threading.Event()

    def failing() -> None:
        rounds.append("failing")
        raise RuntimeError("database away")

    def counting() -> None:
        rounds.append("followups")
        if rounds.count("followups") == 2:
            stop.set()

    serve(settings, {}, DeliveryPolicy(), 0.01, stop, [failing, counting])
    assert rounds == ["failing", "followups", "failing", "followups"]
    job = FollowUpJob(settings.database_url, None, None)
    assert job.run().invited == 0  # type: ignore[attr-defined]
    job.close()
