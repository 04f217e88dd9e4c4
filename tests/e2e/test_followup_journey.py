"""A follow-up journey through the real stack (Rasa, the action server and bot.web on free ports):
a patient finishes a triage over the widget's API and agrees to check-ins; the scheduler, run here
in-process with an injected clock, opens the 2-week check-in; the patient comes back with the web
return code (what `/chat?followup=<code>` sends) in a new browser and answers it through Rasa; later
the 3-month check-in is answered the same way. The record (database, FHIR) and the clinician's
pages (summary course, outcomes page and CSV) reflect both.

Time passing: the action server stamps answers with the real clock, so instead of moving that
clock forward the test moves the patient's triage and check-ins back (as if the triage had been
two weeks, then three months ago) and runs the scheduler with a fixed injected "now". Quiet hours
are switched off in the schedule the scheduler is given (tests/test_followup_scheduler.py covers
them), so the test does not depend on the hour it runs at."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
from sqlalchemy import select

from bot.clinic import accounts
from bot.fhir.bundle import validate_bundle
from bot.followup.schedules import schedule_for
from bot.followup.scheduler import run_once
from bot.i18n.catalog import translate
from bot.store.db import session_scope
from bot.store.models import Clinic, FollowUp, FollowUpAnswer, FollowUpSeries, TriageSession
from tests.clinic_helpers import PASSWORD
from tests.summary import is_summary
from tests.e2e.servers import RunningStack, http

pytestmark = pytest.mark.e2e
CLINIC = "e2e-followup"
CODE = re.compile(r"BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
RETURN_LINK = re.compile(r"/chat\?followup=([A-Za-z0-9_-]+)")
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
MAX_TURNS = 40  # a check-in is about 25 questions; more means the conversation is stuck
# What the patient taps, first match wins: nothing limited, no red flag, working, better, exercise.
PREFERRED = ("no", "false", "disagree", "not_at_all", "working", "better", "exercise_therapy")


@pytest.fixture(scope="module", autouse=True)
def no_burst_limit() -> Iterator[None]:
    """A triage and two check-ins are some 70 messages sent as fast as the stack answers; a patient
    types far slower than the widget's per-conversation limit (tests/e2e/test_widget.py checks the
    limit and the widget's retry). Autouse at module scope, so it is set before `stack` starts."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WEB_RATE_LIMIT_MESSAGES", "1000")
        yield


def t(msgid: str, **values: Any) -> str:
    return translate("en", msgid, **values)


class Browser:
    """One widget conversation over bot.web's /api/chat, as widget.js sends it."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.conversation_id = f"e2e-{secrets.token_hex(8)}"
        self.reply: List[Dict[str, Any]] = []

    def say(self, message: str) -> "Browser":
        status, body = http("POST", f"{self.stack.web_url}/api/chat", {
            "conversation_id": self.conversation_id, "message": message, "language": "en", "clinic": CLINIC})
        assert status == 200, (status, body)
        self.reply = body["messages"]
        return self

    @property
    def texts(self) -> List[str]:
        return [m.get("text", "") for m in self.reply]

    def codes(self) -> List[str]:
        """The answer codes of the last message's buttons (payload ``/intent{"code": ...}``)."""
        buttons = self.reply[-1].get("buttons") or [] if self.reply else []
        return [json.loads(b["payload"][b["payload"].index("{"):])["code"] for b in buttons]

    def tap(self, code: str) -> "Browser":
        (payload,) = [b["payload"] for b in self.reply[-1]["buttons"]
                      if json.loads(b["payload"][b["payload"].index("{"):])["code"] == code]
        return self.say(payload)


