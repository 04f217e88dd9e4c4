"""FHIR R4 bundles of real triages (made through the triage service) and `backtalk export fhir`, on
SQLite and PostgreSQL. Expected values come from the stored rows and the data files, never from the
mapping code under test."""
from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from sqlalchemy import select

from bot.cli import main as cli_main
from bot.config import SECRET_NAMES, Settings
from bot.fhir import FhirValidationError, triage_bundle, validate_bundle
from bot.fhir.export import export_fhir
from bot.i18n.catalog import translate
from bot.questionnaires.flow import TriageFlow
from bot.scoring import start_back, start_msk
from bot.store.db import session_scope
from bot.store.models import AuditEvent, Clinic, Decision, TriageSession, User
from bot.store.repository import TriageRepository
from bot.triage.result import ResultDelivery
from bot.triage.service import TriageService
from tests.conftest import random_sender

FLOW = TriageFlow()
LOINC = "http://loinc.org"
NO_RED_FLAGS_LOW_BACK = {i.id: False for i in FLOW.required_items({"consent": True, "pain_site": "low_back"})
                         if i.questionnaire == "red_flags"}
NO_RED_FLAGS_NECK = {i.id: False for i in FLOW.required_items({"consent": True, "pain_site": "neck"})
                     if i.questionnaire == "red_flags"}
# sbt 1, 2, 5, 6, 7 agree and 9 "very much": total 6, subscale 4 -> high risk (Hill 2008).
LOW_BACK: Dict[str, Any] = {
    "consent": True, "pain_site": "low_back", **NO_RED_FLAGS_LOW_BACK, "episode_duration": "1_to_3_months",
    **{f"sbt_{n}": ("agree" if n in (1, 2, 5, 6, 7) else "disagree") for n in range(1, 9)},
    "sbt_9": "very_much", "pain_now": 7, "outlook_offer": False,
}
NECK: Dict[str, Any] = {
    "consent": True, "pain_site": "neck", **NO_RED_FLAGS_NECK, "episode_duration": "over_3_years",
    "msk_1": 8, **{f"msk_{n}": n % 2 == 0 for n in range(2, 10)}, "pain_now": 6,
}
RED_FLAG: Dict[str, Any] = {"consent": True, "pain_site": "neck", "rf_bladder_bowel": False,
                            "rf_cord_compression": True}


def answer(service: TriageService, sender: str, answers: Dict[str, Any], language: str) -> None:
    for item_id, value in answers.items():
        service.accept_answer(sender, FLOW.item(item_id), value, language, channel="rest",
                              pain_site=answers.get("pain_site"))


def triage(settings: Settings, answers: Dict[str, Any], language: str = "en", finish: bool = True) -> str:
    """A triage through the real service; returns the sender (the reference code is on the row)."""
    service = TriageService(settings, FLOW)
    sender = random_sender()
    answer(service, sender, answers, language)
    if finish:
        service.finish(sender, answers, language)
    return service.pseudonym(sender)


def bundle_of(settings: Settings, pseudonym: str, language: str = "en") -> Dict[str, Any]:
    with session_scope(settings.database_url) as db:
        row = TriageRepository(db).latest(pseudonym)
        assert row is not None
        return triage_bundle(row, language)


def stored(settings: Settings, pseudonym: str) -> Dict[str, Any]:
    with session_scope(settings.database_url) as db:
        row = TriageRepository(db).latest(pseudonym)
        assert row is not None
        return {"row": {c.name: getattr(row, c.name) for c in TriageSession.__table__.columns},
                "answers": {a.item_id: a.code for a in row.answers}}


