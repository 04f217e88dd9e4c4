"""One answered follow-up check-in as an HL7 FHIR R4 ``Bundle``, for the same Patient (pseudonym)
and reference code as its triage's bundle (bot.fhir.bundle), so a receiver files it next to them.

- ``Patient``: the same resource (same id) as in the triage's bundle.
- ``Questionnaire`` "followup": the items this check-in asked (the triage's items where reused, with
  their LOINC codes, plus global change and treatment received).
- ``QuestionnaireResponse``: the answers, identified by ``<reference code>/<check-in label>``.
- ``Observation``s: pain now (LOINC 72514-3, as in the triage), BackTalk's function score (0-24),
  and the patient's global rating of change, each dated when the check-in was answered.

``record_bundle`` is what leaves the building (``backtalk export fhir``, the clinic's fhir.json):
the triage's bundle with every answered check-in's resources added.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.fhir.bundle import (
    OBSERVATION_CATEGORY,
    PSEUDONYMISED,
    SYSTEM_REFERENCE_CODE,
    SYSTEM_SCORE,
    _without_none,
    answer_value,
    entry,
    fhir_datetime,
    loinc_coding,
    patient_resource,
    questionnaire_item,
    questionnaire_url,
    reference,
    resource_id,
    triage_bundle,
    triage_key,
)
from bot.followup.conversation import followup_steps, parse_code
from bot.i18n.catalog import supported_language, translate
from bot.prediction.predict import FUNCTION_ITEMS, function_score
from bot.questionnaires.model import Item
from bot.store.models import FollowUp, FollowUpSeries, TriageSession

Resource = Dict[str, Any]
SYSTEM_FOLLOWUP = "urn:backtalk:followup"
PAIN_LOINC = "72514-3"


def _key(triage: TriageSession, followup: FollowUp) -> str:
    return f"{triage_key(triage)}/followup/{followup.label}"


def _answered(followup: FollowUp) -> List[Tuple[Item, str]]:
    codes = {a.item_id: a.code for a in followup.answers}
    return [(step.item, codes[step.item.id]) for step in followup_steps() if step.item.id in codes]


def _observation(triage: TriageSession, followup: FollowUp, patient: Resource, response: Resource, name: str,
                 code: List[Dict[str, str]], value: Dict[str, Any]) -> Resource:
    return _without_none({
        "resourceType": "Observation",
        "id": resource_id(_key(triage, followup), "Observation", name),
        "identifier": [{"system": SYSTEM_REFERENCE_CODE, "value": triage.reference_code}],
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {"coding": code, "text": name},
        "subject": reference(patient),
        "effectiveDateTime": fhir_datetime(followup.answered_at),
        "derivedFrom": [reference(response)],
        **value,
    })


def followup_bundle(triage: TriageSession, followup: FollowUp, language: str = "en") -> Dict[str, Any]:
    """The check-in as a ``collection`` Bundle (see bot.fhir.bundle for why not ``document``);
    only an answered check-in has one."""
    if supported_language(language) != language:
        raise ValueError(f"unsupported language {language!r}")
    if followup.status != "answered":
        raise ValueError("only an answered check-in is exported")
    patient = patient_resource(triage)
    answered = _answered(followup)
    questionnaire = _without_none({
        "resourceType": "Questionnaire",
        "id": resource_id(questionnaire_url("followup"), language),
        "language": language,
        "url": questionnaire_url("followup"),
        "name": "BackTalk_followup",
        "status": "active",
        "subjectType": ["Patient"],
        "description": "BackTalk's follow-up check-in; items in BackTalk's own wording, not a validated instrument's.",
        "item": [questionnaire_item(step.item, language) for step in followup_steps()],
    })
    response = _without_none({
        "resourceType": "QuestionnaireResponse",
        "id": resource_id(_key(triage, followup), "QuestionnaireResponse"),
        "language": language,
        "identifier": {"system": SYSTEM_FOLLOWUP, "value": f"{triage.reference_code}/{followup.label}"},
        "questionnaire": questionnaire_url("followup"),
        "status": "completed",
        "subject": reference(patient),
        "source": reference(patient),
        "authored": fhir_datetime(followup.answered_at),
        "item": [{"linkId": item.id, "text": translate(language, item.text),
                  "answer": [answer_value(item, code, language)]} for item, code in answered],
    })
    codes = dict((item.id, code) for item, code in answered)
    observations: List[Resource] = []
    if "pain_now" in codes:
        observations.append(_observation(triage, followup, patient, response, "pain now (0-10)",
                                         loinc_coding(PAIN_LOINC), {"valueInteger": int(codes["pain_now"])}))
    if all(i in codes for i in FUNCTION_ITEMS):
        score = function_score({i: parse_code(_item(i), codes[i]) for i in FUNCTION_ITEMS})
        observations.append(_observation(triage, followup, patient, response, "function score (0-24)",
                                         [{"system": SYSTEM_SCORE, "code": "backtalk-function"}],
                                         {"valueInteger": score}))
    change: Optional[str] = codes.get("global_change")
    if change is not None:
        item = _item("global_change")
        observations.append(_observation(triage, followup, patient, response, "global rating of change",
                                         [{"system": SYSTEM_SCORE, "code": "global-change"}],
                                         {"valueCodeableConcept": {"coding": [answer_value(item, change, language)
                                                                              ["valueCoding"]]}}))
    resources = [patient, questionnaire, response, *observations]
    return {
        "resourceType": "Bundle",
        "id": resource_id(_key(triage, followup), "Bundle"),
        "meta": {"security": [PSEUDONYMISED]},
        "identifier": {"system": SYSTEM_FOLLOWUP, "value": f"{triage.reference_code}/{followup.label}"},
        "type": "collection",
        "entry": [entry(resource) for resource in resources],
    }


def _item(item_id: str) -> Item:
    return next(step.item for step in followup_steps() if step.item.id == item_id)


def answered_followups(db: Session, triage: TriageSession) -> List[FollowUp]:
    """The triage's answered check-ins (of every series it had), oldest answer first."""
    return list(db.execute(
        select(FollowUp).join(FollowUpSeries, FollowUpSeries.id == FollowUp.series_id)
        .where(FollowUpSeries.session_id == triage.id, FollowUp.status == "answered")
        .order_by(FollowUp.answered_at, FollowUp.id)
    ).scalars())


def record_bundle(db: Session, triage: TriageSession, language: str = "en") -> Dict[str, Any]:
    """The patient's whole record as one ``collection`` Bundle: the triage's resources, then each
    answered check-in's QuestionnaireResponse and Observations (bot.fhir.bundle.triage_bundle,
    ``followup_bundle``). A receiver gets the triage and the course since in one file; resources the
    check-ins share with the triage (the Patient) or with each other (the follow-up Questionnaire)
    have the same ids and appear once."""
    bundle = triage_bundle(triage, language)
    seen = {item["fullUrl"] for item in bundle["entry"]}
    for followup in answered_followups(db, triage):
        for item in followup_bundle(triage, followup, language)["entry"]:
            if item["fullUrl"] not in seen:
                seen.add(item["fullUrl"])
                bundle["entry"].append(item)
    return bundle
