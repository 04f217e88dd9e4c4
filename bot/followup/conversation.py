"""The follow-up conversation, independent of Rasa: which check-in a returning patient answers, the
next question, each answer stored as it comes, and the end (thanks, urgent advice for a red flag,
an alert to the clinic for a red flag or a clinically important worsening).

Progress lives in the database, not in the conversation's slots: a check-in can be answered from
another browser (the return link), paused and taken up days later, or interrupted by a new triage,
and the next question is always "the first one without an answer". Items reuse the triage's
definitions (data/questionnaires/followup.yml), so wording, codes and FHIR linkIds are the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.followup import series as followup_series
from bot.i18n.catalog import mark, translate
from bot.notify.outbox import channels_of
from bot.paths import QUESTIONNAIRE_DIR
from bot.prediction.predict import FUNCTION_ITEMS, function_score
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.interpret import Canonical, interpret
from bot.questionnaires.loader import load_questionnaire
from bot.questionnaires.model import Item
from bot.store.models import Answer, Clinic, FollowUp, FollowUpAnswer, Notification, TriageSession
from bot.triage import replies
from bot.triage.service import TriageOutcome, code_of

# Minimal clinically important change (CLINICAL_FACTS.md, Ostelo et al. 2008): 2 points of pain
# (0-10); for function, RMDQ's 5 of 24 on BackTalk's 0-24 function score.
PAIN_MCID = 2
FUNCTION_MCID = 5
ALERT_URGENCY = "follow_up_alert"
Message = Dict[str, Any]


@dataclass(frozen=True)
class Step:
    item: Item
    only_when_restratify: bool = False


@lru_cache(maxsize=2)
def followup_steps(directory: Path = QUESTIONNAIRE_DIR) -> Tuple[Step, ...]:
    raw = yaml.safe_load((directory / "followup.yml").read_text(encoding="utf-8"))
    own = {i.id: i for i in load_questionnaire(directory / "followup.yml").items}
    triage = TriageFlow()
    steps: List[Step] = []
    for step in raw["steps"]:
        restratify = step.get("only_when") == "restratify"
        if "item" in step:
            item = own.get(step["item"]) or triage.item(step["item"])
            steps.append(Step(item, restratify))
        else:
            instrument = load_questionnaire(directory / f"{step['instrument']}.yml")
            steps.extend(Step(triage.item(i.id), restratify) for i in instrument.items if i.derived_from is None)
    return tuple(steps)


def parse_code(item: Item, code: str) -> Canonical:
    """A stored code back to its canonical value."""
    if item.kind == "boolean":
        return code == "true"
    if item.kind == "integer":
        return int(code)
    return code


@dataclass
class Turn:
    """What to tell the patient, and where the follow-up is now: ``followup_id`` None when there is
    nothing (more) to answer; ``finished`` when this turn completed it."""

    messages: List[Message] = field(default_factory=list)
    followup_id: Optional[int] = None
    finished: bool = False
    language: Optional[str] = None  # the one the check-in was asked in


class FollowUpConversation:
    def __init__(self, steps: Optional[Tuple[Step, ...]] = None) -> None:
        self.steps = steps if steps is not None else followup_steps()
        self.flow = TriageFlow()

    # -- which items, which next -------------------------------------------------------------

    def items_for(self, followup: FollowUp, pain_site: Optional[str], risk_tool: Optional[str],
                  answers: Mapping[str, Any]) -> List[Item]:
        """The check-in's items up to a red flag (which ends it, as in the triage)."""
        items: List[Item] = []
        for step in self.steps:
            if step.only_when_restratify and not (followup.restratify and risk_tool == "start_back"):
                continue
            if not step.item.applies_to(pain_site):
                continue
            items.append(step.item)
            if step.item.id.startswith("rf_") and answers.get(step.item.id) is True:
                break
        return items

    def _context(self, db: Session, followup: FollowUp) -> Tuple[TriageSession, Dict[str, Any], List[Item]]:
        triage = db.get(TriageSession, followup.series.session_id)
        answers = {a.item_id: a.code for a in followup.answers}
        canonical = {k: parse_code(self._item(k), v) for k, v in answers.items() if self._known(k)}
        return triage, canonical, self.items_for(followup, triage.pain_site, triage.risk_tool, canonical)

    def _known(self, item_id: str) -> bool:
        return any(s.item.id == item_id for s in self.steps)

    def _item(self, item_id: str) -> Item:
        return next(s.item for s in self.steps if s.item.id == item_id)

    # -- the conversation ----------------------------------------------------------------------

    def open(self, db: Session, pseudonym: str, token: Optional[str], language: Optional[str],
             now: datetime) -> Turn:
        """The patient came back (Telegram /followup, or the web return link): the open check-in's
        next question, or why there is none. Without a ``language`` of the conversation (a new
        browser), the check-in is asked in the language of the triage."""
        if token is not None:
            series = followup_series.series_by_token(db, token)
            if series is None or series.status != "active":
                return Turn([{"text": translate(language or "en", "followup.invalid")}], language=language)
            candidates = [series]
        else:
            candidates = followup_series.active_series(db, pseudonym)
        followup = next((f for f in (followup_series.answerable(s) for s in candidates) if f is not None), None)
        if followup is None:
            return Turn([{"text": translate(language or "en", "followup.nothing_open")}], language=language)
        language = language or followup.series.language
        if followup.status != "answering":
            followup.status, followup.started_at = "answering", now
        _, answers, items = self._context(db, followup)
        pending = [i for i in items if i.id not in answers]
        intro = [] if answers else [{"text": translate(language, "followup.welcome")}]
        return Turn(intro + replies.question(pending[0], language, pending[0].intro), followup.id, language=language)

    def answer(self, db: Session, followup_id: int, value: Any, language: str, now: datetime,
               tapped: bool = False) -> Turn:
        """One answer to the current question: stored, then the next question or the end."""
        followup = db.get(FollowUp, followup_id)
        if followup is None or followup.status != "answering" or followup.series.status != "active":
            return Turn([{"text": translate(language, "followup.nothing_open")}])
        triage, answers, items = self._context(db, followup)
        current = next(i for i in items if i.id not in answers)
        canonical = interpret(current, replies.tapped_value(current, value) if tapped else value, language)
        if canonical is None:
            return Turn([replies.hint(current, language)], followup.id)
        followup.answers.append(FollowUpAnswer(followup_id=followup.id, item_id=current.id,
                                               code=code_of(canonical), answered_at=now))
        answers[current.id] = canonical
        items = self.items_for(followup, triage.pain_site, triage.risk_tool, answers)
        pending = [i for i in items if i.id not in answers]
        if pending:
            return Turn(replies.question(pending[0], language, pending[0].intro), followup.id)
        return self._finish(db, followup, triage, answers, language, now)

    def explain(self, db: Session, followup_id: int, language: str) -> Turn:
        followup = db.get(FollowUp, followup_id)
        if followup is None or followup.status != "answering":
            return Turn([{"text": translate(language, "followup.nothing_open")}])
        _, answers, items = self._context(db, followup)
        current = next(i for i in items if i.id not in answers)
        return Turn([replies.explanation(current, language), *replies.question(current, language)], followup.id)

    def _finish(self, db: Session, followup: FollowUp, triage: TriageSession, answers: Dict[str, Any],
                language: str, now: datetime) -> Turn:
        followup.status, followup.answered_at = "answered", now
        red_flag = self.flow.red_flag({**answers, "pain_site": triage.pain_site})
        followup.alert = "red_flag" if red_flag else worsening(db, triage, answers)
        if followup.alert:
            alert_clinic(db, triage, followup)
        if red_flag:
            outcome = TriageOutcome(kind="red_flag", reference_code=triage.reference_code, red_flag=red_flag)
            return Turn(replies.outcome_messages(outcome, language), None, True)
        key = mark("followup.done.alert") if followup.alert else mark("followup.done")
        return Turn([{"text": translate(language, key, reference_code=triage.reference_code)}], None, True)