def finish_triage(browser: Browser) -> str:
    """A low-risk low-back triage by typing, as in test_conversations; returns the reference code."""
    browser.say("hi").say("yes").say("no").say("my lower back")
    for answer in ["no", "no", "no", "no", "no", "no"]:
        browser.say(answer)
    browser.say("about two weeks")
    for answer in ["disagree"] * 8:
        browser.say(answer)
    browser.say("a little").say("6").say("no thanks")
    assert is_summary(browser.texts[-1])
    browser.say("yes")  # the summary of answers: that's right
    assert browser.texts[-1] == t("followup.offer.ask")
    codes = [m.group(0) for text in browser.texts for m in CODE.finditer(text)]
    assert codes, browser.texts
    return codes[-1]


def answer_check_in(browser: Browser, pain: str, reference_code: str) -> List[str]:
    """Answer every question of the open check-in: pain ``pain``, the rest by PREFERRED taps."""
    said: List[str] = []
    for _ in range(MAX_TURNS):
        said += browser.texts
        if t("followup.done", reference_code=reference_code) in browser.texts:
            return said
        codes = browser.codes()
        if "10" in codes:  # the pain scale
            browser.tap(pain)
        elif codes:
            browser.tap(next(c for c in PREFERRED if c in codes))
        else:
            browser.say("no")
    raise AssertionError(f"the check-in did not end within {MAX_TURNS} turns: {said[-6:]}")


def move_back(database_url: str, triage_id: int, by: timedelta) -> None:
    """Let time pass for this patient: the triage, its answers and its check-ins happened ``by`` earlier."""
    with session_scope(database_url) as db:
        triage = db.get(TriageSession, triage_id)
        for name in ("consent_at", "started_at", "updated_at", "completed_at"):
            if getattr(triage, name) is not None:
                setattr(triage, name, getattr(triage, name) - by)
        for answer in triage.answers:  # in Python: SQLite has no interval arithmetic on timestamps
            answer.answered_at -= by
        for series in db.execute(select(FollowUpSeries).where(FollowUpSeries.session_id == triage_id)).scalars():
            series.created_at -= by
            for followup in series.followups:
                for name in ("due_at", "next_action_at", "sent_at", "started_at", "answered_at"):
                    if getattr(followup, name) is not None:
                        setattr(followup, name, getattr(followup, name) - by)
                for answer in followup.answers:
                    answer.answered_at -= by


def no_quiet_hours(code: Optional[str]):  # type: ignore[no-untyped-def]
    return replace(schedule_for(code), quiet_start=time(0), quiet_end=time(0))


def statuses(database_url: str, triage_id: int) -> Dict[str, str]:
    with session_scope(database_url) as db:
        return dict(db.execute(select(FollowUp.label, FollowUp.status).join(FollowUpSeries)
                               .where(FollowUpSeries.session_id == triage_id)).all())


def clinician(stack: RunningStack) -> requests.Session:
    """A clinician of the clinic, signed in to the running bot.web like a browser."""
    session = requests.Session()
    page = session.get(f"{stack.web_url}/clinic/sign-in", timeout=30)
    token = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
    signed = session.post(f"{stack.web_url}/clinic/sign-in", timeout=30, allow_redirects=False, data={
        "csrf": token, "username": "fiona", "password": PASSWORD, "next": "/clinic/queue"})
    assert signed.status_code == 303, signed.text
    return session


