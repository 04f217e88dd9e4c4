"""Changing the research answer later (the widget's menu, Telegram's /research): every stored triage
of the conversation takes the new answer, so a withdrawal keeps the whole conversation out of every
later export (exports read the latest triage's answer, bot/privacy/transcripts.py). Rasa's slot is
left alone: it only mattered while the question was asked."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select, update

from bot.store.db import session_scope
from bot.store.models import TriageSession


def set_research_consent(database_url: str, pseudonym: str, value: bool) -> int:
    """Set the research answer of every triage of this conversation; returns how many there were."""
    with session_scope(database_url) as db:
        return db.execute(
            update(TriageSession).where(TriageSession.pseudonym == pseudonym).values(research_consent=value)
            .execution_options(synchronize_session=False)
        ).rowcount or 0


def has_triage(database_url: str, pseudonym: str) -> bool:
    with session_scope(database_url) as db:
        return db.execute(select(TriageSession.id).where(TriageSession.pseudonym == pseudonym).limit(1)).first() \
            is not None


def research_consent(database_url: str, pseudonym: str) -> Optional[bool]:
    """The conversation's current answer (its latest triage's); None when not asked or no triage."""
    with session_scope(database_url) as db:
        return db.execute(select(TriageSession.research_consent).where(TriageSession.pseudonym == pseudonym)
                          .order_by(TriageSession.id.desc()).limit(1)).scalar_one_or_none()
