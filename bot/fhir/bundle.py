"""One triage as an HL7 FHIR R4 ``Bundle`` (plain JSON-able dicts, checked with fhir.resources).

What goes in, and why each resource was chosen (the mapping table is in docs/fhir.md):

- ``Patient``: only the pseudonym (a keyed HMAC of the channel id), so a receiver can group a
  conversation's triages without learning who the patient is. No name, birth date, contact.
- ``Questionnaire`` per instrument: R4's ``QuestionnaireResponse.item`` has no ``code`` element, so
  the LOINC codes of our items live where R4 puts them, on ``Questionnaire.item.code``; the response
  points at it through its canonical URL and the item ``linkId``.
- ``QuestionnaireResponse`` per instrument answered, answers typed (boolean, integer, coding).
- ``Observation`` per score (total; the STarT Back psychosocial subscale) or for the red flag.
- ``RiskAssessment``: the risk group, or the red flag (then with no risk group).
- ``CarePlan``: the matched treatment options and the clinician's latest decision.

Everything here reads the stored triage only; it imports no Rasa and writes nothing.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import yaml
from pydantic import ValidationError

from bot.careplan.options import TreatmentOption, load_options
from bot.i18n.catalog import supported_language, translate
from bot.paths import QUESTIONNAIRE_DIR
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.loader import load_questionnaire
from bot.questionnaires.model import Item, Questionnaire
from bot.store.models import Answer, CarePlanRecord, Decision, TriageSession
from bot.triage.replies import DISCLAIMERS

Resource = Dict[str, Any]

# uuid5 namespace of every BackTalk resource id: ids are reproducible from the stored rows, so a
# re-export of the same triage yields the same ids and a receiver updates instead of duplicating.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:backtalk")

LOINC = "http://loinc.org"
SYSTEM_PSEUDONYM = "urn:backtalk:pseudonym"
SYSTEM_REFERENCE_CODE = "urn:backtalk:reference-code"
SYSTEM_RISK_TOOL = "urn:backtalk:risk-tool"
SYSTEM_RISK_ASSESSMENT = "urn:backtalk:risk-assessment"
SYSTEM_RISK_GROUP = "urn:backtalk:risk-group"
SYSTEM_SCORE = "urn:backtalk:score"
SYSTEM_OBSERVATION = "urn:backtalk:observation"
SYSTEM_RED_FLAG = "urn:backtalk:red-flag"
SYSTEM_TREATMENT = "urn:backtalk:treatment-option"
SYSTEM_ACTIVITY_ORIGIN = "urn:backtalk:careplan-activity-origin"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V3_OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"

# The security label every bundle carries: the subject is pseudonymised (HL7 v3 ObservationValue).
PSEUDONYMISED = {"system": V3_OBSERVATION_VALUE, "code": "PSEUDED", "display": "pseudonymized"}

# LOINC codes of the STarT Back Screening Tool (CLINICAL_FACTS.md; loinc.org 91349-1 panel):
# total 91351-7, psychosocial subscale 91350-9, risk category 91352-5 with answer list LL3578-3.
# STarT MSK has no LOINC codes; its scores carry our own codes only.
SBT_TOTAL_LOINC = "91351-7"
SBT_SUBSCALE_LOINC = "91350-9"
SBT_RISK_LOINC = "91352-5"
SBT_RISK_ANSWERS = {"low": "LA9194-7", "medium": "LA8982-6", "high": "LA9193-9"}
# Our groups on HL7's risk-probability code system (it says "moderate" for our "medium").
RISK_PROBABILITY_CODES = {"low": "low", "medium": "moderate", "high": "high"}
RISK_TOOL_NAMES = {
    "start_back": "STarT Back scoring rules (Hill et al. 2008)",
    "start_msk": "STarT MSK scoring rules (Dunn et al. 2021)",
}
RED_FLAG_SCREEN = "Red-flag screen (IFOMPT framework: Finucane et al. 2020; Rushton et al. 2023)"
RED_FLAG_MITIGATION = "The questionnaire stopped at this answer and the patient was shown urgent medical advice."
CLINICIAN_DECISION = {"system": SYSTEM_ACTIVITY_ORIGIN, "code": "clinician-decision",
                      "display": "decided by clinician"}
TRIAGE_SUGGESTION = {"system": SYSTEM_ACTIVITY_ORIGIN, "code": "triage-suggestion",
                     "display": "suggested by the triage (treatment options matched to the risk group)"}
REFERRED_ELSEWHERE = {"system": SYSTEM_TREATMENT, "code": "referred_elsewhere", "display": "referred elsewhere"}
# Triage status -> QuestionnaireResponse.status; "abandoned" means the patient started over.
RESPONSE_STATUS = {"complete": "completed", "red_flag": "completed", "in_progress": "in-progress",
                   "abandoned": "stopped"}


class FhirMappingError(ValueError):
    """A stored triage cannot be expressed faithfully (e.g. an answer the data files do not know)."""


class FhirValidationError(ValueError):
    """A bundle is not valid FHIR R4, or one of its references points outside it."""


# --- ids and references -------------------------------------------------------------------------

def triage_key(triage: TriageSession) -> str:
    """The name every id of this triage derives from: its pseudonym and session id, not the reference
    code, because an unfinished triage has none and its ids must not change when it gets one."""
    return f"{triage.pseudonym}/session/{triage.id}"


def resource_id(*parts: str) -> str:
    """A stable FHIR id (uuid5): FHIR ids allow no underscore, and a uuid also serves as the
    ``urn:uuid:`` fullUrl that references inside the bundle use."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def full_url(resource: Resource) -> str:
    return f"urn:uuid:{resource['id']}"


