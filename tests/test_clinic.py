"""The clinic workspace's domain on SQLite and PostgreSQL: accounts and lock-out, sessions, routing a
patient to their clinic, the queue's order and filters, the summary, decisions, My Statistics and the
append-only audit trail."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy
from sqlalchemy import select, text

from bot import audit
from bot.clinic import accounts, sessions
from bot.clinic.decisions import DecisionError, record_decision
from bot.clinic.queue import FilterError, QueueFilter, parse_filter, queue, triage_of_clinic
from bot.clinic.statistics import DecidedTriage, is_concordant, my_statistics
from bot.clinic.summary import build_summary
from bot.careplan.options import load_options
from bot.config import Settings
from bot.i18n.catalog import translate
from bot.privacy.text_cipher import TextCipher
from bot.store.db import session_scope
from bot.store.models import Answer, TriageSession, utcnow
from bot.telegram.chats import ChatDirectory
from tests.clinic_helpers import (FLOW, LOW_BACK_HIGH, LOW_BACK_LOW, LOW_BACK_MEDIUM, PASSWORD, add_user,
                                  setup_clinic, triage)


def clinic_of(settings: Settings, reference_code: str) -> str | None:
    with session_scope(settings.database_url) as db:
        found = db.execute(select(TriageSession).where(TriageSession.reference_code == reference_code)).scalar_one()
        return found.clinic.code if found.clinic else None


# -- accounts -----------------------------------------------------------------------------------------

def test_a_password_is_stored_only_as_an_argon2_hash_and_checked(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    with session_scope(settings.database_url) as db:
        user = accounts.user_by_name(db, "Alice")
        assert user is not None and user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert accounts.authenticate(db, "alice", PASSWORD).user is not None
        assert accounts.authenticate(db, "alice", "wrong password!").reason == "invalid"
        assert accounts.authenticate(db, "nobody", PASSWORD).reason == "invalid"


def test_weak_passwords_duplicate_names_and_missing_clinics_are_refused(settings: Settings) -> None:
    setup_clinic(settings)
    with session_scope(settings.database_url) as db:
        with pytest.raises(accounts.AccountError, match="12 characters"):
            accounts.add_user(db, "bob", "short", "clinician", "north")
        with pytest.raises(accounts.AccountError, match="belongs to a clinic"):
            accounts.add_user(db, "bob", PASSWORD, "clinician", None)
        with pytest.raises(accounts.AccountError, match="no clinic"):
            accounts.add_user(db, "bob", PASSWORD, "clinician", "south")
        accounts.add_user(db, "bob", PASSWORD, "clinician", "north")
        with pytest.raises(accounts.AccountError, match="taken"):
            accounts.add_user(db, "BOB", PASSWORD, "clinician", "north")
        with pytest.raises(accounts.AccountError, match="role"):
            accounts.add_user(db, "carol", PASSWORD, "superuser", "north")


def test_five_wrong_passwords_lock_the_account_and_a_reset_unlocks_it(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    now = utcnow()
    with session_scope(settings.database_url) as db:
        for _ in range(accounts.MAX_FAILED_LOGINS):
            assert accounts.authenticate(db, "alice", "not the password", now).reason == "invalid"
        assert accounts.authenticate(db, "alice", PASSWORD, now).reason == "locked"
        assert accounts.authenticate(db, "alice", PASSWORD, now + accounts.LOCKOUT + timedelta(seconds=1)).user
    with session_scope(settings.database_url) as db:
        for _ in range(accounts.MAX_FAILED_LOGINS):
            accounts.authenticate(db, "alice", "not the password", now)
        accounts.reset_password(db, "alice", "another long password")
        assert accounts.authenticate(db, "alice", "another long password", now).user is not None


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    with session_scope(settings.database_url) as db:
        user = accounts.authenticate(db, "alice", PASSWORD).user
        token, _ = sessions.open_session(db, user)
    with session_scope(settings.database_url) as db:
        assert sessions.current(db, token) is not None
        accounts.disable_user(db, "alice")
    with session_scope(settings.database_url) as db:
        assert sessions.current(db, token) is None
        assert accounts.authenticate(db, "alice", PASSWORD).user is None


def test_sessions_end_when_idle_too_long_after_twelve_hours_and_after_a_password_change(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    start = utcnow()
    with session_scope(settings.database_url) as db:
        user = accounts.user_by_name(db, "alice")
        idle, _ = sessions.open_session(db, user, start)
        active, _ = sessions.open_session(db, user, start)
        changed, _ = sessions.open_session(db, user, start)
    with session_scope(settings.database_url) as db:
        assert sessions.current(db, idle, start + sessions.IDLE_TIMEOUT + timedelta(seconds=1)) is None
        moment = start
        while moment < start + sessions.ABSOLUTE_TIMEOUT - timedelta(minutes=20):
            moment += timedelta(minutes=20)
            assert sessions.current(db, active, moment) is not None
        assert sessions.current(db, active, start + sessions.ABSOLUTE_TIMEOUT) is None
    with session_scope(settings.database_url) as db:
        accounts.reset_password(db, "alice", "a brand new password")
    with session_scope(settings.database_url) as db:
        assert sessions.current(db, changed) is None
        assert sessions.current(db, "forged-token") is None


# -- routing patients to their clinic --------------------------------------------------------------------

def test_a_triage_goes_to_the_clinic_its_link_named_else_to_the_default(settings: Settings) -> None:
    setup_clinic(settings, "north", default=True)
    setup_clinic(settings, "south")
    south = triage(settings, LOW_BACK_LOW, clinic="south")
    unknown = triage(settings, LOW_BACK_LOW, clinic="nowhere")
    none = triage(settings, LOW_BACK_LOW, clinic=None)
    assert clinic_of(settings, south.reference_code) == "south"
    assert {clinic_of(settings, o.reference_code) for o in (unknown, none)} == {"north"}


def test_a_telegram_chat_keeps_the_clinic_of_its_deep_link(settings: Settings) -> None:
    setup_clinic(settings, "north", default=True)
    setup_clinic(settings, "south")
    directory = ChatDirectory(settings.database_url, settings.pseudonym_key, settings.encryption_key)
    directory.remember(4242, "en", "south", None)
    outcome = triage(settings, LOW_BACK_LOW, clinic=None, sender=directory.sender(4242))
    assert clinic_of(settings, outcome.reference_code) == "south"


def test_without_any_clinic_a_triage_is_still_stored(settings: Settings) -> None:
    outcome = triage(settings, LOW_BACK_LOW, clinic="north")
    assert clinic_of(settings, outcome.reference_code) is None


def test_typed_words_are_kept_encrypted_and_read_back_for_the_clinician(settings: Settings) -> None:
    setup_clinic(settings)
    outcome = triage(settings, {**LOW_BACK_LOW, "pain_now": 6}, typed={"pain_now": "about a six today, worse at night"})
    with session_scope(settings.database_url) as db:
        row = db.execute(select(Answer).join(TriageSession).where(
            TriageSession.reference_code == outcome.reference_code, Answer.item_id == "pain_now")).scalar_one()
        assert row.code == "6" and "six" not in row.typed_encrypted
        assert TextCipher(settings.encryption_key).decrypt(row.typed_encrypted) == "about a six today, worse at night"


# -- the queue ----------------------------------------------------------------------------------------

def test_the_queue_puts_unseen_red_flags_and_high_risk_on_top_then_newest_first(settings: Settings) -> None:
    setup_clinic(settings)
    setup_clinic(settings, "south")
    flagged = triage(settings, {"consent": True, "pain_site": "low_back", "rf_saddle_numbness": True})
    high = triage(settings, LOW_BACK_HIGH)
    low_old = triage(settings, LOW_BACK_LOW)
    triage(settings, LOW_BACK_LOW, finish=False)
    low_new = triage(settings, LOW_BACK_MEDIUM)
    triage(settings, LOW_BACK_HIGH, clinic="south")
    with session_scope(settings.database_url) as db:
        clinic = accounts.clinic_by_code(db, "north")
        rows, total = queue(db, clinic.id, QueueFilter())
        assert total == 5
        assert [r.reference_code for r in rows[:2]] == [high.reference_code, flagged.reference_code]
        assert [r.urgent for r in rows] == [True, True, False, False, False]
        # then newest first, unfinished ones (no code yet) among them
        assert [r.reference_code for r in rows[2:]] == [low_new.reference_code, None, low_old.reference_code]
        assert rows[3].status == "in_progress"
        db.execute(sqlalchemy.update(TriageSession).where(TriageSession.reference_code == high.reference_code)
                   .values(review_status="seen"))
        rows, _ = queue(db, clinic.id, QueueFilter())
        assert rows[0].reference_code == flagged.reference_code and not rows[2].urgent


def test_queue_filters_and_the_reference_code_search_stay_within_the_clinic(settings: Settings) -> None:
    setup_clinic(settings)
    setup_clinic(settings, "south")
    high = triage(settings, LOW_BACK_HIGH)
    triage(settings, LOW_BACK_LOW)
    other = triage(settings, LOW_BACK_HIGH, clinic="south")
    with session_scope(settings.database_url) as db:
        north = accounts.clinic_by_code(db, "north").id
        assert [r.reference_code for r in queue(db, north, parse_filter({"risk": "high"}))[0]] == [high.reference_code]
        assert queue(db, north, parse_filter({"code": high.reference_code.lower()}))[1] == 1
        assert queue(db, north, parse_filter({"code": other.reference_code}))[1] == 0
        assert queue(db, north, parse_filter({"site": "neck"}))[1] == 0
        assert queue(db, north, parse_filter({"status": "booked"}))[1] == 0
        assert queue(db, north, parse_filter({"from": "2000-01-01", "to": "2000-01-02"}))[1] == 0
        south_triage = db.execute(select(TriageSession.id).where(
            TriageSession.reference_code == other.reference_code)).scalar_one()
        assert triage_of_clinic(db, north, south_triage) is None


@pytest.mark.parametrize("query", [{"risk": "' OR 1=1 --"}, {"status": "<script>"}, {"code": "BT-0000-0000"},
                                   {"from": "yesterday"}, {"page": "-1"}, {"site": "arm"}])
def test_bad_filter_values_are_refused_with_a_reason(query: dict) -> None:
    with pytest.raises(FilterError):
        parse_filter(query)


# -- summary and decisions ------------------------------------------------------------------------------

def test_the_summary_shows_the_red_flag_with_the_patients_words_in_the_clinicians_language(settings: Settings) -> None:
    setup_clinic(settings)
    words = "yes, since yesterday the inside of my thighs feels numb"
    outcome = triage(settings, {"consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
                                "rf_saddle_numbness": True}, typed={"rf_saddle_numbness": words})
    with session_scope(settings.database_url) as db:
        found = db.execute(select(TriageSession).where(TriageSession.reference_code == outcome.reference_code)).scalar_one()
        summary = build_summary(found, "de", TextCipher(settings.encryption_key))
    assert [f.item_id for f in summary.red_flags] == ["rf_saddle_numbness"]
    assert summary.red_flags[0].words == words
    assert summary.red_flags[0].question == translate("de", FLOW.item("rf_saddle_numbness").text)
    assert summary.risk is None and summary.status_code == "red_flag"


def test_the_summary_lists_every_answer_with_score_subscale_group_and_matched_options(settings: Settings) -> None:
    setup_clinic(settings)
    outcome = triage(settings, LOW_BACK_HIGH, deliver=True)
    with session_scope(settings.database_url) as db:
        found = db.execute(select(TriageSession).where(TriageSession.reference_code == outcome.reference_code)).scalar_one()
        summary = build_summary(found, "en", TextCipher(settings.encryption_key))
    assert summary.risk is not None and summary.risk.group_code == "high"
    assert (summary.risk.score, summary.risk.subscale) == (outcome.risk_score, outcome.risk_subscore)
    asked = [line.item_id for line in summary.answers]
    assert asked == [i.id for i in FLOW.answered_on_path(LOW_BACK_HIGH | {k: False for k in asked if k.startswith("rf_")})
                     if i.id != "consent"]
    assert "sbt_9" in asked and summary.has_care_plan_pdf and not summary.has_outlook
    names = {name for name, _ in summary.options}
    assert translate("en", "treatment.psychological_care.name") in names


def test_a_decision_needs_known_options_or_a_referral_and_marks_the_triage_seen(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    outcome = triage(settings, LOW_BACK_HIGH)
    with session_scope(settings.database_url) as db:
        user = accounts.user_by_name(db, "alice")
        found = db.execute(select(TriageSession).where(TriageSession.reference_code == outcome.reference_code)).scalar_one()
        with pytest.raises(DecisionError, match="unknown"):
            record_decision(found, user, ["homeopathy"], False, None)
        with pytest.raises(DecisionError, match="at least one"):
            record_decision(found, user, [], False, "thinking")
        with pytest.raises(DecisionError, match="longer"):
            record_decision(found, user, ["exercise_therapy"], False, "x" * 2001)
        assert found.review_status == "new" and not found.decisions
        record_decision(found, user, ["exercise_therapy", "psychological_care"], False, "  booked with J.  ")
    with session_scope(settings.database_url) as db:
        found = db.execute(select(TriageSession).where(TriageSession.reference_code == outcome.reference_code)).scalar_one()
        assert found.review_status == "seen"
        assert found.decisions[-1].option_ids == "exercise_therapy psychological_care"
        assert found.decisions[-1].note == "booked with J."


# -- My Statistics ------------------------------------------------------------------------------------

@pytest.mark.parametrize("group,chosen,referred,expected", [
    ("low", {"advice_education", "self_management"}, False, True),
    ("low", {"advice_education", "exercise_therapy"}, False, False),  # not recommended at low risk
    ("medium", {"advice_education"}, False, False),  # nothing meant for medium risk
    ("medium", {"exercise_therapy"}, False, True),
    ("high", {"exercise_therapy"}, False, False),  # nothing reserved for high risk
    ("high", {"exercise_therapy", "psychological_care"}, False, True),
    ("high", {"psychological_care"}, True, False),
    ("red_flag", set(), True, True),
    ("red_flag", {"advice_education"}, False, False),
])
def test_concordance_follows_stratified_care(group: str, chosen: set, referred: bool, expected: bool) -> None:
    decided = DecidedTriage(group, "low_back", "1_to_3_months", frozenset(chosen), referred, 1)
    assert is_concordant(decided, load_options()) is expected


def test_my_statistics_compare_my_decisions_with_the_clinics(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    add_user(settings, "bob")
    high = [triage(settings, LOW_BACK_HIGH) for _ in range(3)]
    low = triage(settings, LOW_BACK_LOW)
    with session_scope(settings.database_url) as db:
        alice, bob = accounts.user_by_name(db, "alice"), accounts.user_by_name(db, "bob")
        assert my_statistics(db, alice).empty

        def decide(code: str, user, options, referred=False) -> None:  # type: ignore[no-untyped-def]
            found = db.execute(select(TriageSession).where(TriageSession.reference_code == code)).scalar_one()
            record_decision(found, user, options, referred, None)
            db.flush()

        decide(high[0].reference_code, alice, ["exercise_therapy", "psychological_care"])
        decide(high[1].reference_code, alice, ["exercise_therapy"])
        decide(high[2].reference_code, bob, ["psychological_care"])
        decide(low.reference_code, bob, ["advice_education"])
        decide(high[1].reference_code, bob, ["psychological_care", "exercise_therapy"])  # the latest decision counts
        stats = my_statistics(db, alice)
        rows = {r.group: r for r in stats.groups}
        assert (rows["high"].mine.n, rows["high"].mine.concordant) == (1, 1)
        assert (rows["high"].clinic.n, rows["high"].clinic.concordant) == (3, 3)
        assert (rows["low"].mine.n, rows["low"].clinic.n, rows["low"].clinic.concordant) == (0, 1, 1)
        assert my_statistics(db, alice, since=utcnow() + timedelta(days=1)).empty


# -- audit ------------------------------------------------------------------------------------------------

def test_the_audit_trail_is_append_only_in_the_database(settings: Settings) -> None:
    with session_scope(settings.database_url) as db:
        audit.record(db, "view_summary", username="cli", reference_code="BT-ABCD-2345", detail={"triage": 1})
    for statement in ("UPDATE audit_events SET action = 'nothing'", "DELETE FROM audit_events"):
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
            with session_scope(settings.database_url) as db:
                db.execute(text(statement))
    with session_scope(settings.database_url) as db:
        events = audit.recent(db)
        assert [(e.action, e.reference_code) for e in events] == [("view_summary", "BT-ABCD-2345")]


def test_finishing_a_red_flag_or_high_risk_triage_tells_the_clinic_through_the_outbox(settings: Settings) -> None:
    from bot.store.models import Notification

    setup_clinic(settings, email="team@north.example", telegram_chat="-100123")
    triage(settings, LOW_BACK_LOW)
    high = triage(settings, LOW_BACK_HIGH)
    with session_scope(settings.database_url) as db:
        rows = db.execute(select(Notification.channel, Notification.urgency, TriageSession.reference_code)
                          .join(TriageSession, TriageSession.id == Notification.session_id)).all()
    assert sorted(rows) == [("email", "high_risk", high.reference_code), ("telegram", "high_risk", high.reference_code)]
