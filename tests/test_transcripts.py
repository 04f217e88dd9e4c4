"""Research transcripts, retention and erasure on SQLite and PostgreSQL: triages made through the real
triage service, Rasa's tracker events written in the SQL tracker store's schema (table ``events``)."""
from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, select, update

from bot.cli import main as cli_main
from bot.config import SECRET_NAMES, Settings
from bot.privacy.pseudonym import pseudonymise
from bot.privacy.retention import run_retention
from bot.privacy.scrub import Scrubbed, Scrubber
from bot.privacy.transcripts import TranscriptFilter, export_transcripts
from bot.questionnaires.flow import TriageFlow
from bot.store.db import engine_for, session_scope
from bot.store.models import AuditEvent, TriageSession, utcnow
from bot.triage.service import TriageService
from tests.conftest import random_sender

FLOW = TriageFlow()
EVENTS = Table("events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String(255)),
               Column("type_name", String(255)), Column("timestamp", Float), Column("intent_name", String(255)),
               Column("action_name", String(255)), Column("data", Text))
NO_FLAGS = {i.id: False for i in FLOW.required_items({"consent": True, "pain_site": "low_back"})
            if i.questionnaire == "red_flags"}
ANSWERS: Dict[str, Any] = {
    "consent": True, "research_consent": True, "pain_site": "low_back", **NO_FLAGS, "episode_duration": "1_to_3_months",
    **{f"sbt_{n}": ("agree" if n in (1, 2, 5, 6, 7) else "disagree") for n in range(1, 9)}, "sbt_9": "very_much",
    "pain_now": 7, "outlook_offer": True, "age_band": "40_to_49",
}
# Identifiers a patient types into free-text answers, in their conversation's language.
PLANTED = {
    "en": ["Anna Pearce", "07700 900123", "anna.pearce@example.com", "17 Jones Light", "E70 6ZA", "12/03/1951"],
    "de": ["Franz Roskoth", "0176 12345678", "franz @ example.org", "Drubinstraße 47", "06690 Groß-Gerau",
           "A123456789"],
    "pl": ["Łukasz Zięcik", "506 690 743", "PESEL 03282615003", "27-097 Wołomin", "12 marca 2023"],
}
SENTENCES = {
    "en": "Hi, my name is Anna Pearce, call me on 07700 900123 or anna.pearce@example.com. I live at 17 Jones Light, "
          "E70 6ZA Phillipsbury, the pain started on 12/03/1951 at work.",
    "de": "Ich heiße Franz Roskoth, Tel. 0176 12345678, Mail franz @ example.org, ich wohne in der Drubinstraße 47, "
          "06690 Groß-Gerau. Meine Versichertennummer ist A123456789.",
    "pl": "Nazywam się Łukasz Zięcik, tel. 506 690 743, PESEL 03282615003, mieszkam w 27-097 Wołomin od 12 marca 2023.",
}


@pytest.fixture
def rasa_url(settings: Settings) -> str:
    EVENTS.create(engine_for(settings.database_url))
    return settings.database_url


def conversation(settings: Settings, language: str, research: Optional[bool], typed: str,
                 answers: Optional[Dict[str, Any]] = None, sender: Optional[str] = None) -> str:
    """A finished triage through the service, and the Rasa events of the conversation: the bot asks,
    the patient types ``typed`` as their first answer, slots are set, the reference code is told."""
    service = TriageService(settings, FLOW)
    sender = sender or random_sender()
    answers = {**(answers or ANSWERS), "research_consent": research}
    for item_id, value in answers.items():
        if value is not None:
            service.accept_answer(sender, FLOW.item(item_id), value, language, channel="rest", pain_site="low_back")
    outcome = service.finish(sender, answers, language)
    pseudonym = service.pseudonym(sender)
    start = time.time() - 600
    rows: List[Dict[str, Any]] = []

    def event(type_name: str, **data: Any) -> None:
        rows.append({"sender_id": sender, "type_name": type_name, "timestamp": start + len(rows) * 2.5,
                     "data": json.dumps({"event": type_name, **data})})

    event("action", name="action_session_start")
    event("user", text="hello", parse_data={"intent": {"name": "answer", "confidence": 0.98}})
    event("slot", name="requested_slot", value="pain_site")
    event("bot", text="Where is your pain?")
    event("user", text=typed, parse_data={"intent": {"name": "answer", "confidence": 0.61}})
    event("slot", name="pain_site", value="low_back")
    event("slot", name="requested_slot", value="age_band")
    event("user", text="47", parse_data={"intent": {"name": "answer", "confidence": 0.9}})
    event("slot", name="age_band", value="40_to_49")
    event("slot", name="reference_code", value=outcome.reference_code)
    event("bot", text=f"Your reference code is {outcome.reference_code}. Your plan: https://clinic.example/files/abc")
    with session_scope(settings.database_url) as db:
        db.execute(EVENTS.insert(), rows)
    return pseudonym


