"""Building clinics, accounts and triages the way patients and operators make them: through the
triage service and the account functions, never by writing rows by hand."""
from __future__ import annotations

from datetime import date
from typing import Any, Dict, Optional

from bot.clinic import accounts
from bot.config import Settings
from bot.questionnaires.flow import TriageFlow
from bot.store.db import session_scope
from bot.triage.result import ResultDelivery
from bot.triage.service import TriageOutcome, TriageService
from tests.conftest import random_sender

FLOW = TriageFlow()
PASSWORD = "correct horse battery staple"
NO_FLAGS = {i.id: False for i in FLOW.items if i.questionnaire == "red_flags"}
LOW_BACK_LOW = {"consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
                **{f"sbt_{n}": "disagree" for n in range(1, 9)}, "sbt_9": "slightly", "pain_now": 3}
LOW_BACK_HIGH = {"consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
                 **{f"sbt_{n}": "agree" for n in range(1, 9)}, "sbt_9": "extremely", "pain_now": 8}
LOW_BACK_MEDIUM = {"consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
                   **{f"sbt_{n}": ("agree" if n in (1, 2, 3, 4) else "disagree") for n in range(1, 9)},
                   "sbt_9": "slightly", "pain_now": 5}


def setup_clinic(settings: Settings, code: str = "north", default: bool = False, **options: Any) -> None:
    with session_scope(settings.database_url) as db:
        accounts.add_clinic(db, code, f"Clinic {code}", default=default, **options)


def add_user(settings: Settings, username: str, clinic: Optional[str] = "north", role: str = "clinician",
             language: str = "en") -> None:
    with session_scope(settings.database_url) as db:
        accounts.add_user(db, username, PASSWORD, role, clinic, language)


def triage(settings: Settings, answers: Dict[str, Any], clinic: Optional[str] = "north", finish: bool = True,
           typed: Optional[Dict[str, str]] = None, deliver: bool = False, language: str = "en",
           sender: Optional[str] = None) -> TriageOutcome:
    """A patient answering item by item (the words in ``typed`` as they would type them), then the
    result action finishing the triage."""
    service = TriageService(settings, FLOW)
    sender = sender or random_sender()
    # Every red flag "no" unless the test says otherwise (the flow stops at the first "yes").
    answers = {**{k: v for k, v in NO_FLAGS.items() if FLOW.item(k).applies_to(answers.get("pain_site"))}, **answers}
    typed = typed or {}
    for item in FLOW.required_items(answers):
        if item.id not in answers:
            continue
        value = typed.get(item.id, answers[item.id])
        stored = service.accept_answer(sender, item, value, language, channel="rest", clinic_code=clinic,
                                       typed=typed.get(item.id))
        assert stored == answers[item.id], (item.id, stored)
    if not finish:
        return TriageOutcome(kind="in_progress")
    outcome = service.finish(sender, answers, language)
    if deliver:
        ResultDelivery(settings, FLOW).deliver(outcome, answers, language, today=date(2026, 12, 1))
    return outcome