def reference(resource: Resource) -> Dict[str, str]:
    return {"reference": full_url(resource)}


def fhir_datetime(value: Optional[datetime]) -> Optional[str]:
    """FHIR dateTime with a zone; SQLite hands back naive datetimes, which we store as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat(timespec="seconds")


def _without_none(resource: Resource) -> Resource:
    """FHIR forbids empty and null elements; optional fields we have no value for are left out."""
    return {key: value for key, value in resource.items() if value not in (None, [], {})}


# --- questionnaires -----------------------------------------------------------------------------

def questionnaire_url(questionnaire_id: str) -> str:
    return f"urn:backtalk:questionnaire:{questionnaire_id}"


def answer_system(questionnaire_id: str) -> str:
    """Code system of an instrument's answer options: option codes are unique per instrument only."""
    return f"urn:backtalk:{questionnaire_id}"


@lru_cache(maxsize=None)
def instrument(questionnaire_id: str) -> Tuple[Questionnaire, Optional[str]]:
    """An instrument's facts (source, wording, copyright) and its LOINC panel code, which the
    loader does not keep (the bot never needs it)."""
    path = QUESTIONNAIRE_DIR / f"{questionnaire_id}.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return load_questionnaire(path), raw.get("loinc_panel")


def loinc_coding(code: Optional[str]) -> List[Dict[str, str]]:
    return [{"system": LOINC, "code": code}] if code else []


def option_coding(item: Item, code: str, language: str) -> Dict[str, str]:
    option = item.option(code)
    if option is None:
        raise FhirMappingError(f"{item.id}: {code!r} is not one of its options")
    return {"system": answer_system(item.questionnaire), "code": code, "display": translate(language, option.label)}


def questionnaire_item(item: Item, language: str) -> Resource:
    """An item's definition: type, LOINC code, answer options or range; derived items are read-only
    because the patient was never asked them (their value follows from another answer)."""
    definition: Resource = {
        "linkId": item.id,
        "code": loinc_coding(item.loinc),
        "text": translate(language, item.text),
        "type": item.kind,
        "readOnly": True if item.derived_from else None,
    }
    if item.kind == "choice":
        definition["answerOption"] = [{"valueCoding": option_coding(item, o.code, language)} for o in item.options]
    if item.kind == "integer":
        definition["extension"] = [{"url": MIN_VALUE, "valueInteger": item.minimum},
                                   {"url": MAX_VALUE, "valueInteger": item.maximum}]
    return _without_none(definition)


