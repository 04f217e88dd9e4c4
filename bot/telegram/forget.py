"""/forget: erase everything stored for one chat, in one transaction, and count what went.

- BackTalk's triage sessions and their answers (``TriageRepository.erase``),
- Rasa's tracker events: Rasa's SQL tracker store keeps them in table ``events`` (column ``sender_id``,
  the conversation's Rasa sender: the one the channel passes, and those its triages recorded) of the same database; Rasa reads the tracker from there on every message, so the next message
  starts a new conversation,
- the encrypted chat mapping (``telegram_chats``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import column, delete, inspect, select, table

from bot.store.db import engine_for, session_scope
from bot.store.models import TriageSession
from bot.store.repository import TriageRepository
from bot.telegram.chats import ChatDirectory

RASA_EVENTS = table("events", column("sender_id"))


@dataclass(frozen=True)
class Erased:
    triages: int
    events: int
    chat_link: bool

    @property
    def anything(self) -> bool:
        return bool(self.triages or self.events or self.chat_link)


def erase_chat(database_url: str, pseudonym: str, rasa_sender: Optional[str] = None) -> Erased:
    """Erase the conversation ``pseudonym`` keys; ``rasa_sender`` (its id at Rasa, known to the channel)
    also reaches Rasa's events of a conversation that never stored a triage."""
    has_events = inspect(engine_for(database_url)).has_table("events")  # Rasa creates it on start
    with session_scope(database_url) as db:
        senders = set(_rasa_senders(db, pseudonym)) | ({rasa_sender} if rasa_sender else set())
        triages = TriageRepository(db).erase(pseudonym)
        events = 0
        if has_events and senders:
            events = db.execute(delete(RASA_EVENTS).where(RASA_EVENTS.c.sender_id.in_(sorted(senders)))).rowcount or 0
        chat_link = ChatDirectory.delete(db, pseudonym) > 0
    return Erased(triages=triages, events=events, chat_link=chat_link)


def _rasa_senders(db, pseudonym: str) -> Iterable[str]:  # type: ignore[no-untyped-def]
    """The Rasa sender ids the conversation's triages recorded."""
    return db.execute(select(TriageSession.rasa_sender).where(
        TriageSession.pseudonym == pseudonym, TriageSession.rasa_sender.isnot(None)).distinct()).scalars()
