"""Storage through the triage service, on SQLite and on the real PostgreSQL server."""
from __future__ import annotations

import sqlalchemy
from sqlalchemy import inspect, select

from bot.privacy.pseudonym import channel_sender
from bot.config import Settings
from bot.reference_code import is_reference_code
from bot.store.db import engine_for, session_scope
from bot.store.migrate import downgrade, upgrade
from bot.store.models import Answer, TriageSession
from bot.triage.service import TriageService
from tests.conftest import random_sender

LOW_RISK = {
    "consent": True, "pain_site": "low_back",
    **{f: False for f in ("rf_saddle_numbness", "rf_bladder_bowel", "rf_leg_weakness", "rf_trauma", "rf_cancer", "rf_fever")},
    **{f"sbt_{n}": "disagree" for n in range(1, 9)}, "sbt_9": "slightly", "pain_now": 4,
}


def answer_all(service: TriageService, sender: str, answers: dict) -> None:
    flow = service.flow
    for item_id, value in answers.items():
        assert service.accept_answer(sender, flow.item(item_id), value, "en", channel="rest") == value


def test_migrations_create_and_remove_the_schema(database_url: str) -> None:
    upgrade(database_url)
    tables = set(inspect(engine_for(database_url)).get_table_names())
    assert {"triage_sessions", "answers", "alembic_version"} <= tables
    downgrade(database_url, "base")
    assert not {"triage_sessions", "answers"} & set(inspect(engine_for(database_url)).get_table_names())
    upgrade(database_url)


def test_a_completed_triage_is_stored_under_a_pseudonym(settings: Settings) -> None:
    service = TriageService(settings)
    sender = random_sender()
    answer_all(service, sender, LOW_RISK)
    outcome = service.finish(sender, LOW_RISK, "en")
    assert outcome.kind == "risk" and outcome.risk_group == "low" and outcome.risk_score == 0
    assert is_reference_code(outcome.reference_code)
    with session_scope(settings.database_url) as db:
        triage = db.execute(select(TriageSession)).scalar_one()
        assert triage.pseudonym == service.pseudonym(sender) != sender
        assert (triage.status, triage.risk_tool, triage.risk_group, triage.risk_score, triage.risk_subscore) == (
            "complete", "start_back", "low", 0, 0)
        assert triage.reference_code == outcome.reference_code
        assert triage.completed_at is not None and not triage.needs_attention
        stored = {a.item_id: a.code for a in triage.answers}
    assert stored["pain_now"] == "4" and stored["sbt_9"] == "slightly" and stored["rf_fever"] == "false"
    assert set(stored) == set(LOW_RISK)


def test_the_raw_sender_id_is_never_stored(settings: Settings) -> None:
    """The channel hands Rasa only the chat's pseudonymous sender id; the action server adds its own hash."""
    service = TriageService(settings)
    sender = channel_sender("telegram", 123456789, settings.pseudonym_key)
    answer_all(service, sender, LOW_RISK)
    service.finish(sender, LOW_RISK, "en")
    engine = engine_for(settings.database_url)
    with engine.connect() as connection:
        for table in ("triage_sessions", "answers"):
            for row in connection.execute(sqlalchemy.text(f"SELECT * FROM {table}")):
                assert not any("123456789" in str(value) for value in row)


def test_a_red_flag_marks_the_session_for_clinicians(settings: Settings) -> None:
    service = TriageService(settings)
    sender = random_sender()
    answers = {"consent": True, "pain_site": "neck", "rf_bladder_bowel": False, "rf_cord_compression": True}
    answer_all(service, sender, answers)
    outcome = service.finish(sender, answers, "en")
    assert (outcome.kind, outcome.red_flag) == ("red_flag", "rf_cord_compression")
    with session_scope(settings.database_url) as db:
        triage = db.execute(select(TriageSession)).scalar_one()
        assert (triage.status, triage.red_flag, triage.needs_attention) == ("red_flag", "rf_cord_compression", True)
        assert triage.risk_group is None and is_reference_code(triage.reference_code)


def test_declining_consent_stores_nothing_and_erases_an_earlier_yes(settings: Settings) -> None:
    service = TriageService(settings)
    consent = service.flow.item("consent")
    sender = random_sender()
    assert service.accept_answer(sender, consent, "no", "en") is False
    assert service.finish(sender, {"consent": False}, "en").kind == "declined"
    other = random_sender()
    service.accept_answer(other, consent, "yes", "en")
    service.accept_answer(other, service.flow.item("pain_site"), "neck", "en")
    service.accept_answer(other, consent, "no", "en")
    with session_scope(settings.database_url) as db:
        assert db.execute(select(TriageSession)).first() is None
        assert db.execute(select(Answer)).first() is None


def test_going_back_replaces_the_answer_in_place(settings: Settings) -> None:
    service = TriageService(settings)
    sender = random_sender()
    item = service.flow.item("sbt_1")
    service.accept_answer(sender, service.flow.item("consent"), True, "en")
    service.accept_answer(sender, item, "agree", "en")
    service.accept_answer(sender, item, "no", "en")
    with session_scope(settings.database_url) as db:
        codes = [a.code for a in db.execute(select(Answer).where(Answer.item_id == "sbt_1")).scalars()]
    assert codes == ["disagree"]


def test_unusable_answers_store_nothing(settings: Settings) -> None:
    service = TriageService(settings)
    sender = random_sender()
    service.accept_answer(sender, service.flow.item("consent"), True, "en")
    assert service.accept_answer(sender, service.flow.item("pain_now"), "banana", "en") is None
    with session_scope(settings.database_url) as db:
        assert [a.item_id for a in db.execute(select(Answer)).scalars()] == ["consent"]


def test_start_over_abandons_and_a_new_triage_follows(settings: Settings) -> None:
    service = TriageService(settings)
    sender = random_sender()
    service.accept_answer(sender, service.flow.item("consent"), True, "en")
    service.accept_answer(sender, service.flow.item("pain_site"), "low_back", "en")
    service.start_over(sender)
    answer_all(service, sender, LOW_RISK)
    service.finish(sender, LOW_RISK, "en")
    with session_scope(settings.database_url) as db:
        statuses = [t.status for t in db.execute(select(TriageSession).order_by(TriageSession.id)).scalars()]
    assert statuses == ["abandoned", "complete"]


def test_finishing_twice_returns_the_same_reference_code(settings: Settings) -> None:
    service = TriageService(settings)
    sender = random_sender()
    answer_all(service, sender, LOW_RISK)
    first = service.finish(sender, LOW_RISK, "en")
    assert service.finish(sender, LOW_RISK, "en") == first


def test_reference_codes_are_unique_across_many_triages(settings: Settings) -> None:
    service = TriageService(settings)
    codes = set()
    for _ in range(25):
        sender = random_sender()
        answer_all(service, sender, LOW_RISK)
        codes.add(service.finish(sender, LOW_RISK, "en").reference_code)
    assert len(codes) == 25 and all(is_reference_code(c) for c in codes)