def questionnaire_resource(questionnaire_id: str, items: Sequence[Item], language: str) -> Resource:
    """The instrument as a ``Questionnaire``: where R4 lets LOINC codes sit on items, and what says
    plainly whether the wording is the validated one."""
    facts, panel = instrument(questionnaire_id)
    wording = ("validated wording" if facts.validated_wording
               else "BackTalk's own wording, not the validated instrument's")
    return _without_none({
        "resourceType": "Questionnaire",
        "id": resource_id(questionnaire_url(questionnaire_id), language),
        "language": language,
        "url": questionnaire_url(questionnaire_id),
        "name": f"BackTalk_{questionnaire_id}",
        "status": "active",
        "subjectType": ["Patient"],
        "code": loinc_coding(panel),
        "description": f"Source: {facts.source.rstrip('.')}. Items in {wording}.",
        "copyright": facts.copyright,
        "item": [questionnaire_item(item, language) for item in items],
    })


def answer_value(item: Item, code: str, language: str) -> Dict[str, Any]:
    """A stored answer code as a typed FHIR answer (codes are canonical: true/false, digits, option codes)."""
    if item.kind == "boolean":
        if code not in ("true", "false"):
            raise FhirMappingError(f"{item.id}: stored answer {code!r} is not true/false")
        return {"valueBoolean": code == "true"}
    if item.kind == "integer":
        try:
            return {"valueInteger": int(code)}
        except ValueError:
            raise FhirMappingError(f"{item.id}: stored answer {code!r} is not an integer") from None
    return {"valueCoding": option_coding(item, code, language)}


def answers_by_instrument(answers: Sequence[Answer], flow: TriageFlow) -> Dict[str, List[Tuple[Item, str]]]:
    """Stored answers grouped by instrument, both in the triage's asking order (not answer order,
    which "go back" shuffles)."""
    codes = {answer.item_id: answer.code for answer in answers}
    unknown = sorted(set(codes) - set(flow.by_id))
    if unknown:
        raise FhirMappingError(f"answers to items the questionnaire data does not define: {', '.join(unknown)}")
    grouped: Dict[str, List[Tuple[Item, str]]] = {}
    for item in flow.items:
        if item.id in codes:
            grouped.setdefault(item.questionnaire, []).append((item, codes[item.id]))
    return grouped


def response_resource(triage: TriageSession, questionnaire_id: str, answered: Sequence[Tuple[Item, str]],
                      patient: Resource, language: str) -> Resource:
    """One instrument's answers; the reference code identifies the triage these responses belong to."""
    return _without_none({
        "resourceType": "QuestionnaireResponse",
        "id": resource_id(triage_key(triage), "QuestionnaireResponse", questionnaire_id),
        "language": language,
        "identifier": ({"system": SYSTEM_REFERENCE_CODE, "value": triage.reference_code}
                       if triage.reference_code else None),
        "questionnaire": questionnaire_url(questionnaire_id),
        "status": RESPONSE_STATUS.get(triage.status, "in-progress"),
        "subject": reference(patient),
        "source": reference(patient),  # the patient answered for themselves
        "authored": fhir_datetime(triage.completed_at or triage.updated_at),
        "item": [{"linkId": item.id, "text": translate(language, item.text),
                  "answer": [answer_value(item, code, language)]} for item, code in answered],
    })


# --- patient, scores, risk ----------------------------------------------------------------------

def patient_resource(triage: TriageSession) -> Resource:
    """The pseudonym and nothing else. The id derives from the pseudonym, so every triage of one
    conversation names the same Patient."""
    return {
        "resourceType": "Patient",
        "id": resource_id(triage.pseudonym, "Patient"),
        "meta": {"security": [PSEUDONYMISED]},
        "identifier": [{"system": SYSTEM_PSEUDONYM, "value": triage.pseudonym}],
    }


def score_observation(triage: TriageSession, name: str, loinc: Optional[str], value: int,
                      patient: Resource, response: Optional[Resource]) -> Resource:
    """A score as a survey Observation, derived from the response it was computed from."""
    return _without_none({
        "resourceType": "Observation",
        "id": resource_id(triage_key(triage), "Observation", name),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [*loinc_coding(loinc), {"system": SYSTEM_SCORE, "code": name}]},
        "subject": reference(patient),
        "effectiveDateTime": fhir_datetime(triage.completed_at),
        "valueInteger": value,
        "derivedFrom": [reference(response)] if response else None,
    })


