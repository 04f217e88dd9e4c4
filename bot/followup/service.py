"""The follow-up use cases the actions call with plain values (sender id, answer, language), each
in one transaction, with an injectable clock."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from babel.dates import format_date
from sqlalchemy import select

from bot.config import Settings
from bot.followup import series as followup_series
from bot.followup.conversation import FollowUpConversation, Turn
from bot.i18n.catalog import mark, translate
from bot.privacy.pseudonym import pseudonymise
from bot.store.db import session_scope
from bot.store.models import FollowUp, TriageSession, utcnow

Message = Dict[str, Any]


def yes_no(language: str, ask: str, intent: str, yes: str, no: str) -> Message:
    return {"text": translate(language, ask), "buttons": [
        {"title": translate(language, yes), "payload": f'/{intent}{{"code": "yes"}}'},
        {"title": translate(language, no), "payload": f'/{intent}{{"code": "no"}}'},
    ]}


def offer(language: str) -> Message:
    """The question after a triage's result: may BackTalk check in later?"""
    return yes_no(language, mark("followup.offer.ask"), "followup_consent", mark("followup.offer.yes"),
                  mark("followup.offer.no"))


class FollowUpService:
    def __init__(self, config: Settings, clock: Callable[[], Any] = utcnow,
                 conversation: Optional[FollowUpConversation] = None) -> None:
        self.config = config
        self.clock = clock
        self.conversation = conversation or FollowUpConversation()

    def pseudonym(self, sender_id: str) -> str:
        return pseudonymise(sender_id, self.config.pseudonym_key)

    def consent(self, sender_id: str, agreed: bool, language: str) -> List[Message]:
        """Yes: schedule the check-ins of the conversation's latest finished triage and say how the
        patient will hear (Telegram) or come back (the web return link). No: nothing is stored."""
        if not agreed:
            return [{"text": translate(language, "followup.declined")}]
        pseudonym = self.pseudonym(sender_id)
        now = self.clock()
        with session_scope(self.config.database_url) as db:
            triage = db.execute(
                select(TriageSession).where(TriageSession.pseudonym == pseudonym,
                                            TriageSession.status == "complete",
                                            TriageSession.reference_code.isnot(None))
                .order_by(TriageSession.id.desc()).limit(1)
            ).scalar_one_or_none()
            if triage is None:  # forgotten or started over since the question was asked
                return [{"text": translate(language, "followup.stop.nothing")}]
            agreed_series = followup_series.agree(db, triage, now)
        if agreed_series.channel == "telegram":
            return [{"text": translate(language, "followup.agreed.telegram")}]
        link = f"{self.config.public_url.rstrip('/')}/chat?followup={agreed_series.token}"
        date = format_date(agreed_series.first_due.date(), format="long", locale=language)
        return [{"text": translate(language, "followup.agreed.web", link=link, date=date)}]

    def open(self, sender_id: str, token: Optional[str], language: Optional[str]) -> Turn:
        with session_scope(self.config.database_url) as db:
            return self.conversation.open(db, self.pseudonym(sender_id), token, language, self.clock())

    def answer(self, followup_id: Optional[int], value: Any, language: str, tapped: bool = False) -> Turn:
        if followup_id is None:
            return Turn([{"text": translate(language, "followup.nothing_open")}])
        with session_scope(self.config.database_url) as db:
            return self.conversation.answer(db, int(followup_id), value, language, self.clock(), tapped=tapped)

    def explain(self, followup_id: Optional[int], language: str) -> Turn:
        if followup_id is None:
            return Turn([{"text": translate(language, "followup.nothing_open")}])
        with session_scope(self.config.database_url) as db:
            return self.conversation.explain(db, int(followup_id), language)

    def stop(self, sender_id: str, followup_id: Optional[int], answer: Optional[str],
             language: str) -> List[Message]:
        """"No more messages": without an answer, ask to confirm; "yes" stops every active series of
        this conversation (and the one of the check-in being answered, opened by return link)."""
        with session_scope(self.config.database_url) as db:
            active = followup_series.active_series(db, self.pseudonym(sender_id))
            if followup_id is not None:
                current = db.get(FollowUp, int(followup_id))
                if current is not None and current.series.status == "active" and current.series not in active:
                    active.append(current.series)
            if not active:
                return [{"text": translate(language, "followup.stop.nothing")}]
            if answer is None:
                return [yes_no(language, mark("followup.stop.ask"), "stop_followups", mark("followup.stop.yes"),
                               mark("followup.stop.no"))]
            if answer != "yes":
                return [{"text": translate(language, "followup.stop.kept")}]
            now = self.clock()
            for series in active:
                followup_series.end(db, series, now)
                for followup in series.followups:  # a check-in being answered ends too
                    if followup.status == "answering":
                        followup.status = "cancelled"
        return [{"text": translate(language, "followup.stop.done")}]