def resources(bundle: Dict[str, Any], resource_type: str) -> List[Dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def one(bundle: Dict[str, Any], resource_type: str) -> Dict[str, Any]:
    found = resources(bundle, resource_type)
    assert len(found) == 1, f"{len(found)} {resource_type} resources"
    return found[0]


def response_for(bundle: Dict[str, Any], questionnaire: str) -> Dict[str, Any]:
    matches = [r for r in resources(bundle, "QuestionnaireResponse")
               if r["questionnaire"] == f"urn:backtalk:questionnaire:{questionnaire}"]
    assert len(matches) == 1
    return matches[0]


def by_code(observations: List[Dict[str, Any]], system: str, code: str) -> List[Dict[str, Any]]:
    return [o for o in observations if {"system": system, "code": code} in
            [{"system": c["system"], "code": c["code"]} for c in o["code"]["coding"]]]


def all_references(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "reference":
                yield value
            else:
                yield from all_references(value)
    elif isinstance(data, list):
        for value in data:
            yield from all_references(value)


def test_a_complete_triage_is_a_valid_bundle_with_loinc_and_canonical_typed_answers(settings: Settings) -> None:
    pseudonym = triage(settings, LOW_BACK, "de")
    bundle = bundle_of(settings, pseudonym, "de")
    validate_bundle(bundle)
    assert bundle["type"] == "collection"
    answers = stored(settings, pseudonym)["answers"]
    # Every stored answer appears once, in the response of its instrument, typed by the item's kind.
    seen = {}
    for response in resources(bundle, "QuestionnaireResponse"):
        assert response["status"] == "completed"
        for entry in response["item"]:
            item = FLOW.item(entry["linkId"])
            assert response["questionnaire"] == f"urn:backtalk:questionnaire:{item.questionnaire}"
            assert entry["text"] == translate("de", item.text)
            [value] = entry["answer"]
            if item.kind == "boolean":
                seen[item.id] = "true" if value["valueBoolean"] is True else "false"
            elif item.kind == "integer":
                assert isinstance(value["valueInteger"], int)
                seen[item.id] = str(value["valueInteger"])
            else:
                coding = value["valueCoding"]
                assert coding["system"] == f"urn:backtalk:{item.questionnaire}"
                assert coding["display"] == translate("de", item.option(coding["code"]).label)
                seen[item.id] = coding["code"]
    assert seen == answers
    # LOINC codes sit on the Questionnaire items (R4's response items have no code element).
    loinc_items = {item.id: item.loinc for item in FLOW.items if item.loinc and item.id in answers}
    assert {"sbt_1", "sbt_9", "pain_now"} <= set(loinc_items)
    coded = {i["linkId"]: c["code"] for q in resources(bundle, "Questionnaire") for i in q["item"]
             for c in i.get("code", []) if c["system"] == LOINC}
    assert {k: coded.get(k) for k in loinc_items} == loinc_items
    start_back_form = [q for q in resources(bundle, "Questionnaire")
                       if q["url"] == "urn:backtalk:questionnaire:start_back"][0]
    assert {"system": LOINC, "code": "91349-1"} in start_back_form["code"]
    identifiers = {r["identifier"]["value"] for r in resources(bundle, "QuestionnaireResponse")}
    assert identifiers == {stored(settings, pseudonym)["row"]["reference_code"]}


def test_scores_and_risk_group_match_the_stored_triage(settings: Settings) -> None:
    pseudonym = triage(settings, LOW_BACK)
    bundle = bundle_of(settings, pseudonym)
    row = stored(settings, pseudonym)["row"]
    expected = start_back.score(LOW_BACK)
    assert (row["risk_score"], row["risk_subscore"], row["risk_group"]) == (expected.total, expected.subscale,
                                                                           expected.group) == (6, 4, "high")
    observations = resources(bundle, "Observation")
    [total] = by_code(observations, LOINC, "91351-7")
    [subscale] = by_code(observations, LOINC, "91350-9")
    assert (total["valueInteger"], subscale["valueInteger"]) == (row["risk_score"], row["risk_subscore"])
    risk = one(bundle, "RiskAssessment")
    assert risk["status"] == "final"
    groups = [c["code"] for c in risk["prediction"][0]["qualitativeRisk"]["coding"]
              if c["system"] == "urn:backtalk:risk-group"]
    assert groups == [row["risk_group"]]
    assert "STarT Back scoring rules" in risk["method"]["text"] and "own words" in risk["method"]["text"]
    full_urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    basis = {b["reference"] for b in risk["basis"]}
    assert basis == {full_urls[r["id"]] for r in (response_for(bundle, "start_back"), total, subscale)}


def test_the_neck_path_exports_start_msk_with_its_derived_answer(settings: Settings) -> None:
    pseudonym = triage(settings, NECK, "pl")
    bundle = bundle_of(settings, pseudonym, "pl")
    validate_bundle(bundle)
    row = stored(settings, pseudonym)["row"]
    expected = start_msk.score(FLOW.with_derived(NECK))
    assert (row["risk_tool"], row["risk_score"], row["risk_group"]) == ("start_msk", expected.total, expected.group)
    msk = {i["linkId"]: i["answer"][0] for i in response_for(bundle, "start_msk")["item"]}
    assert msk["msk_10"] == {"valueBoolean": True}  # over 3 years: derived, never asked
    assert msk["msk_1"] == {"valueInteger": 8}
    observations = resources(bundle, "Observation")
    assert [o["valueInteger"] for o in observations] == [row["risk_score"]]  # no subscale on STarT MSK
    risk = one(bundle, "RiskAssessment")
    assert "STarT MSK" in risk["method"]["coding"][0]["display"]
    assert risk["prediction"][0]["qualitativeRisk"]["text"] == translate("pl", f"careplan.risk.{row['risk_group']}")


def test_a_red_flag_bundle_names_the_flag_and_has_no_risk_group(settings: Settings) -> None:
    pseudonym = triage(settings, RED_FLAG)
    bundle = bundle_of(settings, pseudonym)
    validate_bundle(bundle)
    row = stored(settings, pseudonym)["row"]
    assert row["red_flag"] == "rf_cord_compression" and row["risk_group"] is None
    risk = one(bundle, "RiskAssessment")
    assert all("qualitativeRisk" not in p for p in risk["prediction"])
    flag = FLOW.item(row["red_flag"])
    [outcome] = [p["outcome"] for p in risk["prediction"]]
    assert outcome["coding"][0]["code"] == row["red_flag"] and outcome["text"] == translate("en", flag.text)
    [observation] = resources(bundle, "Observation")
    assert observation["valueCodeableConcept"]["coding"][0]["code"] == row["red_flag"]
    assert "risk-group" not in json.dumps(bundle) and "91352-5" not in json.dumps(bundle)
    assert {r["questionnaire"] for r in resources(bundle, "QuestionnaireResponse")} == {
        "urn:backtalk:questionnaire:intake", "urn:backtalk:questionnaire:red_flags"}


def test_an_unfinished_triage_exports_in_progress_with_no_risk_and_keeps_its_ids(settings: Settings) -> None:
    partial = {k: LOW_BACK[k] for k in ("consent", "pain_site", *NO_RED_FLAGS_LOW_BACK, "sbt_1")}
    service = TriageService(settings, FLOW)
    sender = random_sender()
    answer(service, sender, partial, "en")
    before = bundle_of(settings, service.pseudonym(sender))
    validate_bundle(before)
    assert "identifier" not in before and not resources(before, "RiskAssessment")
    assert {r["status"] for r in resources(before, "QuestionnaireResponse")} == {"in-progress"}
    answer(service, sender, LOW_BACK, "en")
    service.finish(sender, LOW_BACK, "en")
    after = bundle_of(settings, service.pseudonym(sender))
    # A receiver that took the unfinished bundle updates the same resources when the finished one comes.
    ids = lambda b: {r["questionnaire"]: r["id"] for r in resources(b, "QuestionnaireResponse")}  # noqa: E731
    assert ids(before).items() <= ids(after).items()
    assert after == bundle_of(settings, service.pseudonym(sender))  # deterministic


def test_the_patient_carries_only_the_pseudonym(settings: Settings) -> None:
    service = TriageService(settings, FLOW)
    sender = "telegram-987654321"
    answer(service, sender, LOW_BACK, "en")
    service.finish(sender, LOW_BACK, "en")
    bundle = bundle_of(settings, service.pseudonym(sender))
    patient = one(bundle, "Patient")
    for field in ("name", "birthDate", "address", "telecom", "gender", "photo", "contact"):
        assert field not in patient
    assert patient["identifier"] == [{"system": "urn:backtalk:pseudonym", "value": service.pseudonym(sender)}]
    assert "987654321" not in json.dumps(bundle)
    subjects = {r["subject"]["reference"] for e in bundle["entry"] for r in [e["resource"]] if "subject" in r}
    assert subjects == {f"urn:uuid:{patient['id']}"}


def test_every_reference_resolves_inside_the_bundle_and_validation_can_fail(settings: Settings) -> None:
    bundle = bundle_of(settings, triage(settings, LOW_BACK))
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    refs = set(all_references(bundle))
    assert refs and refs <= set(full_urls)
    urls = {q["url"] for q in resources(bundle, "Questionnaire")}
    assert {r["questionnaire"] for r in resources(bundle, "QuestionnaireResponse")} <= urls
    dangling = copy.deepcopy(bundle)
    one(dangling, "RiskAssessment")["basis"].append({"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"})
    with pytest.raises(FhirValidationError, match="resolve to no entry"):
        validate_bundle(dangling)
    invalid = copy.deepcopy(bundle)
    one(invalid, "RiskAssessment")["status"] = 42
    response_for(invalid, "start_back")["item"][0]["answer"][0] = {"valueSomething": 1}
    with pytest.raises(FhirValidationError, match="not valid FHIR R4"):
        validate_bundle(invalid)


def test_the_care_plan_has_matched_options_and_the_latest_clinician_decision(settings: Settings) -> None:
    service = TriageService(settings, FLOW)
    sender = random_sender()
    answer(service, sender, LOW_BACK, "it")
    outcome = service.finish(sender, LOW_BACK, "it")
    ResultDelivery(settings, FLOW).deliver(outcome, LOW_BACK, "it", today=date(2026, 12, 1))
    with session_scope(settings.database_url) as db:
        row = TriageRepository(db).by_reference_code(outcome.reference_code)
        user = User(username="dr-test", password_hash="x", role="clinician")
        db.add(user)
        db.flush()
        row.decisions.append(Decision(user_id=user.id, option_ids="reassurance", note="older decision"))
        db.flush()
        row.decisions.append(Decision(user_id=user.id, option_ids="exercise_therapy manual_therapy",
                                      referred_elsewhere=True, note="Physio in two weeks"))
        matched = row.care_plan.option_ids.split()
    assert matched
    bundle = bundle_of(settings, service.pseudonym(sender), "it")
    validate_bundle(bundle)
    plan = one(bundle, "CarePlan")
    assert (plan["status"], plan["intent"]) == ("active", "plan")

    def codes(origin: str) -> List[Optional[str]]:
        return [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]
                if a["detail"]["statusReason"]["coding"][0]["code"] == origin]

    assert codes("triage-suggestion") == matched
    assert codes("clinician-decision") == ["exercise_therapy", "manual_therapy", "referred_elsewhere"]
    decided = [a["detail"] for a in plan["activity"] if a["detail"]["statusReason"]["coding"][0]["code"]
               == "clinician-decision"]
    assert decided[0]["code"]["text"] == translate("it", "treatment.exercise_therapy.name")
    assert {d["status"] for d in decided} != {"not-started"}
    assert [n["text"] for n in plan["note"]] == ["Physio in two weeks"]


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    for name in SECRET_NAMES:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKTALK_DATA_DIR", str(tmp_path / "var"))
    return settings


def audit_rows(settings: Settings) -> List[AuditEvent]:
    with session_scope(settings.database_url) as db:
        return list(db.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def test_the_cli_writes_one_valid_file_per_triage_and_audits_each(cli_env: Settings, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pseudonyms = [triage(cli_env, LOW_BACK), triage(cli_env, RED_FLAG), triage(cli_env, NECK)]
    codes = [stored(cli_env, p)["row"]["reference_code"] for p in pseudonyms]
    out = tmp_path / "fhir"
    assert cli_main(["export", "fhir", "--out", str(out), "--reference-code", codes[0], codes[1]]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{c}.json" for c in codes[:2])
    for code in codes[:2]:
        data = json.loads((out / f"{code}.json").read_text(encoding="utf-8"))
        validate_bundle(data)
        assert data["identifier"]["value"] == code
    events = audit_rows(cli_env)
    assert [(e.action, e.username, e.user_id, e.reference_code) for e in events] == [
        ("export_fhir", "cli", None, code) for code in codes[:2]]
    assert json.loads(events[0].detail)["destination"] == "directory"
    capsys.readouterr()
    assert cli_main(["export", "fhir", "--out", "-", "--language", "nl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(json.loads(line)["identifier"]["value"] for line in lines) == sorted(codes)
    assert len(audit_rows(cli_env)) == 2 + len(codes)


def test_the_cli_refuses_an_unknown_reference_code_and_writes_nothing(cli_env: Settings, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    known = stored(cli_env, triage(cli_env, LOW_BACK))["row"]["reference_code"]
    out = tmp_path / "fhir"
    assert cli_main(["export", "fhir", "--out", str(out), "--reference-code", known, "BT-ZZZZ-ZZZZ"]) == 2
    assert "unknown reference code(s): BT-ZZZZ-ZZZZ" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
    assert audit_rows(cli_env) == []


def test_export_by_clinic_takes_only_that_clinics_triages(settings: Settings, tmp_path: Path) -> None:
    ours, theirs = triage(settings, LOW_BACK), triage(settings, NECK)
    with session_scope(settings.database_url) as db:
        clinic = Clinic(code="north", name="North clinic")
        db.add(clinic)
        db.flush()
        TriageRepository(db).latest(ours).clinic_id = clinic.id
    assert export_fhir(settings.database_url, tmp_path / "out.ndjson", clinic_code="north") == 1
    [line] = (tmp_path / "out.ndjson").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["identifier"]["value"] == stored(settings, ours)["row"]["reference_code"]
    assert stored(settings, theirs)["row"]["reference_code"] not in line
