"""Whole conversations through the real Rasa server and action server, over HTTP."""
from __future__ import annotations

import io
import os
import re
import secrets
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bot.i18n.catalog import translate
from bot.privacy.pseudonym import pseudonymise
from bot.questionnaires.flow import TriageFlow
from bot.rasa_client import auth_headers
from bot.store.db import session_scope
from bot.store.models import TriageSession
from tests.progress import PROGRESS as PROGRESS_LINE_RE
from tests.summary import change_title, confirm_title, is_summary
from tests.e2e.servers import RunningStack, http

pytestmark = pytest.mark.e2e
CODE = re.compile(r"BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
BACK_FLAGS = 6


def t(msgid: str, language: str = "en", **values: Any) -> str:
    return translate(language, msgid, **values)


# "Question 3 of 19" in any of the twelve languages, as the first line of a question's message.
PROGRESS = PROGRESS_LINE_RE


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

    def confirm(self, language: str = "en") -> "Patient":
        """At the summary of answers, tap "That's right" (the result follows)."""
        assert is_summary(self.asked, language), self.asked
        return self.tap(confirm_title(language))

    @property
    def texts(self) -> List[str]:
        """The texts of the last reply, without the "Question k of n" line (see ``progress``)."""
        return [PROGRESS.sub("", m.get("text", "")) for m in self.reply]

    @property
    def progress(self) -> List[str]:
        """The "Question k of n" lines of the last reply."""
        return [found.group(0).strip() for m in self.reply if (found := PROGRESS.match(m.get("text", "")))]

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
                row.plan_options = row.care_plan.option_ids.split() if row.care_plan else None
                row.document_kinds = {d.kind for d in row.documents}
            return rows


def fetch(url: str) -> Tuple[int, str, bytes]:
    """A file link as a patient's device opens it."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get_content_type(), response.read()


def care_plan_pdf(p: Patient) -> bytes:
    (link,) = [m for m in p.reply if "custom" in m and m["custom"]["title"].endswith(".pdf")]
    status, content_type, body = fetch(link["custom"]["document"])
    assert (status, content_type) == (200, "application/pdf") and body.startswith(b"%PDF")
    return body


def care_plan_page(p: Patient) -> str:
    """The plan's web page for phones, linked next to the PDF."""
    (link,) = [m for m in p.reply if "custom" in m and m["custom"]["title"].endswith(".html")]
    with urllib.request.urlopen(link["custom"]["document"], timeout=30) as response:
        assert response.status == 200 and response.headers.get_content_type() == "text/html"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        return response.read().decode("utf-8")


def reference_code(texts: List[str]) -> Optional[str]:
    found = [m.group(0) for text in texts for m in CODE.finditer(text)]
    return found[-1] if found else None


def test_low_risk_by_typing(stack: RunningStack) -> None:
    p = Patient(stack)
    assert p.say("hi").texts == [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask")]
    assert p.say("yeah").texts == [t("research_consent.ask")]
    assert p.say("no").texts == [t("pain_site.ask")]  # no to research: the triage goes on as before
    assert p.say("my lower back").texts == [t("red_flags.intro"), t("rf_saddle_numbness.ask")]
    for answer in ["no", "nope", "n", "not really", "no", "No."]:
        p.say(answer)
    assert p.asked == t("episode_duration.ask")
    assert p.say("about two weeks").texts == [t("start_back.intro"), t("sbt_1.ask")]
    for answer in ["disagree", "i don't agree", "nope", "no", "disagree", "no", "not really", "nah"]:
        p.say(answer)
    assert p.asked == t("sbt_9.ask")
    assert p.say("a little").asked == t("pain_now.ask")
    assert p.say("two out of ten").asked == t("outlook_offer.ask")
    p.say("no thanks").confirm()
    code = reference_code(p.texts)
    assert p.texts[:4] == [t("result.low"), t("next_steps.low"), t("result.disclaimer"), t("result.reference_code", reference_code=code)]
    # one message per section, then the PDF's and the web page's line and link, then "may we check in later?"
    plan = "\n\n".join(p.texts[4:-5])
    assert p.texts[-5] == t("careplan.pdf") and p.reply[-4]["custom"]["title"] == f"care-plan-{code}.pdf"
    assert p.texts[-3] == t("careplan.html") and p.reply[-2]["custom"]["title"] == f"care-plan-{code}.html"
    assert p.texts[-1] == t("followup.offer.ask")
    assert plan.startswith(t("careplan.title").upper()) and code in plan and t("treatment.reassurance.name") in plan
    assert t("treatment.exercise_therapy.name") not in plan  # low risk: advice, reassurance, self-management
    assert not any("image" in m for m in p.reply)
    assert len(care_plan_pdf(p)) < 500_000
    slots = p.slots()
    assert (slots["risk_tool"], slots["risk_score"], slots["risk_group"], slots["language"]) == ("start_back", 0, "low", "en")
    assert (slots["reference_code"], slots["red_flag"], slots["pain_now"], slots["sbt_9"]) == (code, None, 2, "slightly")
    assert slots["research_consent"] is False
    (stored,) = p.stored()
    assert (stored.status, stored.risk_group, stored.reference_code) == ("complete", "low", code)
    assert (stored.research_consent, stored.answer_codes["research_consent"]) == (False, "false")
    assert stored.answer_codes["pain_now"] == "2" and stored.answer_codes["sbt_1"] == "disagree"
    assert stored.answer_codes["episode_duration"] == "under_1_month" and "reassurance" in stored.plan_options
    # typed, not tapped: the answer to "may BackTalk check in later?" is read as that answer
    assert p.say("no thanks").texts == [t("followup.declined")]
    assert p.say("hello").texts == [t("done.again", reference_code=code)]


def test_high_risk_by_buttons(stack: RunningStack) -> None:
    p = Patient(stack).say("hello")
    assert p.tap("Yes").texts == [t("research_consent.ask")]
    assert [b["title"] for b in p.reply[-1]["buttons"]] == ["Yes", "No"]
    p.tap("Yes").tap("Low back")
    for _ in range(BACK_FLAGS):
        p.tap("No")
    p.tap("1 to 3 months")
    for answer in ["Disagree", "Disagree", "Agree", "Disagree", "Agree", "Agree", "Agree", "Agree"]:
        p.tap(answer)
    p.tap("Extremely").tap("9")
    assert p.asked == t("outlook_offer.ask")
    p.tap("Yes").tap("40 to 49").tap("Female").tap("Once or twice")
    assert p.texts == [t("function.intro"), t("fn_1.ask")]
    for answer in ["Yes", "Yes", "No", "Yes", "No", "No"]:
        p.tap(answer)
    p.tap("I am not sure").tap("Yes, I am working")
    assert p.asked == t("days_off.ask") and not p.reply[-1].get("buttons")
    assert p.say("3 days").asked == t("work_expectation.ask")
    p.tap("Not sure").confirm()
    assert p.texts[0] == t("result.high")
    slots = p.slots()
    assert (slots["risk_score"], slots["risk_group"]) == (6, "high")
    assert (slots["fn_3"], slots["days_off"], slots["recovery_expectation"]) == (False, 3, "unsure")
    # The outlook: its words (the graph's text alternative), then the graph; Rasa's REST channel sends
    # them as two messages, which bot.web joins again for the widget's alt text.
    (at,) = [i for i, m in enumerate(p.reply) if "image" in m]
    outlook = {"text": p.reply[at - 1]["text"], "image": p.reply[at]["image"]}
    assert outlook["text"].startswith(t("prediction.text.intro")) and t("prediction.illustrative") in outlook["text"]
    status, content_type, png = fetch(outlook["image"])
    assert (status, content_type) == (200, "image/png") and png.startswith(b"\x89PNG")
    plan = "\n\n".join(p.texts)
    assert t("treatment.psychological_care.name") in plan and t("careplan.heading.outlook").upper() in plan
    care_plan_pdf(p)
    (stored,) = p.stored()
    assert (stored.risk_group, stored.risk_subscore, stored.needs_attention) == ("high", 5, True)
    assert (stored.research_consent, stored.answer_codes["research_consent"]) == (True, "true")
    assert stored.document_kinds == {"outlook_png", "care_plan_pdf", "care_plan_html"}


def test_neck_pain_is_stratified_with_the_msk_rules_and_gets_neck_options(stack: RunningStack) -> None:
    p = Patient(stack, language_hint="de").say("hallo").say("ja")
    assert p.texts == [t("research_consent.ask", "de")]
    p.say("ja, gerne").say("Nacken")
    for _ in range(6):  # the neck path's red flags
        p.say("nein")
    assert p.asked == t("episode_duration.ask", "de")
    assert p.tap(t("episode_duration.over_3_years", "de")).texts == [t("start_msk.intro", "de"), t("msk_1.ask", "de")]
    p.say("8")
    for answer in ["ja", "nein", "ja", "nein", "ja", "nein", "nein", "nein"]:  # msk_2 ... msk_9 (msk_10 is not asked)
        p.say(answer)
    assert p.asked == t("pain_now.ask", "de")
    p.say("7").confirm("de")  # neck patients are not offered the outlook: the model is built on the STarT Back items
    assert p.texts[2] == t("result.disclaimer_msk", "de")
    slots = p.slots()
    # msk_1 8 -> 2, three yes 3, msk_10 (over 3 years) 1: 6 of 12 -> medium (5-8)
    assert (slots["risk_tool"], slots["risk_score"], slots["risk_group"], slots["msk_10"]) == ("start_msk", 6, "medium", True)
    plan = "\n\n".join(p.texts)
    assert t("treatment.topical_neck.name", "de") in plan and t("treatment.medication_back.name", "de") != ""
    assert t("treatment.exercise_therapy.name", "de") in plan and t("treatment.psychological_care.name", "de") not in plan
    care_plan_pdf(p)
    (stored,) = p.stored()
    assert (stored.risk_tool, stored.risk_score, stored.answer_codes["msk_10"]) == ("start_msk", 6, "true")
    assert stored.research_consent is True


def test_neck_patients_hear_plainly_that_there_is_no_neck_outlook_yet(stack: RunningStack) -> None:
    """Where a back patient is offered the outlook, a neck patient is told in their language why
    there is none (no validated basis yet), and the plan on paper and on the phone says the same."""
    p = Patient(stack, language_hint="pl").say("cześć").say("tak")
    assert p.texts == [t("research_consent.ask", "pl")]
    p.tap(t("option.no", "pl")).say("szyja")
    for _ in range(6):  # the neck path's red flags
        p.say("nie")
    assert p.asked == t("episode_duration.ask", "pl")
    p.tap(t("episode_duration.1_to_3_months", "pl"))
    p.say("8")  # msk_1 8 -> 2 points, three yes -> 3, under 6 months -> 0: 5 of 12, medium
    for answer in ["tak", "tak", "nie", "nie", "tak", "nie", "nie", "nie"]:  # msk_2 ... msk_9
        p.say(answer)
    assert p.asked == t("pain_now.ask", "pl")
    assert t("outlook_offer.ask", "pl") not in p.say("6").texts  # no outlook question follows on the neck path ...
    p.confirm("pl")
    statement = t("prediction.neck_not_available", "pl")
    assert p.texts[0] == t("result.medium", "pl") and t("outlook_offer.ask", "pl") not in p.texts
    code = reference_code(p.texts)
    # ... instead, right after the risk result and before the plan: the plain statement, and no graph.
    assert p.texts[p.texts.index(t("result.reference_code", "pl", reference_code=code)) + 1] == statement
    assert not any("image" in m for m in p.reply)
    assert f"{t('careplan.heading.outlook', 'pl').upper()}\n{statement}" in p.texts
    assert statement in care_plan_page(p)
    pdf = PdfReader(io.BytesIO(care_plan_pdf(p)))
    assert "BackTalk nie może jeszcze" in re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    (stored,) = p.stored()
    assert (stored.risk_tool, stored.risk_group, stored.research_consent) == ("start_msk", "medium", False)
    assert stored.document_kinds == {"care_plan_pdf", "care_plan_html"}


def test_a_red_flag_stops_the_questionnaire_with_urgent_advice(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("yes").say("neck").say("no")
    assert p.asked == t("rf_cord_compression.ask")
    p.say("yes, my hands are clumsy")
    code = reference_code(p.texts)
    assert p.texts == [t("red_flag.urgent", emergency_number="999 (UK) or 112 (Europe)"), t("red_flag.flagged", reference_code=code)]
    assert p.slots()["red_flag"] == "rf_cord_compression"
    (stored,) = p.stored()
    assert (stored.status, stored.red_flag, stored.needs_attention) == ("red_flag", "rf_cord_compression", True)
    assert stored.research_consent is True
    assert "sbt_1" not in stored.answer_codes


def test_why_go_back_unusable_stop_resume_and_start_over(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes")
    assert p.asked == t("research_consent.ask")
    assert p.say("why do you ask?").texts == [f"{t('why.preface')} {t('research_consent.why')}", t("research_consent.ask")]
    # Research consent is a gate like care consent, not an answer "go back" revisits.
    assert p.say("go back").texts == [t("go_back.first"), t("research_consent.ask")]
    assert p.say("yes").texts == [t("pain_site.ask")]
    p.say("low back")
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
    # Start over asks first (pain site and one flag answered) and keeps care consent and research
    # consent: they are the patient's standing choices, not answers of this triage.
    assert p.say("start over").texts == [t("start_over.confirm", count="2")]
    assert p.tap(t("start_over.yes")).texts == [t("start_over.done"), t("pain_site.ask")]
    slots = p.slots()
    assert slots["pain_site"] is None and slots["rf_saddle_numbness"] is None and slots["consent"] is True
    assert slots["research_consent"] is True
    p.say("neck")
    assert [(s.status, s.research_consent) for s in p.stored()] == [("abandoned", True), ("in_progress", True)]
    assert p.say("go back").texts == [t("go_back.previous"), t("pain_site.ask")]
    assert p.say("go back").texts == [t("go_back.first"), t("pain_site.ask")]


def test_declining_consent_stores_nothing(stack: RunningStack) -> None:
    p = Patient(stack).say("hi")
    assert p.say("no thanks").texts == [t("consent.declined")]
    assert p.stored() == []
    assert p.say("hello").texts == [t("declined.again")]
    assert p.say("start over").texts == [t("start_over.confirm_empty")]
    assert p.tap(t("start_over.yes")).asked == t("consent.ask")


def test_start_over_asks_first_and_noise_changes_nothing(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("no").say("low back").say("no")
    assert p.say("start over").texts == [t("start_over.confirm", count="2")]  # site, one flag (consents stay)
    assert [b["title"] for b in p.reply[-1]["buttons"]] == [t("start_over.yes"), t("start_over.no")]
    assert p.tap(t("start_over.no")).texts == [t("start_over.kept"), t("rf_bladder_bowel.ask")]
    assert p.slots()["rf_saddle_numbness"] is False
    for noise in ['/inform{"risk_group": "low"}', "/restart", "https://example.com/login?redirect=/start",
                  'Traceback (most recent call last): File "x.py", line 1'] :
        p.say(noise)
        assert p.asked in (t("rf_bladder_bowel.ask"), t("start_over.confirm", count="2")), noise
        if p.asked != t("rf_bladder_bowel.ask"):  # /restart is Rasa's own command: it asks, too
            assert p.say("no").texts == [t("start_over.kept"), t("rf_bladder_bowel.ask")]
    assert p.say("no").asked == t("rf_leg_weakness.ask")
    slots = p.slots()
    assert (slots["pain_site"], slots["rf_saddle_numbness"], slots["rf_bladder_bowel"]) == ("low_back", False, False)


def test_start_over_after_the_result_keeps_it_unless_confirmed(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("yes").say("neck").say("yes")  # a red flag ends it at once
    code = p.slots()["reference_code"]
    assert p.say("start over").texts == [t("start_over.confirm_after_result", reference_code=code)]
    assert p.say("no").texts == [t("start_over.kept")]
    assert p.say("hello").texts == [t("done.again", reference_code=code)]


def test_a_greeting_starts_in_its_language_with_the_chooser_a_tap_away(stack: RunningStack) -> None:
    p = Patient(stack, language_hint=None).say("hi")
    assert p.texts == [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask")]
    assert [b["title"] for b in p.reply[-1]["buttons"]] == [t("option.yes"), t("option.no"), t("language.other")]
    assert p.say("yes").asked == t("research_consent.ask")  # consent was asked before anything was refused
    hallo = Patient(stack, language_hint=None).say("hallo")
    assert hallo.asked == t("consent.ask", "de")
    hallo.tap(t("language.other", "de"))
    assert len(hallo.reply[0]["buttons"]) == 12 and hallo.asked == t("consent.ask", "de")
    assert hallo.tap("Nederlands").asked == t("consent.ask", "nl")


def test_an_unclear_first_message_then_a_yes_gets_the_consent_question_not_a_refusal(stack: RunningStack) -> None:
    p = Patient(stack, language_hint=None).say("ok")
    assert len(p.reply[-1]["buttons"]) == 12
    p.say("yes please")
    assert p.asked == t("consent.ask") and t("hint.boolean") not in p.texts
    assert p.say("yes").asked == t("research_consent.ask")


def test_each_question_says_how_far_along_the_patient_is(stack: RunningStack) -> None:
    flow = TriageFlow()
    back = len(flow.required_items({"consent": True, "research_consent": False, "pain_site": "low_back"}))
    neck = flow.required_items({"consent": True, "research_consent": False, "pain_site": "neck"})
    p = Patient(stack).say("hi")
    assert p.progress == [f"Question 1 of {back}"]
    assert p.say("yes").progress == [f"Question 2 of {back}"]
    assert p.say("no").progress == [f"Question 3 of {back}"]
    first_neck_flag = [i.id for i in neck].index("rf_bladder_bowel") + 1
    assert p.say("neck").progress == [f"Question {first_neck_flag} of {len(neck)}"]  # the neck path is shorter
    de = Patient(stack, language_hint="de").say("hallo")
    assert de.progress == [f"Frage 1 von {back}"]


def test_kill_and_restart_resumes_every_conversation(stack: RunningStack) -> None:
    back = Patient(stack).say("hi").say("yes").say("yes").say("low back")
    for _ in range(BACK_FLAGS):
        back.say("no")
    back.say("1 to 3 months").say("agree").say("disagree")
    neck = Patient(stack).say("hi").say("yes").say("nope").say("neck").say("no").say("no")
    assert (back.asked, neck.asked) == (t("sbt_3.ask"), t("rf_neck_vascular.ask"))
    before = {p.sender: p.slots() for p in (back, neck)}

    stack.kill()
    stack.start()

    for p in (back, neck):
        assert p.slots() == before[p.sender]
    assert back.say("agree").asked == t("sbt_4.ask")
    assert neck.say("no").asked == t("rf_trauma.ask")
    for answer in ["agree", "agree", "agree", "agree", "agree", "very much", "8", "no"]:
        back.say(answer)
    assert back.confirm().texts[0] == t("result.high")
    (stored,) = back.stored()
    assert stored.answer_codes["sbt_1"] == "agree" and stored.answer_codes["sbt_2"] == "disagree"
    assert stored.risk_score == 8 and stored.research_consent is True
    assert [s.research_consent for s in neck.stored()] == [False]


def test_the_http_api_and_the_action_server_require_their_tokens(stack: RunningStack) -> None:
    status, _ = http("GET", f"{stack.rasa_url}/conversations/anyone/tracker")
    assert status == 401
    status, body = http("POST", f"http://127.0.0.1:{stack.action_port}/webhook", {"next_action": "action_fallback"})
    assert status == 401 and "token" in body["error"]


def test_the_web_channel_pseudonymises_before_rasa(stack: RunningStack) -> None:
    conversation = f"web{secrets.token_hex(8)}"
    status, body = http("POST", f"{stack.web_url}/api/chat", {"conversation_id": conversation, "message": "hi", "language": "en-US"})
    assert status == 200 and PROGRESS.sub("", body["messages"][-1]["text"]) == t("consent.ask")
    pseudonym = pseudonymise(f"web:{conversation}", stack.config.pseudonym_key)
    assert stack.tracker(pseudonym)["slots"]["requested_slot"] == "consent"
    status, body = http("GET", f"{stack.rasa_url}/conversations/{conversation}/tracker",
                        headers=auth_headers(stack.config.rasa_auth_token))
    assert body["events"] == [] or all(e.get("event") != "user" for e in body["events"])


def test_the_channel_hint_sets_the_language(stack: RunningStack) -> None:
    p = Patient(stack, language_hint="de-AT").say("hallo")
    assert p.texts == [t("welcome.greeting", "de"), t("welcome.privacy", "de"), t("consent.ask", "de")]
    assert p.say("ja").asked == t("research_consent.ask", "de")
    assert p.say("nein").asked == t("pain_site.ask", "de")
    assert p.slots()["language"] == "de"


def test_no_hint_and_unclear_text_gets_the_language_buttons(stack: RunningStack) -> None:
    p = Patient(stack, language_hint=None).say("ok")
    assert translate("pl", "language.choose") in p.texts[-1]
    titles = [b["title"] for b in p.reply[-1]["buttons"]]
    assert titles[:3] == ["English", "Deutsch", "Español"] and len(titles) == 12
    assert p.tap("Polski").texts == [t("welcome.greeting", "pl"), t("welcome.privacy", "pl"), t("consent.ask", "pl")]
    assert p.say("tak").asked == t("research_consent.ask", "pl")
    assert p.say("tak").asked == t("pain_site.ask", "pl")
    assert p.slots()["research_consent"] is True


def test_no_hint_but_clear_text_is_detected(stack: RunningStack) -> None:
    p = Patient(stack, language_hint=None).say("hola, me duele la espalda")
    assert p.texts[-1] == t("consent.ask", "es")


def test_switching_language_mid_questionnaire_keeps_every_answer(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("no").say("low back").say("no").say("no")
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
    p = Patient(stack, language_hint="nb").say("hei").say("ja").say("nei takk").say("nakke").say("nei")
    p.say("ja")
    assert p.texts[0] == t("red_flag.urgent", "nb", emergency_number="113")


def test_a_duration_on_a_border_gets_a_short_question_with_its_options(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("no").say("low back")
    for _ in range(BACK_FLAGS):
        p.say("no")
    assert p.asked == t("episode_duration.ask")
    assert p.say("3 months").texts == [t("clarify.which")]  # no refusal, and not the whole question again
    assert [b["title"] for b in p.reply[-1]["buttons"]] == [t("episode_duration.1_to_3_months"), t("episode_duration.3_to_6_months")]
    assert p.tap(t("episode_duration.3_to_6_months")).texts[-1] == t("sbt_1.ask")
    assert p.slots()["episode_duration"] == "3_to_6_months"


def summary_lines(text: str) -> List[str]:
    return text.split("\n")[1:]


def test_the_summary_lists_the_answers_and_change_something_comes_back_to_it(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").tap("Yes").tap("No").tap("Low back")
    for _ in range(BACK_FLAGS):
        p.tap("No")
    p.tap("1 to 3 months")
    for answer in ["Agree", "Disagree", "Disagree", "Disagree", "Disagree", "Disagree", "Disagree", "Disagree"]:
        p.tap(answer)
    p.tap("Slightly").tap("3").tap("No")
    # One message, no result yet: a line per answer (the six "no" red flags as one), two buttons.
    assert len(p.reply) == 1 and is_summary(p.asked)
    lines = summary_lines(p.asked)
    assert lines[:3] == [t("summary.line", item=t("pain_site.short"), answer=t("pain_site.low_back")),
                         t("summary.no_warning_signs"),
                         t("summary.line", item=t("episode_duration.short"), answer=t("episode_duration.1_to_3_months"))]
    # pain site, warning signs, duration, the eight statements as one line per answer, STarT Back's
    # bothersomeness, pain now, the outlook's "no"
    disagreed = [t(f"sbt_{n}.short") for n in range(2, 9)]
    assert lines[3:5] == [t("summary.agreed", items=t("sbt_1.short")), t("summary.disagreed", items="; ".join(disagreed))]
    assert len(lines) == 8
    assert [b["title"] for b in p.reply[-1]["buttons"]] == [confirm_title(), change_title()]
    assert p.slots()["risk_group"] is None
    # "Change something": every answer the patient gave, by its short label.
    p.tap(change_title())
    assert p.texts == [t("change.which")]
    titles = [b["title"] for b in p.reply[-1]["buttons"]]
    path = TriageFlow().required_items({"consent": True, "research_consent": False, "pain_site": "low_back",
                                        "outlook_offer": False})
    assert titles[0] == t("pain_site.short") and t("sbt_3.short") in titles
    assert len(titles) == len(path) - 2  # not the two consents
    assert p.tap(t("sbt_3.short")).asked == t("sbt_3.ask")
    # After the changed answer, straight back to the summary: every other answer kept.
    p.tap("Agree")
    assert is_summary(p.asked) and t("summary.agreed", items=f"{t('sbt_1.short')}; {t('sbt_3.short')}") in p.asked
    assert summary_lines(p.asked)[:3] == lines[:3]
    # At the summary, "go back" is the last question; a typed "no" offers the answers to change,
    # and a typed yes is "That's right".
    assert p.say("go back").texts == [t("go_back.previous"), t("outlook_offer.ask")]
    assert is_summary(p.tap("No").asked)
    assert p.say("no").texts == [t("change.which")]
    assert p.say("yes").texts[0] == t("result.low")
    (stored,) = p.stored()
    assert stored.answer_codes["sbt_3"] == "agree" and stored.answer_codes["sbt_1"] == "agree"


def test_a_typed_change_goes_to_that_question_and_back_to_where_the_patient_was(stack: RunningStack) -> None:
    p = Patient(stack).say("hi").say("yes").say("yes").say("low back")
    for _ in range(BACK_FLAGS):
        p.say("no")
    p.say("1 to 3 months").say("agree").say("agree")
    assert p.asked == t("sbt_3.ask")
    # Mid-questionnaire: the named question, then on to the question that was open.
    assert p.say("go back to the question about my legs").asked == t("sbt_1.ask")
    assert p.say("disagree").asked == t("sbt_3.ask")
    assert (p.slots()["sbt_1"], p.slots()["sbt_2"]) == ("disagree", "agree")
    # A question still to come is not skipped to.
    assert p.say("go back to the pain question").texts == [t("change.not_yet"), t("sbt_3.ask")]
    # A new pain site changes the path: only the answers no longer on it go, and the patient is told.
    assert p.say("i want to change my answer about my neck").asked == t("pain_site.ask")
    p.tap("Neck")
    dropped = [t(f"{i}.short") for i in ("rf_saddle_numbness", "rf_leg_weakness", "sbt_1", "sbt_2")]
    assert p.texts == [t("change.dropped", items=", ".join(dropped)), t("rf_cord_compression.ask")]
    slots = p.slots()
    assert slots["sbt_1"] is None and slots["rf_saddle_numbness"] is None
    assert (slots["rf_bladder_bowel"], slots["episode_duration"]) == (False, "1_to_3_months")
    (stored,) = p.stored()
    assert "sbt_1" not in stored.answer_codes and stored.answer_codes["rf_bladder_bowel"] == "false"
    assert stored.answer_codes["pain_site"] == "neck"


TRANSCRIPT = Path(__file__).resolve().parents[1] / "snapshots" / "conversation" / "en.txt"
TRANSCRIPT_SCRIPT = ["hi", "yes", "no", "my lower back", "no", "nope", "no", "not really", "no", "No.", "3 months",
                     '/answer{"code":"3_to_6_months"}', "start over", "no, keep them", "agree", "disagree",
                     "that's true", "not really", "disagree", "no", "disagree", "nah", "quite a lot",
                     "7 out of 10", "no thanks", "go back to the pain question", "6", "that's right"]


PORT = re.compile(r"127\.0\.0\.1:\d+")


def transcript(turns: List[Tuple[str, List[Dict[str, Any]]]]) -> str:
    """A readable transcript: what the patient sent, then each reply with its buttons; the
    reference code, file links and the server's port (in guide links), which differ on every run, are masked."""
    lines: List[str] = []
    for said, reply in turns:
        lines.append(f"patient: {said}")
        for message in reply:
            text = PORT.sub("127.0.0.1:PORT", CODE.sub("BT-XXXX-XXXX", message.get("text") or ""))
            if "custom" in message:
                text = f"[document: {CODE.sub('BT-XXXX-XXXX', str(message['custom'].get('title')))}]"
            lines.append("bot:     " + text.replace("\n", "\n         "))
            if message.get("buttons"):
                lines.append("         " + " ".join(f"[{b['title']}]" for b in message["buttons"]))
        lines.append("")
    return "\n".join(lines)


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_the_english_conversation_reads_as_its_reviewed_transcript(stack: RunningStack) -> None:
    """tests/snapshots/conversation/en.txt: a whole typed triage with a clarifying question and a
    start over that is called off. BACKTALK_UPDATE_SNAPSHOTS=1 rewrites it (review the diff)."""
    p = Patient(stack)
    turns = [(said, p.say(said).reply) for said in TRANSCRIPT_SCRIPT]
    written = transcript(turns)
    if os.environ.get("BACKTALK_UPDATE_SNAPSHOTS") == "1":
        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        TRANSCRIPT.write_text(written, encoding="utf-8")
    assert written == TRANSCRIPT.read_text(encoding="utf-8")


def test_identifiers_typed_into_the_chat_never_leave_in_a_research_export(stack: RunningStack, tmp_path: Path) -> None:
    """Through the real channel (bot.web → Rasa → actions): a patient who allowed research use types
    a name, a phone number, an e-mail, an address and a date into free-text answers; the export (the
    command a researcher's download runs) is scanned whole for every one of them."""
    from bot.privacy.transcripts import TranscriptFilter, export_transcripts

    planted = ["Margaret Whitfield", "07700 900461", "m.whitfield@example.org", "14 Larch Avenue", "NE3 4RT",
               "12 March 1958"]
    conversation = f"web{secrets.token_hex(8)}"

    def chat(message: str) -> List[Dict[str, Any]]:
        status, body = http("POST", f"{stack.web_url}/api/chat",
                            {"conversation_id": conversation, "message": message, "language": "en-GB"})
        assert status == 200, body
        return body["messages"]

    chat("hi, I'm Margaret Whitfield")
    chat("yes")
    chat("yes")  # research use
    chat("my lower back. you can call me on 07700 900461 or write to m.whitfield@example.org")
    chat("no, and I live at 14 Larch Avenue, NE3 4RT, born 12 March 1958")
    jsonl, csv_file = io.StringIO(), io.StringIO()
    counts = export_transcripts(stack.config.database_url, jsonl, csv_file, TranscriptFilter(), username="e2e")
    exported = jsonl.getvalue() + csv_file.getvalue()
    assert counts.conversations >= 1 and counts.turns >= 10
    assert "[NAME]" in exported and "[PHONE]" in exported and "[EMAIL]" in exported
    leaked = [value for value in planted if value.lower() in exported.lower()]
    assert leaked == []
    pseudonym = pseudonymise(f"web:{conversation}", stack.config.pseudonym_key)
    assert pseudonym not in exported and conversation not in exported
