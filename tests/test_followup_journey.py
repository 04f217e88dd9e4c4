"""The whole follow-up journey over the fake Bot API, with a controlled clock, on SQLite and
PostgreSQL: a finished Telegram triage, yes to check-ins, four check-ins sent to the patient's chat
(the first answered, the second ignored until missed, the third answered weeks late, the fourth
answered), each answer through the service the actions call; then the trajectory on the summary
and the clinic's outcome rows. (Rasa's part, the rules and payloads, is checked by tests/test_rasa.py.)"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

from sqlalchemy import select

from bot.config import Settings
from bot.followup.outcomes import outcome_rows
from bot.followup.scheduler import run_once
from bot.followup.service import FollowUpService
from bot.followup.telegram import TelegramMessenger
from bot.followup.trajectory import summary_chart
from bot.i18n.catalog import translate
from bot.notify.telegram import TelegramSender
from bot.reference_code import new_reference_code
from bot.store.db import session_scope
from bot.store.models import Answer, Clinic, FollowUp, TriageSession
from bot.telegram.chats import ChatDirectory, telegram_sender
from tests.conftest import make_settings
from tests.telegram_fake import TOKEN, FakeBotAPI

START = datetime(2026, 2, 2, 10, 0, tzinfo=timezone.utc)  # 11:00 in Copenhagen
CHAT = 9_100_001
# the chat's id at Rasa, as the Telegram channel sends it (make_settings' pseudonym key)
SENDER = telegram_sender(CHAT, make_settings("sqlite://", Path(".")).pseudonym_key)


def check_in(service: FollowUpService, pain: str) -> List[str]:
    """The patient sends /followup and answers every question (taps where a tap is offered)."""
    turn = service.open(SENDER, None, None)
    said = [m["text"] for m in turn.messages]
    answers = {"pain_now": pain}
    while turn.followup_id is not None and not turn.finished:
        buttons = turn.messages[-1].get("buttons") or []
        codes = [json.loads(b["payload"][len("/answer"):])["code"] for b in buttons]
        if codes:
            if "10" in codes and "pain_now" in answers:
                choice = answers.pop("pain_now")
            else:
                choice = next(c for c in ("no", "disagree", "not_at_all", "working", "better", "exercise_therapy")
                              if c in codes)
            turn = service.answer(turn.followup_id, choice, "de", tapped=True)
        else:
            turn = service.answer(turn.followup_id, answers.pop("pain_now", "nein"), "de")
        said += [m["text"] for m in turn.messages]
    return said


def test_triage_then_four_check_ins_one_ignored_one_late(settings: Settings, fake_bot_api: FakeBotAPI) -> None:
    directory = ChatDirectory(settings.database_url, settings.pseudonym_key, settings.encryption_key)
    pseudonym = directory.remember(CHAT, "de")
    with session_scope(settings.database_url) as db:
        clinic = Clinic(code="north", name="North")
        db.add(clinic)
        db.flush()
        triage = TriageSession(pseudonym=pseudonym, channel="telegram", language="de", status="complete",
                               pain_site="low_back", risk_tool="start_back", risk_group="medium", clinic_id=clinic.id,
                               reference_code=new_reference_code(), completed_at=START)
        triage.answers = [Answer(item_id="pain_now", code="7"),
                          *(Answer(item_id=f"fn_{n}", code="true" if n < 4 else "false") for n in range(1, 7))]
        db.add(triage)
        db.flush()
        triage_id, code = triage.id, triage.reference_code
    clock = {"now": START}

    def service() -> FollowUpService:
        return FollowUpService(settings, clock=lambda: clock["now"])

    assert service().consent(SENDER, True, "de") == [{"text": translate("de", "followup.agreed.telegram")}]
    sender = TelegramSender(TOKEN, base_url=fake_bot_api.base_url)
    messenger = TelegramMessenger(directory, sender)

    def tick(days: float) -> None:
        clock["now"] = START + timedelta(days=days)
        run_once(settings.database_url, messenger, clock=lambda: clock["now"])

    try:
        tick(14)  # 2 weeks: sent, answered the same day
        said = check_in(service(), "5")
        assert said[0] == translate("de", "followup.welcome") and said[-1] == translate(
            "de", "followup.done", reference_code=code)
        assert "sbt_1" in str(_answered_items(settings))  # re-stratified at the first check-in
        for day in (42, 44, 46):  # 6 weeks: sent, reminded, missed
            tick(day)
        for day in (91, 93, 95):  # 3 months: sent, reminded, missed; answered three weeks late
            tick(day)
        clock["now"] = START + timedelta(days=112)
        check_in(service(), "4")
        tick(182)  # 6 months
        check_in(service(), "2")
        tick(200)
    finally:
        sender.close()
    texts = [c.params["text"] for c in fake_bot_api.calls if c.method == "sendMessage" and c.chat_id == CHAT]
    invite, reminder = translate("de", "followup.invite", reference_code=code), translate("de", "followup.reminder")
    assert texts == [invite, invite, reminder, invite, reminder, invite]
    with session_scope(settings.database_url) as db:
        rows = db.execute(select(FollowUp.label, FollowUp.status).order_by(FollowUp.due_at)).all()
        assert [tuple(r) for r in rows] == [("2w", "answered"), ("6w", "missed"), ("3m", "answered"), ("6m", "answered")]
        svg = summary_chart(db, db.get(TriageSession, triage_id), "de")
        outcomes = outcome_rows(db, None)
    assert svg is not None and svg.count("<circle") == 2 * 4  # triage and three answered check-ins, two panels
    assert sorted((r.time, r.pain_change, r.function_change) for r in outcomes) == [
        ("3m", -3.0, -12.0), ("6m", -5.0, -12.0)]


def _answered_items(settings: Settings) -> List[str]:
    from bot.store.models import FollowUpAnswer

    with session_scope(settings.database_url) as db:
        return list(db.execute(select(FollowUpAnswer.item_id)).scalars())
