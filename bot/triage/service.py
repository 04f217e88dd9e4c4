"""The triage use case, independent of Rasa: the actions call these methods with plain values."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Dict, Mapping, Optional, Sequence

from sqlalchemy.orm import Session

from bot.config import Settings, settings as load_settings
from bot.clinic.accounts import clinic_for_patient
from bot.notify.outbox import enqueue_for
from bot.privacy.pseudonym import pseudonymise
from bot.privacy.text_cipher import TextCipher
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.interpret import Canonical, interpret
from bot.questionnaires.model import Item
from bot.scoring import start_back, start_msk
from bot.store.db import session_scope
from bot.store.models import TelegramChat, utcnow
from bot.store.repository import TriageRepository


@dataclass(frozen=True)
class TriageOutcome:
    """How a finished questionnaire ended; ``kind`` is declined, red_flag or risk."""

    kind: str
    reference_code: Optional[str] = None
    red_flag: Optional[str] = None
    risk_tool: Optional[str] = None
    risk_score: Optional[int] = None
    risk_subscore: Optional[int] = None
    risk_group: Optional[str] = None


def code_of(value: Canonical) -> str:
    """How a canonical value is stored: booleans as true/false, numbers as digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class TriageService:
    def __init__(self, config: Optional[Settings] = None, flow: Optional[TriageFlow] = None) -> None:
        self.config = config or load_settings()
        self.flow = flow or TriageFlow()

    def pseudonym(self, sender_id: str) -> str:
        """The key of the conversation's rows: a one-way hash of Rasa's sender id (bot/privacy/pseudonym.py)."""
        return pseudonymise(sender_id, self.config.pseudonym_key)

    @cached_property
    def text_cipher(self) -> TextCipher:
        return TextCipher(self.config.encryption_key)

    @staticmethod
    def _clinic_id(db: Session, pseudonym: str, clinic_code: Optional[str]) -> Optional[int]:
        """The clinic a new triage belongs to: the code the channel passed (the widget's
        data-clinic), else the code stored with a Telegram chat (its /start deep link), else the
        default clinic; None when no clinic is set up."""
        if clinic_code is None:
            chat = db.get(TelegramChat, pseudonym)
            clinic_code = chat.clinic_code if chat is not None else None
        clinic = clinic_for_patient(db, clinic_code)
        return clinic.id if clinic is not None else None

    def _open(self, db: Session, repo: TriageRepository, sender_id: str, channel: Optional[str], language: str,
              clinic_code: Optional[str]) -> Any:
        """The triage in progress, else a new one. The clinic is looked up (two or three queries)
        only when a triage is created, not on every answer."""
        pseudonym = self.pseudonym(sender_id)
        existing = repo.current(pseudonym)
        if existing is not None:
            existing.language = language
            return existing
        return repo.open(pseudonym, channel, language, self._clinic_id(db, pseudonym, clinic_code), sender_id)

    def accept_answer(
        self,
        sender_id: str,
        item: Item,
        value: Any,
        language: str,
        channel: Optional[str] = None,
        pain_site: Optional[str] = None,
        clinic_code: Optional[str] = None,
        typed: Optional[str] = None,
        research_consent: Optional[bool] = None,
    ) -> Optional[Canonical]:
        """Interpret and store one answer; None means "ask again" and stores nothing.

        Nothing is stored before consent; consent opens the stored triage (for the clinic the
        patient's link named, see ``clinic_of``), and declining erases whatever an earlier "yes" had
        stored. ``typed`` is the patient's own words when the answer was typed, kept encrypted for
        their clinician. ``research_consent`` is the answer the conversation already holds: a triage
        opened after "start over" carries it over (it is not asked again).
        """
        canonical = interpret(item, value, language)
        if canonical is None:
            return None
        pseudonym = self.pseudonym(sender_id)
        words = self.text_cipher.encrypt(typed) if typed and typed.strip() else None
        with session_scope(self.config.database_url) as db:
            repo = TriageRepository(db)
            if item.id == "consent":
                if canonical is True:
                    triage = self._open(db, repo, sender_id, channel, language, clinic_code)
                    repo.record_answer(triage, item.id, "true", words)
                else:
                    repo.erase(pseudonym)
                return canonical
            triage = self._open(db, repo, sender_id, channel, language, clinic_code)
            if triage.research_consent is None and research_consent is not None:
                triage.research_consent = research_consent
            repo.record_answer(triage, item.id, code_of(canonical), words)
            for derived_id, derived in self.flow.derived_by(item.id, canonical, {"pain_site": pain_site}).items():
                repo.record_answer(triage, derived_id, code_of(derived))
            if item.id == "pain_site":
                triage.pain_site = str(canonical)
            if item.id == "research_consent":
                triage.research_consent = canonical is True
        return canonical

    def forget_answers(self, sender_id: str, item_ids: Sequence[str]) -> None:
        """Answers dropped by a change of path leave the stored triage in progress too."""
        if not item_ids:
            return
        with session_scope(self.config.database_url) as db:
            repo = TriageRepository(db)
            triage = repo.current(self.pseudonym(sender_id))
            if triage is not None:
                repo.forget_answers(triage, item_ids)

    def finish(self, sender_id: str, answers: Mapping[str, Any], language: str = "en") -> TriageOutcome:
        """Score a completed questionnaire (or note its red flag) and give it a reference code."""
        if answers.get("consent") is not True:
            return TriageOutcome(kind="declined")
        pseudonym = self.pseudonym(sender_id)
        answers = self.flow.with_derived(answers)
        red_flag = self.flow.red_flag(answers)
        with session_scope(self.config.database_url) as db:
            repo = TriageRepository(db)
            triage = repo.current(pseudonym)
            if triage is None:
                # Already finished (an action retried after a crash): report what was stored.
                done = repo.latest(pseudonym)
                if done is not None and done.reference_code:
                    return _outcome_of(done)
                triage = repo.open(pseudonym, None, language, self._clinic_id(db, pseudonym, None), sender_id)
            for item in self.flow.items:
                if answers.get(item.id) is not None and item.applies_to(answers.get("pain_site")):
                    repo.record_answer(triage, item.id, code_of(answers[item.id]))
            triage.pain_site = answers.get("pain_site")
            if answers.get("research_consent") is not None:  # also after "start over", which keeps it
                triage.research_consent = answers.get("research_consent") is True
            if red_flag is not None:
                triage.status = "red_flag"
                triage.red_flag = red_flag
                triage.needs_attention = True
            else:
                triage.status = "complete"
                triage.risk_tool = self.flow.risk_tool(answers)
                if triage.risk_tool == "start_msk":
                    msk = start_msk.score(answers)
                    triage.risk_score, triage.risk_group = msk.total, msk.group
                else:
                    sbt = start_back.score(answers)
                    triage.risk_score, triage.risk_subscore, triage.risk_group = sbt.total, sbt.subscale, sbt.group
                triage.needs_attention = triage.risk_group == "high"
            triage.completed_at = utcnow()
            repo.assign_reference_code(triage)
            # In the same transaction: the clinic hears of a red flag or high risk exactly when it exists.
            enqueue_for(db, triage)
            return _outcome_of(triage)

    def start_over(self, sender_id: str) -> None:
        with session_scope(self.config.database_url) as db:
            TriageRepository(db).abandon(self.pseudonym(sender_id))


def _outcome_of(triage: Any) -> TriageOutcome:
    if triage.red_flag:
        return TriageOutcome(kind="red_flag", reference_code=triage.reference_code, red_flag=triage.red_flag)
    return TriageOutcome(
        kind="risk",
        reference_code=triage.reference_code,
        risk_tool=triage.risk_tool,
        risk_score=triage.risk_score,
        risk_subscore=triage.risk_subscore,
        risk_group=triage.risk_group,
    )


def answers_from(slots: Mapping[str, Any], flow: TriageFlow) -> Dict[str, Any]:
    """The item answers among a conversation's slots. A slot can hold the raw text of a message for
    a moment (Rasa fills it before the form validates it, also for a message that was no answer,
    such as "/restart"): only canonical values count as answers."""
    return {item.id: (value if value is not None and item.is_valid_value(value) else None)
            for item in flow.items for value in [slots.get(item.id)]}