def test_a_web_patient_answers_check_ins_through_rasa_and_the_clinic_sees_them(stack: RunningStack) -> None:
    url = stack.config.database_url
    with session_scope(url) as db:
        if db.execute(select(Clinic).where(Clinic.code == CLINIC)).scalar_one_or_none() is None:
            db.add(Clinic(code=CLINIC, name="E2E follow-up clinic"))
            db.flush()
            accounts.add_user(db, "fiona", PASSWORD, "clinician", CLINIC, "en")

    # 1. The triage over the widget's API, then yes to check-ins: the return link is shown once.
    first = Browser(stack)
    reference_code = finish_triage(first)
    first.tap("yes")
    (agreed,) = first.texts
    link = RETURN_LINK.search(agreed)
    assert link is not None and agreed.startswith(t("followup.agreed.web", link="", date="")[:30]), agreed
    token = link.group(1)
    with session_scope(url) as db:
        triage = db.execute(select(TriageSession).where(TriageSession.reference_code == reference_code)).scalar_one()
        triage_id = triage.id
        assert db.get(Clinic, triage.clinic_id).code == CLINIC
    assert statuses(url, triage_id) == {"2w": "scheduled", "6w": "scheduled", "3m": "scheduled", "6m": "scheduled"}

    # 2. Before it is due the link opens nothing; two weeks later the scheduler opens the 2-week check-in.
    assert Browser(stack).say(f'/followup{{"token": "{token}"}}').texts == [t("followup.nothing_open")]
    now = datetime.now(timezone.utc)
    move_back(url, triage_id, timedelta(days=14, hours=1))
    opened = run_once(url, None, clock=lambda: now, schedules=no_quiet_hours)
    assert opened.opened == 1 and statuses(url, triage_id)["2w"] == "sent"
    assert run_once(url, None, clock=lambda: now, schedules=no_quiet_hours).opened == 0  # exactly once

    # 3. A new browser with the return code (what /chat?followup=<code> sends) answers it through Rasa.
    second = Browser(stack).say(f'/followup{{"token": "{token}"}}')
    assert second.texts[0] == t("followup.welcome") and t("pain_now.ask") in second.texts[-1]
    said = answer_check_in(second, "3", reference_code)
    assert t("sbt_1.ask") in "\n".join(said)  # the 2-week check-in stratifies again
    assert statuses(url, triage_id)["2w"] == "answered"

    # 4. Three months after the triage: the 6-week check-in is long overdue, only the latest is opened.
    move_back(url, triage_id, timedelta(days=77))
    later = run_once(url, None, clock=lambda: now, schedules=no_quiet_hours)
    assert (later.opened, later.skipped) == (1, 1)
    answer_check_in(Browser(stack).say(f'/followup{{"token": "{token}"}}'), "2", reference_code)
    assert statuses(url, triage_id) == {"2w": "answered", "6w": "skipped", "3m": "answered", "6m": "scheduled"}
    with session_scope(url) as db:
        given = dict(db.execute(select(FollowUp.label, FollowUpAnswer.code).join(FollowUpAnswer)
                                .join(FollowUpSeries).where(FollowUpSeries.session_id == triage_id,
                                                            FollowUpAnswer.item_id == "pain_now")).all())
    assert given == {"2w": "3", "3m": "2"}

    # 5. The clinic sees it: the course on the summary, the check-ins in the FHIR record, the
    #    3-month change on the outcomes page (one patient: counted, not shown) and in its CSV.
    session = clinician(stack)
    summary = session.get(f"{stack.web_url}/clinic/triages/{triage_id}", timeout=30)
    assert summary.status_code == 200 and t("clinic.trajectory.title") in summary.text and "<polyline" in summary.text
    record = session.get(f"{stack.web_url}/clinic/triages/{triage_id}/fhir.json", timeout=30).json()
    validate_bundle(record)
    assert sorted(e["resource"]["identifier"]["value"] for e in record["entry"]
                  if e["resource"]["resourceType"] == "QuestionnaireResponse"
                  and e["resource"]["questionnaire"].endswith("followup")) == [f"{reference_code}/2w",
                                                                              f"{reference_code}/3m"]
    outcomes = session.get(f"{stack.web_url}/clinic/outcomes", timeout=30)
    assert outcomes.status_code == 200 and t("treatment.exercise_therapy.name") in outcomes.text
    assert f"n=1: {t('clinic.outcomes.too_few')}" in outcomes.text
    csv = session.get(f"{stack.web_url}/clinic/outcomes.csv", timeout=30).text.splitlines()
    assert "3m,pain,treatment,exercise_therapy,1,,,," in csv and "3m,pain,risk_group,low,1,,,," in csv
