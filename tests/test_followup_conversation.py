"""The follow-up conversation (bot.followup.conversation) on SQLite and PostgreSQL: opening by return
code or chat, the questions in order with the triage's own items, re-stratification at the first
check-in, late answers, a pause or a new triage in between, and alerts to the clinic."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select

from bot.config import Settings
from bot.followup import series as followup_series
from bot.followup.conversation import FollowUpConversation, Turn
from bot.followup.scheduler import run_once
from bot.i18n.catalog import translate
from bot.notify.messages import compose
from bot.reference_code import new_reference_code
from bot.store.db import session_scope
from bot.store.models import Answer, Clinic, FollowUp, FollowUpAnswer, Notification, TriageSession

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
LOW_BACK_FLAGS = ["rf_saddle_numbness", "rf_bladder_bowel", "rf_leg_weakness", "rf_trauma", "rf_cancer", "rf_fever"]
CONVERSATION = FollowUpConversation()


def triage_with_series(settings: Settings, baseline: Dict[str, str], clinic_email: Optional[str] = "t@clinic.example",
                       pain_site: str = "low_back", risk_tool: str = "start_back") -> Tuple[int, str]:
    """A finished web triage with ``baseline`` answers and an agreed series: (triage id, return code)."""
    with session_scope(settings.database_url) as db:
        clinic = Clinic(code=f"c-{new_reference_code()}", name="Clinic", notify_email=clinic_email)
        db.add(clinic)
        db.flush()
        triage = TriageSession(pseudonym=f"web-{new_reference_code()}", language="en", status="complete",
                               pain_site=pain_site, risk_tool=risk_tool, risk_group="medium", clinic_id=clinic.id,
                               reference_code=new_reference_code(), completed_at=START)
        triage.answers = [Answer(item_id=k, code=v) for k, v in baseline.items()]
        db.add(triage)
        db.flush()
        return triage.id, followup_series.agree(db, triage, START).token


def opened(settings: Settings, token: str, now: datetime) -> Turn:
    run_once(settings.database_url, None, clock=lambda: now)  # the web check-in opens when due
    with session_scope(settings.database_url) as db:
        return CONVERSATION.open(db, "another-browser", token, "en", now)


def say(settings: Settings, turn: Turn, value: Any, now: datetime, tapped: bool = False) -> Turn:
    assert turn.followup_id is not None, turn.messages
    with session_scope(settings.database_url) as db:
        return CONVERSATION.answer(db, turn.followup_id, value, "en", now, tapped=tapped)


def texts(turn: Turn) -> List[str]:
    return [m["text"] for m in turn.messages]


BASELINE = {"pain_now": "5", **{f"fn_{n}": "false" for n in range(1, 7)}}


def answer_all(settings: Settings, turn: Turn, now: datetime, pain: str = "4", worse_function: bool = False,
               red_flag: Optional[str] = None) -> Turn:
    turn = say(settings, turn, pain, now)
    for n in range(1, 7):
        turn = say(settings, turn, "yes" if worse_function and n <= 2 else "no", now)
    turn = say(settings, turn, "working", now, tapped=True)
    turn = say(settings, turn, "better", now, tapped=True)
    turn = say(settings, turn, "exercise_therapy", now, tapped=True)
    for flag in LOW_BACK_FLAGS:
        turn = say(settings, turn, "yes" if flag == red_flag else "no", now)
        if flag == red_flag:
            return turn
    for n in range(1, 10):  # STarT Back again, at the first check-in only
        if turn.finished:
            break
        turn = say(settings, turn, "not_at_all" if n == 9 else "disagree", now, tapped=True)
    return turn


def stored(settings: Settings, triage_id: int) -> List[FollowUp]:
    with session_scope(settings.database_url) as db:
        rows = list(db.execute(select(FollowUp).join(FollowUp.series).where(
            FollowUp.series.property.mapper.class_.session_id == triage_id).order_by(FollowUp.due_at)).scalars())
        for row in rows:
            _ = [(a.item_id, a.code) for a in row.answers]
        return rows


def alerts(settings: Settings, triage_id: int) -> List[str]:
    with session_scope(settings.database_url) as db:
        return list(db.execute(select(Notification.urgency).where(Notification.session_id == triage_id)).scalars())


def test_the_first_check_in_asks_pain_function_work_change_treatment_red_flags_and_start_back(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=14)
    turn = opened(settings, token, now)
    assert texts(turn)[0] == translate("en", "followup.welcome")
    assert texts(turn)[-1] == translate("en", "pain_now.ask")
    turn = answer_all(settings, turn, now)
    assert turn.finished and texts(turn) == [translate("en", "followup.done", reference_code=_code(settings, triage_id))]
    (first, *rest) = stored(settings, triage_id)
    assert first.status == "answered" and first.alert is None
    items = [a.item_id for a in first.answers]
    assert items[:10] == ["pain_now", *(f"fn_{n}" for n in range(1, 7)), "work_status", "global_change", "treatment_main"]
    assert items[10:16] == LOW_BACK_FLAGS and items[16:] == [f"sbt_{n}" for n in range(1, 10)]
    assert alerts(settings, triage_id) == []


def _code(settings: Settings, triage_id: int) -> str:
    with session_scope(settings.database_url) as db:
        return db.get(TriageSession, triage_id).reference_code


def test_later_check_ins_do_not_re_stratify(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=42)
    turn = answer_all(settings, opened(settings, token, now), now)
    assert turn.finished
    six_weeks = stored(settings, triage_id)[1]
    assert six_weeks.label == "6w" and not any(a.item_id.startswith("sbt_") for a in six_weeks.answers)


def test_worsening_beyond_the_mcid_alerts_the_clinic_and_tells_the_patient(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=14)
    turn = answer_all(settings, opened(settings, token, now), now, pain="7")  # 5 -> 7: the MCID of 2
    assert texts(turn) == [translate("en", "followup.done.alert", reference_code=_code(settings, triage_id))]
    assert stored(settings, triage_id)[0].alert == "worse_pain" and alerts(settings, triage_id) == ["follow_up_alert"]
    notice = compose("follow_up_alert", "BT-AAAA-BBBB", "https://x/clinic/triages/1", "de")
    assert "BT-AAAA-BBBB" in notice.subject


def test_a_change_below_the_mcid_is_no_alert_and_function_counts_too(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=14)
    answer_all(settings, opened(settings, token, now), now, pain="6")
    assert stored(settings, triage_id)[0].alert is None
    other_id, other_token = triage_with_series(settings, BASELINE)
    answer_all(settings, opened(settings, other_token, now), now, pain="5", worse_function=True)  # 0 -> 8 of 24
    assert stored(settings, other_id)[0].alert == "worse_function"


def test_a_new_red_flag_ends_the_check_in_with_urgent_advice_and_alerts(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=14)
    turn = answer_all(settings, opened(settings, token, now), now, red_flag="rf_bladder_bowel")
    assert turn.finished and texts(turn)[0].startswith(translate("en", "red_flag.urgent", emergency_number="112")[:20])
    assert stored(settings, triage_id)[0].alert == "red_flag" and alerts(settings, triage_id) == ["follow_up_alert"]


def test_an_unclear_answer_is_asked_again_and_nothing_stored(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=14)
    turn = say(settings, opened(settings, token, now), "purple", now)
    assert turn.followup_id is not None and not turn.finished
    assert stored(settings, triage_id)[0].answers == []


def test_a_late_answer_weeks_after_it_was_missed_is_kept(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    run_once(settings.database_url, None, clock=lambda: START + timedelta(days=14))
    run_once(settings.database_url, None, clock=lambda: START + timedelta(days=19))
    assert stored(settings, triage_id)[0].status == "missed"
    late = START + timedelta(days=33)
    with session_scope(settings.database_url) as db:
        turn = CONVERSATION.open(db, "x", token, "en", late)
    assert answer_all(settings, turn, late).finished
    first = stored(settings, triage_id)[0]
    assert first.status == "answered" and first.answered_at is not None


def test_a_pause_or_a_new_triage_in_between_keeps_the_answers_and_resumes_at_the_next_question(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=14)
    turn = say(settings, opened(settings, token, now), "3", now)
    turn = say(settings, turn, "no", now)
    with session_scope(settings.database_url) as db:  # the patient starts a triage on the side
        db.add(TriageSession(pseudonym="another-browser", language="en"))
    with session_scope(settings.database_url) as db:
        again = CONVERSATION.open(db, "another-browser", token, "en", now + timedelta(days=1))
    assert texts(again) == [translate("en", "fn_2.ask")]  # no welcome again, the next unanswered item
    assert [a.item_id for a in stored(settings, triage_id)[0].answers] == ["pain_now", "fn_1"]


def test_nothing_open_before_the_first_is_due_and_an_unknown_or_stopped_code_is_refused(settings: Settings) -> None:
    triage_id, token = triage_with_series(settings, BASELINE)
    with session_scope(settings.database_url) as db:
        assert texts(CONVERSATION.open(db, "p", token, "en", START)) == [translate("en", "followup.nothing_open")]
        assert texts(CONVERSATION.open(db, "p", "guessed", "en", START)) == [translate("en", "followup.invalid")]
        followup_series.end(db, followup_series.series_by_token(db, token), START)
    assert texts(opened(settings, token, START + timedelta(days=14))) == [translate("en", "followup.invalid")]


def test_an_answered_check_in_is_a_valid_fhir_bundle_for_the_same_patient(settings: Settings) -> None:
    from bot.fhir.bundle import triage_bundle, validate_bundle
    from bot.fhir.followup import followup_bundle

    triage_id, token = triage_with_series(settings, BASELINE)
    now = START + timedelta(days=14)
    answer_all(settings, opened(settings, token, now), now, pain="3", worse_function=True)
    with session_scope(settings.database_url) as db:
        triage = db.get(TriageSession, triage_id)
        followup = db.execute(select(FollowUp).where(FollowUp.status == "answered")).scalar_one()
        bundle = followup_bundle(triage, followup, "de")
        validate_bundle(bundle)
        patient_id = triage_bundle(triage, "de")["entry"][0]["resource"]["id"]
    resources = [e["resource"] for e in bundle["entry"]]
    assert resources[0]["id"] == patient_id
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    assert response["identifier"]["value"] == f"{triage.reference_code}/2w"
    assert [i["linkId"] for i in response["item"]][:3] == ["pain_now", "fn_1", "fn_2"]
    values = {r["code"]["text"]: r for r in resources if r["resourceType"] == "Observation"}
    assert values["pain now (0-10)"]["valueInteger"] == 3
    assert values["function score (0-24)"]["valueInteger"] == 8
    assert values["global rating of change"]["valueCodeableConcept"]["coding"][0]["code"] == "better"


def test_the_exported_record_carries_the_triage_and_every_answered_check_in(settings: Settings,
                                                                           tmp_path: Path) -> None:
    """`backtalk export fhir` (and the clinic's fhir.json, which builds the same bundle) include the
    check-ins: one valid bundle, the Patient once, a QuestionnaireResponse per answered check-in."""
    import json

    from bot.fhir.bundle import validate_bundle
    from bot.fhir.export import export_fhir
    from bot.fhir.followup import record_bundle

    triage_id, token = triage_with_series(settings, OUTLOOK_BASELINE)
    with session_scope(settings.database_url) as db:
        before = record_bundle(db, db.get(TriageSession, triage_id), "en")
    assert not [e for e in before["entry"] if e["resource"].get("questionnaire", "").endswith("followup")]
    for days, pain in ((15, "4"), (44, "2")):
        now = START + timedelta(days=days)
        answer_all(settings, opened(settings, token, now), now, pain=pain)
    with session_scope(settings.database_url) as db:
        code = db.get(TriageSession, triage_id).reference_code
    assert export_fhir(settings.database_url, tmp_path / "out", [code]) == 1
    bundle = json.loads((tmp_path / "out" / f"{code}.json").read_text(encoding="utf-8"))
    validate_bundle(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    assert [r["resourceType"] for r in resources].count("Patient") == 1
    followups = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"
                 and r.get("questionnaire", "").endswith("followup")]
    assert [r["identifier"]["value"] for r in followups] == [f"{code}/2w", f"{code}/6w"]
    pains = sorted(r["valueInteger"] for r in resources if r["resourceType"] == "Observation"
                   and r["code"]["text"] == "pain now (0-10)")
    assert pains == [2, 4]
    assert len(bundle["entry"]) > len(before["entry"])


OUTLOOK_BASELINE = {
    "consent": "true", "pain_site": "low_back", "rf_saddle_numbness": "false", "rf_bladder_bowel": "false",
    "sbt_1": "agree", "sbt_2": "disagree", "sbt_3": "agree", "sbt_4": "agree", "sbt_5": "agree", "sbt_6": "disagree",
    "sbt_7": "disagree", "sbt_8": "disagree", "sbt_9": "moderately", "pain_now": "6", "outlook_offer": "true",
    "age_band": "40_to_49", "sex": "female", "episode_duration": "1_to_3_months", "previous_episodes": "once_or_twice",
    "fn_1": "true", "fn_2": "true", "fn_3": "false", "fn_4": "true", "fn_5": "false", "fn_6": "false",
    "recovery_expectation": "unsure", "work_status": "working", "days_off": "2", "work_expectation": "sure",
}


def test_the_trajectory_draws_triage_and_check_ins_over_the_outlook_band(settings: Settings) -> None:
    from bot.followup.trajectory import course_of, summary_chart

    triage_id, token = triage_with_series(settings, OUTLOOK_BASELINE)
    for days, pain in ((15, "4"), (44, "2")):
        now = START + timedelta(days=days)
        answer_all(settings, opened(settings, token, now), now, pain=pain)
    with session_scope(settings.database_url) as db:
        triage = db.get(TriageSession, triage_id)
        course = course_of(triage, list(db.execute(select(FollowUp.series.property.mapper.class_)).scalars()))
        svg = summary_chart(db, triage, "de")
    assert [(round(w, 1), v) for w, v in course.pain] == [(0.0, 6.0), (2.1, 4.0), (6.3, 2.0)]
    assert [v for _, v in course.function] == [12.0, 0.0, 0.0]  # 3 of 6 statements at the triage, none later
    assert course.pain_band[0] == (0.0, 6, 6) and len(course.pain_band) > 1
    assert all(low <= high for _, low, high in course.pain_band + course.function_band)
    assert svg.startswith("<svg") and svg.count("<polygon") == 2 and svg.count("<polyline") == 2
    assert translate("de", "clinic.trajectory.title") in svg and "style=" not in svg  # the CSP allows no inline style


def test_no_trajectory_before_a_check_in_is_answered(settings: Settings) -> None:
    from bot.followup.trajectory import summary_chart

    triage_id, _ = triage_with_series(settings, OUTLOOK_BASELINE)
    with session_scope(settings.database_url) as db:
        assert summary_chart(db, db.get(TriageSession, triage_id), "en") is None