def score_observations(triage: TriageSession, patient: Resource, response: Optional[Resource]) -> List[Resource]:
    """Total score, and the STarT Back psychosocial subscale separately (it decides high risk)."""
    tool = triage.risk_tool
    loinc = tool == "start_back"  # STarT MSK scores have no LOINC codes
    observations = []
    if triage.risk_score is not None:
        observations.append(score_observation(triage, f"{tool}_total", SBT_TOTAL_LOINC if loinc else None,
                                              triage.risk_score, patient, response))
    if triage.risk_subscore is not None:
        observations.append(score_observation(triage, f"{tool}_subscale", SBT_SUBSCALE_LOINC if loinc else None,
                                              triage.risk_subscore, patient, response))
    return observations


def qualitative_risk(tool: str, group: str, language: str) -> Dict[str, Any]:
    """The risk group on three code systems: HL7 risk-probability (any receiver), our own, and for
    STarT Back the LOINC answer code; the text is the group's name in the requested language."""
    coding = [{"system": RISK_PROBABILITY, "code": RISK_PROBABILITY_CODES[group]},
              {"system": SYSTEM_RISK_GROUP, "code": group}]
    if tool == "start_back":
        coding.append({"system": LOINC, "code": SBT_RISK_ANSWERS[group]})
    return {"coding": coding, "text": translate(language, f"careplan.risk.{group}")}


def risk_assessment(triage: TriageSession, patient: Resource, response: Optional[Resource],
                    scores: Sequence[Resource], language: str) -> Resource:
    """The risk group, with the scoring rules named and our own wording said (CLINICAL_FACTS.md: never
    presented as the validated tool): ``method.text`` is the disclaimer the patient read."""
    tool = str(triage.risk_tool)
    group = str(triage.risk_group)
    if group not in RISK_PROBABILITY_CODES:
        raise FhirMappingError(f"unknown risk group {group!r}")
    return _without_none({
        "resourceType": "RiskAssessment",
        "id": resource_id(triage_key(triage), "RiskAssessment"),
        "identifier": [{"system": SYSTEM_REFERENCE_CODE, "value": triage.reference_code}],
        "status": "final",
        "code": {"coding": [*(loinc_coding(SBT_RISK_LOINC) if tool == "start_back" else []),
                            {"system": SYSTEM_RISK_ASSESSMENT, "code": tool}]},
        "method": {"coding": [{"system": SYSTEM_RISK_TOOL, "code": tool, "display": RISK_TOOL_NAMES.get(tool, tool)}],
                   "text": translate(language, DISCLAIMERS.get(tool, DISCLAIMERS["start_back"]))},
        "subject": reference(patient),
        "occurrenceDateTime": fhir_datetime(triage.completed_at),
        "basis": [reference(r) for r in [response, *scores] if r is not None],
        "prediction": [{"qualitativeRisk": qualitative_risk(tool, group, language)}],
    })


def red_flag_coding(item: Item, language: str) -> Dict[str, Any]:
    """The flag by id, named by its short text, with the question the patient said yes to."""
    display = translate(language, item.short) if item.short else item.id
    return {"coding": [{"system": SYSTEM_RED_FLAG, "code": item.id, "display": display}],
            "text": translate(language, item.text)}


