"""The summary a clinician reads before the consultation, built from the stored triage in the
clinician's language: red flags first (with the patient's own words), the risk tool, score,
subscale and group with its meaning, every answer next to its question, the outlook and care plan
the patient received, and what has been decided so far.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Tuple

from bot.careplan.options import load_options
from bot.i18n.catalog import mark, translate
from bot.i18n.languages import label as language_label
from bot.privacy.text_cipher import InvalidToken, TextCipher
from bot.questionnaires.flow import TriageFlow
from bot.triage.replies import answer_label
from bot.store.models import Decision, TriageSession

logger = logging.getLogger(__name__)

TOOL_NAMES = {"start_back": mark("clinic.tool.start_back"), "start_msk": mark("clinic.tool.start_msk")}
GROUP_NAMES = {"low": mark("careplan.risk.low"), "medium": mark("careplan.risk.medium"),
               "high": mark("careplan.risk.high")}
# What a risk group means for care, in clinicians' terms (stratified care, Hill et al. Lancet 2011).
GROUP_MEANINGS = {"low": mark("clinic.meaning.low"), "medium": mark("clinic.meaning.medium"),
                  "high": mark("clinic.meaning.high")}
STATUS_NAMES = {"in_progress": mark("clinic.status.in_progress"), "complete": mark("clinic.status.complete"),
                "red_flag": mark("clinic.status.red_flag")}
REVIEW_NAMES = {"new": mark("clinic.review.new"), "seen": mark("clinic.review.seen"),
                "booked": mark("clinic.review.booked")}


@dataclass(frozen=True)
class AnswerLine:
    item_id: str
    question: str
    answer: str
    words: Optional[str]  # as the patient typed it; None when a button was tapped
    alarming: bool  # a red-flag question answered "yes"


@dataclass(frozen=True)
class Risk:
    tool: str
    score: Optional[int]
    subscale: Optional[int]
    group: str
    group_code: str
    meaning: str


@dataclass(frozen=True)
class DecisionView:
    decided_at: datetime
    by: str
    options: Tuple[str, ...]
    referred_elsewhere: bool
    note: Optional[str]


@dataclass(frozen=True)
class Summary:
    id: int
    reference_code: Optional[str]
    status: str
    status_code: str
    review_status: str
    review_code: str
    started_at: datetime
    finished_at: Optional[datetime]
    patient_language: str
    channel: Optional[str]
    red_flags: Tuple[AnswerLine, ...]
    risk: Optional[Risk]
    answers: Tuple[AnswerLine, ...]
    outlook_notice: Optional[str]  # the honesty label the patient read with the outlook, if any
    has_outlook: bool
    has_care_plan_pdf: bool
    options: Tuple[Tuple[str, str], ...]  # matched treatment options: (name, explanation)
    decisions: Tuple[DecisionView, ...]

    @property
    def current_decision(self) -> Optional[DecisionView]:
        return self.decisions[-1] if self.decisions else None


def _words(cipher: TextCipher, encrypted: Optional[str]) -> Optional[str]:
    if not encrypted:
        return None
    try:
        return cipher.decrypt(encrypted)
    except InvalidToken:  # another key (rotated): say nothing rather than show garbage
        logger.warning("an answer's words could not be decrypted (key changed?)")
        return None


def option_names(option_ids: str, language: str) -> Tuple[Tuple[str, str], ...]:
    by_id = {o.id: o for o in load_options()}
    return tuple((translate(language, by_id[i].name), translate(language, by_id[i].about))
                 for i in option_ids.split() if i in by_id)


def _decision_view(decision: Decision, language: str) -> DecisionView:
    names = tuple(name for name, _ in option_names(decision.option_ids, language))
    return DecisionView(decision.decided_at, decision.user.username if decision.user else "?", names,
                        decision.referred_elsewhere, decision.note)


def build_summary(triage: TriageSession, language: str, cipher: TextCipher,
                  flow: Optional[TriageFlow] = None) -> Summary:
    flow = flow or TriageFlow()

    def t(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    stored = {a.item_id: a for a in triage.answers}
    values = {item_id: flow.item(item_id).value_of(a.code) for item_id, a in stored.items() if flow.is_item(item_id)}
    lines = []
    for item in flow.answered_on_path(values):
        if item.id == "consent":
            continue
        answer = stored.get(item.id)
        value = values.get(item.id, flow.with_derived(values).get(item.id))
        lines.append(AnswerLine(
            item_id=item.id,
            question=t(item.text),
            answer=answer_label(item, value, language),
            words=_words(cipher, answer.typed_encrypted) if answer is not None else None,
            alarming=item.questionnaire == "red_flags" and value is True,
        ))
    risk = None
    if triage.risk_group:
        risk = Risk(tool=t(TOOL_NAMES.get(triage.risk_tool or "", TOOL_NAMES["start_back"])),
                    score=triage.risk_score, subscale=triage.risk_subscore,
                    group=t(GROUP_NAMES[triage.risk_group]), group_code=triage.risk_group,
                    meaning=t(GROUP_MEANINGS[triage.risk_group]))
    plan = triage.care_plan
    notice = None
    kinds = {d.kind for d in triage.documents}
    if "outlook_png" in kinds and plan is not None:
        illustrative = translate(plan.language, "prediction.illustrative")
        notice = t("prediction.illustrative") if illustrative in plan.text else None
    return Summary(
        id=triage.id,
        reference_code=triage.reference_code,
        status=t(STATUS_NAMES.get(triage.status, STATUS_NAMES["in_progress"])),
        status_code=triage.status,
        review_status=t(REVIEW_NAMES.get(triage.review_status, REVIEW_NAMES["new"])),
        review_code=triage.review_status,
        started_at=triage.started_at,
        finished_at=triage.completed_at,
        patient_language=language_label(triage.language),
        channel=triage.channel,
        red_flags=tuple(line for line in lines if line.alarming),
        risk=risk,
        answers=tuple(lines),
        outlook_notice=notice,
        has_outlook="outlook_png" in kinds,
        has_care_plan_pdf="care_plan_pdf" in kinds,
        options=option_names(plan.option_ids, language) if plan is not None else (),
        decisions=tuple(_decision_view(d, language) for d in triage.decisions),
    )
