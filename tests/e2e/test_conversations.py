"""Whole conversations through the real Rasa server and action server, over HTTP."""
from __future__ import annotations

import re
import secrets
from typing import Any, Dict, List, Optional

import pytest
from sqlalchemy import select

from bot.i18n.catalog import translate
from bot.privacy.pseudonym import pseudonymise
from bot.store.db import session_scope
from bot.store.models import TriageSession
from tests.e2e.servers import RunningStack, http

pytestmark = pytest.mark.e2e
CODE = re.compile(r"BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
BACK_FLAGS = 6


def t(msgid: str, language: str = "en", **values: Any) -> str:
    return translate(language, msgid, **values)


class Patient:
    """One conversation: sends text or taps a button by its title, keeps the last reply."""

    def __init__(self, stack: RunningStack, language_hint: Optional[str] = "en") -> None:
        self.stack = stack
        self.sender = f"e2e-{secrets.token_hex(8)}"
        self.reply: List[Dict[str, Any]] = []
        self.metadata = {"language": language_hint} if language_hint else None

    def say(self, text: str) -> "Patient":
        """Send like a channel does: with the channel's language hint as REST metadata."""
        self.reply = self.stack.say(self.sender, text, self.metadata)
        return self

    def tap(self, title: str) -> "Patient":
        buttons = {b["title"]: b["payload"] for m in self.reply for b in m.get("buttons", [])}
        assert title in buttons, f"no button {title!r} in {buttons}"
        return self.say(buttons[title])

    @property
    def texts(self) -> List[str]:
        return [m.get("text", "") for m in self.reply]

    @property
    def asked(self) -> str:
        """The last question asked (the message with buttons, or the last text)."""
        return self.texts[-1]

    def slots(self) -> Dict[str, Any]:
        return self.stack.tracker(self.sender)["slots"]

    def stored(self) -> List[TriageSession]:
        pseudonym = pseudonymise(self.sender, self.stack.config.pseudonym_key)
        with session_scope(self.stack.config.database_url) as db:
            rows = db.execute(select(TriageSession).where(TriageSession.pseudonym == pseudonym).order_by(TriageSession.id)).scalars().all()
            for row in rows:
                row.answer_codes = {a.item_id: a.code for a in row.answers}
            return rows


def reference_code(texts: List[str]) -> Optional[str]:
    found = [m.group(0) for text in texts for m in CODE.finditer(text)]
    return found[-1] if found else None


def test_low_risk_by_typing(stack: RunningStack) -> None:
    p = Patient(stack)
    assert p.say("hi").texts == [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask")]
    assert p.say("yeah").asked == t("pain_site.ask")
    assert p.say("my lower back").texts == [t("red_flags.intro"), t("rf_saddle_numbness.ask")]
    for answer in ["no", "nope", "n", "not really", "no", "No."]:
        p.say(answer)
    assert p.texts == [t("start_back.intro"), t("sbt_1.ask")]
    for answer in ["disagree", "i don't agree", "nope", "no", "disagree", "no", "not really", "nah"]:
        p.say(answer)
    assert p.asked == t("sbt_9.ask")
    assert p.say("a little").asked == t("pain_now.ask")
    p.say("two out of ten")
    code = reference_code(p.texts)
    assert p.texts == [t("result.low"), t("next_steps.low"), t("result.disclaimer"), t("result.reference_code", reference_code=code)]
    slots = p.slots()
    assert (slots["risk_tool"], slots["risk_score"], slots["risk_group"], slots["language"]) == ("start_back", 0, "low", "en")
    assert (slots["reference_code"], slots["red_flag"], slots["pain_now"], slots["sbt_9"]) == (code, None, 2, "slightly")
    (stored,) = p.stored()
    assert (stored.status, stored.risk_group, stored.reference_code) == ("complete", "low", code)
    assert stored.answer_codes["pain_now"] == "2" and stored.answer_codes["sbt_1"] == "disagree"
    assert p.say("hello").texts == [t("done.again", reference_code=code)]


def test_high_risk_by_buttons(stack: RunningStack) -> None:
    p = Patient(stack).say("hello")
    p.tap("Yes").tap("Low back")
    for _ in range(BACK_FLAGS):
        p.tap("No")
    for answer in ["Disagree", "Disagree", "Agree", "Disagree", "Agree", "Agree", "Agree", "Agree"]:
        p.tap(answer)
    p.tap("Extremely").tap("9")
    assert p.texts[0] == t("result.high")
    slots = p.slots()
    assert (slots["risk_score"], slots["risk_group"]) == (6, "high")
    (stored,) = p.stored()
    assert (stored.risk_group, stored.risk_subscore, stored.needs_attention) == ("high", 5, True)


def test_a_red_flag_stops_the_questionnaire_with_urgent_advice(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("neck").say("no")
    assert p.asked == t("rf_cord_compression.ask")
    p.say("yes, my hands are clumsy")
    code = reference_code(p.texts)
    assert p.texts == [t("red_flag.urgent", emergency_number="999 (UK) or 112 (Europe)"), t("red_flag.flagged", reference_code=code)]
    assert p.slots()["red_flag"] == "rf_cord_compression"
    (stored,) = p.stored()
    assert (stored.status, stored.red_flag, stored.needs_attention) == ("red_flag", "rf_cord_compression", True)
    assert "sbt_1" not in stored.answer_codes


def test_why_go_back_unusable_stop_resume_and_start_over(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("low back")
    assert p.say("why do you ask?").texts == [f"{t('why.preface')} {t('rf_saddle_numbness.why')}", t("rf_saddle_numbness.ask")]
    assert p.say("no").asked == t("rf_bladder_bowel.ask")
    assert p.say("go back").texts == [t("go_back.previous"), t("rf_saddle_numbness.ask")]
    assert p.say("banana").texts == [t("hint.boolean"), t("rf_saddle_numbness.ask")]
    assert p.say("no").asked == t("rf_bladder_bowel.ask")
    assert p.say("stop").texts == [t("stop.paused")]
    assert p.say("hello").texts == [t("resume.offer")]
    assert p.tap(t("resume.button")).texts == [t("rf_bladder_bowel.ask")]
    assert p.say("stop").texts == [t("stop.paused")]
    assert p.say("yes").texts == [t("rf_bladder_bowel.ask")]  # a plain yes resumes at once
    assert p.slots()["rf_saddle_numbness"] is False
    assert p.say("start over").texts == [t("start_over.done"), t("pain_site.ask")]
    slots = p.slots()
    assert slots["pain_site"] is None and slots["rf_saddle_numbness"] is None and slots["consent"] is True
    p.say("neck")
    assert [s.status for s in p.stored()] == ["abandoned", "in_progress"]
    assert p.say("go back").texts == [t("go_back.previous"), t("pain_site.ask")]
    assert p.say("go back").texts == [t("go_back.first"), t("pain_site.ask")]


def test_declining_consent_stores_nothing(stack: RunningStack) -> None:
    p = Patient(stack).say("hi")
    assert p.say("no thanks").texts == [t("consent.declined")]
    assert p.stored() == []
    assert p.say("hello").texts == [t("declined.again")]
    assert p.say("start over").asked == t("consent.ask")


def test_kill_and_restart_resumes_every_conversation(stack: RunningStack) -> None:
    back = Patient(stack).say("hi").say("yes").say("low back")
    for _ in range(BACK_FLAGS):
        back.say("no")
    back.say("agree").say("disagree")
    neck = Patient(stack).say("hi").say("yes").say("neck").say("no").say("no")
    assert (back.asked, neck.asked) == (t("sbt_3.ask"), t("rf_neck_vascular.ask"))
    before = {p.sender: p.slots() for p in (back, neck)}

    stack.kill()
    stack.start()

    for p in (back, neck):
        assert p.slots() == before[p.sender]
    assert back.say("agree").asked == t("sbt_4.ask")
    assert neck.say("no").asked == t("rf_trauma.ask")
    for answer in ["agree", "agree", "agree", "agree", "agree", "very much", "8"]:
        back.say(answer)
    assert back.texts[0] == t("result.high")
    (stored,) = back.stored()
    assert stored.answer_codes["sbt_1"] == "agree" and stored.answer_codes["sbt_2"] == "disagree"
    assert stored.risk_score == 8


def test_the_http_api_and_the_action_server_require_their_tokens(stack: RunningStack) -> None:
    status, _ = http("GET", f"{stack.rasa_url}/conversations/anyone/tracker")
    assert status == 401
    status, body = http("POST", f"http://127.0.0.1:{stack.action_port}/webhook", {"next_action": "action_fallback"})
    assert status == 401 and "token" in body["error"]


def test_the_web_channel_pseudonymises_before_rasa(stack: RunningStack) -> None:
    conversation = f"web{secrets.token_hex(8)}"
    status, body = http("POST", f"{stack.web_url}/api/chat", {"conversation_id": conversation, "message": "hi", "language": "en-US"})
    assert status == 200 and body["messages"][-1]["text"] == t("consent.ask")
    pseudonym = pseudonymise(f"web:{conversation}", stack.config.pseudonym_key)
    assert stack.tracker(pseudonym)["slots"]["requested_slot"] == "consent"
    status, body = http("GET", f"{stack.rasa_url}/conversations/{conversation}/tracker?token={stack.config.rasa_auth_token}")
    assert body["events"] == [] or all(e.get("event") != "user" for e in body["events"])


def test_the_channel_hint_sets_the_language(stack: RunningStack) -> None:
    p = Patient(stack, language_hint="de-AT").say("hallo")
    assert p.texts == [t("welcome.greeting", "de"), t("welcome.privacy", "de"), t("consent.ask", "de")]
    assert p.say("ja").asked == t("pain_site.ask", "de")
    assert p.slots()["language"] == "de"


def test_no_hint_and_unclear_text_gets_the_language_buttons(stack: RunningStack) -> None:
    p = Patient(stack, language_hint=None).say("ok")
    assert translate("pl", "language.choose") in p.texts[-1]
    titles = [b["title"] for b in p.reply[-1]["buttons"]]
    assert titles[:3] == ["English", "Deutsch", "Español"] and len(titles) == 12
    assert p.tap("Polski").texts == [t("welcome.greeting", "pl"), t("welcome.privacy", "pl"), t("consent.ask", "pl")]
    assert p.say("tak").asked == t("pain_site.ask", "pl")


def test_no_hint_but_clear_text_is_detected(stack: RunningStack) -> None:
    p = Patient(stack, language_hint=None).say("hola, me duele la espalda")
    assert p.texts[-1] == t("consent.ask", "es")


def test_switching_language_mid_questionnaire_keeps_every_answer(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("low back").say("no").say("no")
    assert p.asked == t("rf_leg_weakness.ask")
    assert p.say("auf Deutsch bitte").texts[-1] == t("rf_leg_weakness.ask", "de")
    assert p.say("nein").asked == t("rf_trauma.ask", "de")
    slots = p.slots()
    assert (slots["language"], slots["rf_saddle_numbness"], slots["rf_bladder_bowel"], slots["rf_leg_weakness"]) == (
        "de", False, False, False)
    p.say("/language")  # the Telegram command, or typed: the buttons, then the same item again
    assert p.texts[0].startswith(t("language.choose", "en")) and p.asked == t("rf_trauma.ask", "de")
    assert p.tap("Français").texts[-1] == t("rf_trauma.ask", "fr")


def test_urgent_advice_names_the_countrys_emergency_number(stack: RunningStack) -> None:
    p = Patient(stack, language_hint="nb").say("hei").say("ja").say("nakke").say("nei")
    p.say("ja")
    assert p.texts[0] == t("red_flag.urgent", "nb", emergency_number="113")
