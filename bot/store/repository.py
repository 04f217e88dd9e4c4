"""Reading and writing triage sessions. Every function takes a pseudonym, never a raw channel id."""
from __future__ import annotations

import secrets
from typing import List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.reference_code import new_reference_code
from bot.store.models import Answer, CarePlanRecord, Document, TriageSession, utcnow


class TriageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, pseudonym: str) -> Optional[TriageSession]:
        """The conversation's triage in progress, if any."""
        return self.session.execute(
            select(TriageSession)
            .where(TriageSession.pseudonym == pseudonym, TriageSession.status == "in_progress")
            .order_by(TriageSession.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def latest(self, pseudonym: str) -> Optional[TriageSession]:
        return self.session.execute(
            select(TriageSession)
            .where(TriageSession.pseudonym == pseudonym)
            .order_by(TriageSession.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def all_for(self, pseudonym: str) -> List[TriageSession]:
        return list(
            self.session.execute(
                select(TriageSession).where(TriageSession.pseudonym == pseudonym).order_by(TriageSession.id)
            ).scalars()
        )

    def open(self, pseudonym: str, channel: Optional[str], language: str,
             clinic_id: Optional[int] = None, rasa_sender: Optional[str] = None) -> TriageSession:
        """The triage in progress, created on consent if there is none (for ``clinic_id``'s clinic);
        ``rasa_sender`` is the conversation's id at Rasa (bot/privacy/pseudonym.py)."""
        existing = self.current(pseudonym)
        if existing is not None:
            existing.language = language
            return existing
        triage = TriageSession(pseudonym=pseudonym, channel=channel, language=language, clinic_id=clinic_id,
                               rasa_sender=rasa_sender)
        self.session.add(triage)
        self.session.flush()
        return triage

    def record_answer(self, triage: TriageSession, item_id: str, code: str,
                      typed_encrypted: Optional[str] = None) -> None:
        """Upsert one answer; ``typed_encrypted`` (the patient's words, encrypted) replaces earlier
        words only when given, so re-recording at the end keeps them."""
        answer = next((a for a in triage.answers if a.item_id == item_id), None)
        if answer is None:
            triage.answers.append(Answer(item_id=item_id, code=code, typed_encrypted=typed_encrypted))
        else:
            if answer.code != code:
                answer.code = code
                answer.answered_at = utcnow()
                answer.typed_encrypted = typed_encrypted
            elif typed_encrypted is not None:
                answer.typed_encrypted = typed_encrypted
        triage.updated_at = utcnow()

    def forget_answers(self, triage: TriageSession, item_ids: Sequence[str]) -> None:
        """Delete answers that no longer apply (a changed answer moved the patient onto another
        path), so neither the clinician nor an export ever sees them."""
        for answer in [a for a in triage.answers if a.item_id in item_ids]:
            triage.answers.remove(answer)
        triage.updated_at = utcnow()

    def abandon(self, pseudonym: str) -> None:
        for triage in self.session.execute(
            select(TriageSession).where(
                TriageSession.pseudonym == pseudonym, TriageSession.status == "in_progress"
            )
        ).scalars():
            triage.status = "abandoned"

    def erase(self, pseudonym: str) -> int:
        """Delete everything stored for this conversation; returns how many triages went."""
        sessions = self.all_for(pseudonym)
        for triage in sessions:
            self.session.delete(triage)
        return len(sessions)

    def assign_reference_code(self, triage: TriageSession) -> str:
        """A fresh code not used before (the unique constraint guards the 1-in-10^12 race)."""
        while True:
            code = new_reference_code()
            taken = self.session.execute(
                select(TriageSession.id).where(TriageSession.reference_code == code)
            ).first()
            if taken is None:
                triage.reference_code = code
                return code

    def by_reference_code(self, reference_code: str) -> Optional[TriageSession]:
        return self.session.execute(
            select(TriageSession).where(TriageSession.reference_code == reference_code)
        ).scalar_one_or_none()

    def save_care_plan(self, triage: TriageSession, language: str, option_ids: Sequence[str],
                       resource_ids: Sequence[str], text: str) -> CarePlanRecord:
        """Keep the plan with its triage (replacing an earlier one, e.g. after a retried action)."""
        record = triage.care_plan or CarePlanRecord()
        record.language, record.text = language, text
        record.option_ids, record.resource_ids = " ".join(option_ids), " ".join(resource_ids)
        triage.care_plan = record
        return record

    def add_document(self, triage: TriageSession, kind: str, media_type: str, filename: str,
                     content: Optional[bytes], plan_json: Optional[str] = None) -> str:
        """Store a file for the patient (its bytes, or for a care-plan PDF the plan it is rendered from
        when first opened: bot/triage/documents.py); returns its unguessable token."""
        if (content is None) == (plan_json is None):
            raise ValueError("a document needs either its content or the plan to render it from")
        token = secrets.token_urlsafe(32)
        triage.documents.append(Document(token=token, kind=kind, media_type=media_type, filename=filename,
                                         content=content, plan_json=plan_json))
        return token


class DocumentRepository:
    """Files by token, for bot.web (which knows no pseudonym)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, token: str) -> Optional[Document]:
        return self.session.get(Document, token)