def red_flag_resources(triage: TriageSession, flow: TriageFlow, patient: Resource,
                       response: Optional[Resource], language: str) -> List[Resource]:
    """A positive red-flag screen: an Observation naming the flag, and a RiskAssessment with the flag
    as the predicted outcome and no risk group (the questionnaire stopped before the risk items)."""
    flag = flow.by_id.get(str(triage.red_flag))
    if flag is None:
        raise FhirMappingError(f"red flag {triage.red_flag!r} is not an item of the questionnaire data")
    observation = _without_none({
        "resourceType": "Observation",
        "id": resource_id(triage_key(triage), "Observation", "red_flag"),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [{"system": SYSTEM_OBSERVATION, "code": "red-flag", "display": "red flag reported"}]},
        "subject": reference(patient),
        "effectiveDateTime": fhir_datetime(triage.completed_at),
        "valueCodeableConcept": red_flag_coding(flag, language),
        "derivedFrom": [reference(response)] if response else None,
    })
    facts, _ = instrument(flag.questionnaire)
    assessment = _without_none({
        "resourceType": "RiskAssessment",
        "id": resource_id(triage_key(triage), "RiskAssessment"),
        "identifier": [{"system": SYSTEM_REFERENCE_CODE, "value": triage.reference_code}],
        "status": "final",
        "code": {"coding": [{"system": SYSTEM_RISK_ASSESSMENT, "code": "red_flags"}]},
        "method": {"coding": [{"system": SYSTEM_RISK_TOOL, "code": "red_flags", "display": RED_FLAG_SCREEN}],
                   "text": f"Source: {facts.source}"},
        "subject": reference(patient),
        "occurrenceDateTime": fhir_datetime(triage.completed_at),
        "basis": [reference(r) for r in (response, observation) if r is not None],
        "prediction": [{"outcome": red_flag_coding(flag, language)}],
        "mitigation": RED_FLAG_MITIGATION,
    })
    return [observation, assessment]


# --- care plan ----------------------------------------------------------------------------------

def option_concept(option_id: str, options: Mapping[str, TreatmentOption], language: str) -> Dict[str, Any]:
    """A treatment option by id, named in the language; an id the data no longer has keeps its code."""
    option = options.get(option_id)
    coding = {"system": SYSTEM_TREATMENT, "code": option_id}
    if option is not None:
        coding["display"] = translate(language, option.name)
    return {"coding": [coding], "text": coding.get("display", option_id)}


def activity(code: Dict[str, Any], status: str, origin: Dict[str, str]) -> Resource:
    """One activity; ``statusReason`` says who put it there (the triage or a clinician)."""
    return {"detail": {"code": code, "status": status, "statusReason": {"coding": [origin], "text": origin["display"]}}}


def care_plan_activities(record: Optional[CarePlanRecord], decision: Optional[Decision],
                         language: str) -> List[Resource]:
    """Suggestions first (not started), then what the clinician decided (scheduled)."""
    options = {o.id: o for o in load_options()}
    activities = [activity(option_concept(option_id, options, language), "not-started", TRIAGE_SUGGESTION)
                  for option_id in (record.option_ids.split() if record else [])]
    if decision is not None:
        activities += [activity(option_concept(option_id, options, language), "scheduled", CLINICIAN_DECISION)
                       for option_id in decision.option_ids.split()]
        if decision.referred_elsewhere:
            activities.append(activity({"coding": [REFERRED_ELSEWHERE], "text": REFERRED_ELSEWHERE["display"]},
                                       "scheduled", CLINICIAN_DECISION))
    return activities


def care_plan_resource(triage: TriageSession, patient: Resource, risk: Optional[Resource],
                       language: str) -> Optional[Resource]:
    """The plan: matched options, and the latest clinician decision (earlier ones are history the
    workspace keeps; a receiver needs the current one). None when there is neither."""
    record = triage.care_plan
    decision = triage.decisions[-1] if triage.decisions else None
    if record is None and decision is None:
        return None
    return _without_none({
        "resourceType": "CarePlan",
        "id": resource_id(triage_key(triage), "CarePlan"),
        "identifier": ([{"system": SYSTEM_REFERENCE_CODE, "value": triage.reference_code}]
                       if triage.reference_code else None),
        "language": language,
        "status": "active",
        "intent": "plan",
        "subject": reference(patient),
        "created": fhir_datetime(record.created_at if record else decision.decided_at),  # type: ignore[union-attr]
        "supportingInfo": [reference(risk)] if risk else None,
        "activity": care_plan_activities(record, decision, language),
        "note": ([{"text": decision.note, "time": fhir_datetime(decision.decided_at)}]
                 if decision is not None and decision.note else None),
    })


# --- the bundle ---------------------------------------------------------------------------------

def entry(resource: Resource) -> Resource:
    return {"fullUrl": full_url(resource), "resource": resource}