def baseline(db: Session, triage: TriageSession) -> Dict[str, str]:
    return dict(db.execute(select(Answer.item_id, Answer.code).where(Answer.session_id == triage.id)).all())


def worsening(db: Session, triage: TriageSession, answers: Mapping[str, Any]) -> Optional[str]:
    """``worse_pain`` or ``worse_function`` when the check-in is worse than the triage by at least
    the MCID; None otherwise or when the triage did not ask (function is optional there)."""
    before = baseline(db, triage)
    if "pain_now" in before and answers.get("pain_now") is not None:
        if int(answers["pain_now"]) - int(before["pain_now"]) >= PAIN_MCID:
            return "worse_pain"
    if all(i in before for i in FUNCTION_ITEMS) and all(answers.get(i) is not None for i in FUNCTION_ITEMS):
        then = function_score({i: before[i] == "true" for i in FUNCTION_ITEMS})
        if function_score(answers) - then >= FUNCTION_MCID:
            return "worse_function"
    return None


def alert_clinic(db: Session, triage: TriageSession, followup: FollowUp) -> int:
    """One pending notification per channel of the triage's clinic (as a triage's red flag does),
    in the transaction that finishes the check-in; the clinic hears only "look at BT-…"."""
    clinic = db.get(Clinic, triage.clinic_id) if triage.clinic_id is not None else None
    if clinic is None:
        return 0
    channels = channels_of(clinic)
    for channel in channels:
        db.add(Notification(clinic_id=clinic.id, session_id=triage.id, channel=channel, urgency=ALERT_URGENCY,
                            status="pending", attempts=0, created_at=followup.answered_at,
                            next_attempt_at=followup.answered_at))
    return len(channels)


__all__ = ["ALERT_URGENCY", "FUNCTION_MCID", "FollowUpConversation", "PAIN_MCID", "Turn", "followup_steps",
           "worsening"]