def event_pseudonyms(settings: Settings) -> set:
    """The pseudonyms of the conversations that still have Rasa events (events are keyed by the Rasa
    sender, the pseudonym is its one-way hash)."""
    with session_scope(settings.database_url) as db:
        senders = set(db.execute(select(EVENTS.c.sender_id)).scalars())
    return {pseudonymise(sender, settings.pseudonym_key) for sender in senders}


@pytest.fixture
def cli_env(rasa_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    for name in SECRET_NAMES:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKTALK_DATA_DIR", str(tmp_path / "var"))
    return settings


def test_no_planted_identifier_pseudonym_or_reference_code_leaves_and_only_consented_conversations_do(
        cli_env: Settings, tmp_path: Path) -> None:
    consented = {language: conversation(cli_env, language, True, text) for language, text in SENTENCES.items()}
    declined = conversation(cli_env, "en", False, "my name is Zacharias Quill")
    unanswered = conversation(cli_env, "de", None, "ich heiße Berta Quast")
    with session_scope(cli_env.database_url) as db:
        codes = list(db.execute(select(TriageSession.reference_code)).scalars())
    out = tmp_path / "export"
    assert cli_main(["export", "transcripts", "--out", str(out)]) == 0
    files = sorted(out.iterdir())
    assert [f.suffix for f in files] == [".csv", ".jsonl"]
    everything = "".join(f.read_text(encoding="utf-8") for f in files)
    for value in [v for values in PLANTED.values() for v in values] + codes + list(consented.values()) + [
            declined, unanswered, "Zacharias", "Quast", "clinic.example"]:
        assert value not in everything, value
    lines = [json.loads(line) for line in files[1].read_text(encoding="utf-8").splitlines()]
    # The typed age is checked in the words only: random hex study ids may contain "47".
    assert not any("47" in str(t.get("text")) for line in lines for t in line["turns"])
    assert sorted(t["language"] for t in lines) == sorted(SENTENCES)
    study_ids = {t["study_id"] for t in lines}
    assert len(study_ids) == 3
    english = next(t for t in lines if t["language"] == "en")
    assert english["outcome"] == {"status": "complete", "risk_tool": "start_back", "risk_score": 6,
                                  "risk_group": "high", "red_flag": None, "age_band": "40_to_49"}
    patient = [t for t in english["turns"] if t["speaker"] == "patient"]
    assert [t["text"] for t in patient][0] == "hello"
    assert "[NAME]" in patient[1]["text"] and "[PHONE]" in patient[1]["text"] and "[EMAIL]" in patient[1]["text"]
    assert patient[1]["intent"] == "answer" and patient[1]["confidence"] == 0.61
    assert patient[2]["text"] == "[AGE]"
    assert english["turns"][0]["seconds"] == 0.0 and english["turns"][-1]["seconds"] > 0
    assert {"slot": "age_band", "value": "40_to_49"}.items() <= next(
        t for t in english["turns"] if t.get("slot") == "age_band").items()
    assert not any(t.get("slot") == "reference_code" for t in english["turns"])
    assert "[REFERENCE]" in english["turns"][-1]["text"] and "[URL]" in english["turns"][-1]["text"]
    # A second export gives every conversation a new study id.
    assert cli_main(["export", "transcripts", "--out", str(tmp_path / "again"), "--language", "en", "pl"]) == 0
    again = [json.loads(line) for line in next((tmp_path / "again").glob("*.jsonl")).read_text().splitlines()]
    assert sorted(t["language"] for t in again) == ["en", "pl"] and not study_ids & {t["study_id"] for t in again}
    with session_scope(cli_env.database_url) as db:
        audits = list(db.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
    assert [(a.action, a.username) for a in audits] == [("export_transcripts", "cli")] * 2
    assert json.loads(audits[1].detail) == {"filters": {"languages": ["en", "pl"], "since": None, "until": None,
                                                        "risk_groups": []},
                                            "conversations": 2, "turns": 2 * len(english["turns"]), "withheld": 0}


def test_withdrawal_and_filters_keep_conversations_out(rasa_url: str, settings: Settings) -> None:
    kept = conversation(settings, "en", True, "fine")
    withdrawn = conversation(settings, "en", True, "fine")
    with session_scope(rasa_url) as db:
        db.execute(update(TriageSession).where(TriageSession.pseudonym == withdrawn).values(research_consent=False))

    def exported(filters: TranscriptFilter) -> int:
        out = io.StringIO()
        return export_transcripts(rasa_url, out, None, filters, username="test").conversations

    assert exported(TranscriptFilter()) == 1
    assert exported(TranscriptFilter(risk_groups=("low",))) == 0
    assert exported(TranscriptFilter(risk_groups=("high",), languages=("en",))) == 1
    today = utcnow().date()
    assert exported(TranscriptFilter(since=today, until=today)) == 1
    assert exported(TranscriptFilter(since=today + timedelta(days=1))) == 0
    assert exported(TranscriptFilter(until=today - timedelta(days=1))) == 0
    assert kept != withdrawn


class FailingScrubber(Scrubber):
    def scrub(self, text: str, language: Optional[str]) -> Scrubbed:
        if "explode" in text:
            raise RuntimeError("scrubber failure")
        return super().scrub(text, language)


def test_a_turn_the_scrubber_fails_on_is_withheld_and_counted(rasa_url: str, settings: Settings) -> None:
    conversation(settings, "en", True, "explode: my name is Anna Pearce")
    out = io.StringIO()
    counts = export_transcripts(rasa_url, out, io.StringIO(), TranscriptFilter(), username="test",
                                scrubber=FailingScrubber())
    assert counts.withheld == 1
    assert "Anna" not in out.getvalue() and "explode" not in out.getvalue()
    turns = json.loads(out.getvalue())["turns"]
    assert [t for t in turns if t.get("withheld")] == [{"turn": 3, "seconds": 7.5, "speaker": "patient", "text": None,
                                                        "withheld": True, "intent": "answer", "confidence": 0.61}]


def test_retention_deletes_old_unfinished_and_unconsented_conversations_with_their_events(
        rasa_url: str, settings: Settings) -> None:
    finished = conversation(settings, "en", True, "fine")
    service = TriageService(settings, FLOW)
    abandoned_sender, fresh_sender = random_sender(), random_sender()
    for sender in (abandoned_sender, fresh_sender):
        service.accept_answer(sender, FLOW.item("consent"), True, "en")
    abandoned = service.pseudonym(abandoned_sender)
    long_ago = utcnow() - timedelta(days=31)
    with session_scope(rasa_url) as db:
        db.execute(update(TriageSession).where(TriageSession.pseudonym == abandoned).values(updated_at=long_ago))
        db.execute(EVENTS.insert(), [
            {"sender_id": "p_never_consented_old", "type_name": "user", "timestamp": long_ago.timestamp(), "data": "{}"},
            {"sender_id": "p_never_consented_old", "type_name": "bot", "timestamp": long_ago.timestamp(), "data": "{}"},
            {"sender_id": "p_never_consented_new", "type_name": "user", "timestamp": time.time(), "data": "{}"},
            {"sender_id": abandoned_sender, "type_name": "user", "timestamp": long_ago.timestamp(), "data": "{}"},
        ])
    counts = run_retention(rasa_url)
    assert (counts.triages, counts.events, counts.conversations) == (1, 3, 2)
    with session_scope(rasa_url) as db:
        pseudonyms = set(db.execute(select(TriageSession.pseudonym)).scalars())
    assert event_pseudonyms(settings) == {finished, pseudonymise("p_never_consented_new", settings.pseudonym_key)}
    assert pseudonyms == {finished, service.pseudonym(fresh_sender)}
    # A clinic policy for finished triages: nothing finished is a year old, then everything is.
    assert run_retention(rasa_url, finished_days=365).triages == 0
    later = run_retention(rasa_url, finished_days=365, now=utcnow() + timedelta(days=400))
    assert (later.triages, later.events) == (2, 12)


def test_an_admin_erases_a_conversation_by_reference_code(cli_env: Settings,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    erased = conversation(cli_env, "en", True, "fine")
    other = conversation(cli_env, "en", True, "fine")
    with session_scope(cli_env.database_url) as db:
        code = db.execute(select(TriageSession.reference_code).where(TriageSession.pseudonym == erased)).scalar_one()
    assert cli_main(["erase", code.lower()]) == 0
    assert capsys.readouterr().out.strip() == "erased 1 triage(s), 11 Rasa event(s)"
    assert cli_main(["erase", code]) == 2
    assert event_pseudonyms(cli_env) == {other}
    with session_scope(cli_env.database_url) as db:
        audit = db.execute(select(AuditEvent)).scalar_one()
    assert (audit.action, audit.reference_code, json.loads(audit.detail)) == ("erase", code, {"triages": 1, "events": 11})
    assert cli_main(["retention", "run"]) == 0
    assert "deleted 0 conversation(s): 0 triage(s), 0 Rasa event(s)" in capsys.readouterr().out