def triage_bundle(triage: TriageSession, language: str = "en") -> Dict[str, Any]:
    """The triage as a FHIR R4 Bundle of type ``collection``.

    Not ``document``: a document bundle must open with a ``Composition`` attested by an author
    (bdl-11) and stands as one signed clinical document; this is a set of records produced by a
    chat, with no author to attest it, that a receiver files resource by resource. Texts (items,
    options, risk group, treatment names) are in ``language``; codes never depend on it.
    """
    supported = supported_language(language)
    if supported is None or supported != language:
        raise ValueError(f"unsupported language {language!r}")
    flow = TriageFlow()
    patient = patient_resource(triage)
    grouped = answers_by_instrument(triage.answers, flow)
    questionnaires = [questionnaire_resource(qid, [i for i in flow.items if i.questionnaire == qid], language)
                      for qid in grouped]
    responses = {qid: response_resource(triage, qid, answered, patient, language) for qid, answered in grouped.items()}
    derived: List[Resource] = []
    risk: Optional[Resource] = None
    if triage.reference_code and triage.red_flag:
        *derived, risk = red_flag_resources(triage, flow, patient, responses.get("red_flags"), language)
    elif triage.reference_code and triage.risk_group:
        response = responses.get(str(triage.risk_tool))
        derived = score_observations(triage, patient, response)
        risk = risk_assessment(triage, patient, response, derived, language)
    plan = care_plan_resource(triage, patient, risk, language)
    resources = [patient, *questionnaires, *responses.values(), *derived, *([risk] if risk else []),
                 *([plan] if plan else [])]
    return _without_none({
        "resourceType": "Bundle",
        "id": resource_id(triage_key(triage), "Bundle"),
        "meta": {"security": [PSEUDONYMISED]},
        "identifier": ({"system": SYSTEM_REFERENCE_CODE, "value": triage.reference_code}
                       if triage.reference_code else None),
        "type": "collection",
        "entry": [entry(resource) for resource in resources],
    })


# --- validation ---------------------------------------------------------------------------------

def references(data: Any) -> Iterator[str]:
    """Every ``reference`` string anywhere in a resource tree."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(data, list):
        for value in data:
            yield from references(value)


def _parse(model_name: str, data: Mapping[str, Any], where: str) -> None:
    from fhir.resources import get_fhir_model_class

    try:
        model = get_fhir_model_class(model_name)
    except KeyError:
        raise FhirValidationError(f"{where}: {model_name!r} is not a FHIR R4 resource type") from None
    try:
        model.parse_obj(data)
    except ValidationError as error:
        raise FhirValidationError(f"{where} is not valid FHIR R4 {model_name}:\n{error}") from None


def validate_bundle(data: Dict[str, Any]) -> None:
    """Raise ``FhirValidationError`` unless ``data`` is a valid R4 Bundle (fhir.resources 6.4, R4
    4.0.1) whose every resource is valid and every reference resolves to an entry's fullUrl.

    Resolution is our rule, not FHIR's: an export whose references lead out of the bundle would
    leave the receiver with dangling links, since we offer no server to resolve them against."""
    try:
        json.dumps(data)
    except (TypeError, ValueError) as error:
        raise FhirValidationError(f"bundle is not plain JSON: {error}") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FhirValidationError("not a Bundle: resourceType must be 'Bundle'")
    _parse("Bundle", data, "the bundle")
    full_urls: List[str] = []
    for index, item in enumerate(data.get("entry", [])):
        resource = item.get("resource")
        if not isinstance(resource, dict) or "resourceType" not in resource:
            raise FhirValidationError(f"entry {index} has no resource with a resourceType")
        _parse(resource["resourceType"], resource, f"entry {index} ({resource['resourceType']})")
        full_urls.append(item.get("fullUrl", ""))
    duplicates = sorted({u for u in full_urls if full_urls.count(u) > 1})
    if duplicates:
        raise FhirValidationError(f"fullUrls used twice: {', '.join(duplicates)}")
    dangling = sorted(set(references(data.get("entry", []))) - set(full_urls))
    if dangling:
        raise FhirValidationError(f"references that resolve to no entry of the bundle: {', '.join(dangling)}")
