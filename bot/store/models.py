"""Tables for triage sessions and answers, and the Telegram chat mapping. No column holds a name, a contact
or a raw channel id: conversations are keyed by pseudonym, and the one id that must be reversible (a
Telegram chat id, to send follow-ups) is stored encrypted."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
Base = declarative_base(metadata=metadata)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class TriageSession(Base):
    """One triage attempt by one (pseudonymous) conversation. Created when consent is given."""

    __tablename__ = "triage_sessions"

    id = Column(Integer, primary_key=True)
    pseudonym = Column(String(64), nullable=False, index=True)
    channel = Column(String(32), nullable=True)
    language = Column(String(8), nullable=False, default="en")
    # in_progress -> complete | red_flag | abandoned (started over)
    status = Column(String(16), nullable=False, default="in_progress", index=True)
    consent_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    started_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    completed_at = Column(DateTime(timezone=True), nullable=True)
    pain_site = Column(String(16), nullable=True)
    risk_tool = Column(String(16), nullable=True)
    risk_score = Column(Integer, nullable=True)
    risk_subscore = Column(Integer, nullable=True)
    risk_group = Column(String(8), nullable=True)
    red_flag = Column(String(32), nullable=True)
    needs_attention = Column(Boolean, nullable=False, default=False)
    reference_code = Column(String(12), nullable=True, unique=True)

    answers = relationship(
        "Answer", back_populates="session", cascade="all, delete-orphan", order_by="Answer.id"
    )
    care_plan = relationship("CarePlanRecord", uselist=False, cascade="all, delete-orphan")
    documents = relationship("Document", cascade="all, delete-orphan")


class Answer(Base):
    """The current answer to one item; "go back" replaces it in place."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("session_id", "item_id", name="uq_answers_session_item"),)

    id = Column(Integer, primary_key=True)
    session_id = Column(
        Integer, ForeignKey("triage_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    item_id = Column(String(40), nullable=False)
    code = Column(String(40), nullable=False)
    answered_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    session = relationship("TriageSession", back_populates="answers")


class TelegramChat(Base):
    """How to reach a pseudonymous Telegram conversation again: its chat id, encrypted (Fernet, key
    from BACKTALK_ENCRYPTION_KEY; see bot/telegram/chats.py). Deleted by /forget."""

    __tablename__ = "telegram_chats"

    pseudonym = Column(String(64), primary_key=True)
    chat_id_encrypted = Column(Text, nullable=False)
    clinic_code = Column(String(64), nullable=True)  # from a deep link t.me/<bot>?start=<clinic code>
    language_code = Column(String(16), nullable=True)  # Telegram's hint, or the language chosen by button
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class CarePlanRecord(Base):
    """The care plan a completed triage produced, kept for the clinician views: what was matched
    (option and resource ids from data/careplan) and the plan as the patient read it."""

    __tablename__ = "care_plans"

    id = Column(Integer, primary_key=True)
    session_id = Column(
        Integer, ForeignKey("triage_sessions.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    language = Column(String(8), nullable=False)
    option_ids = Column(Text, nullable=False)  # space-separated ids of treatment_options.yml
    resource_ids = Column(Text, nullable=False)  # space-separated ids of resources.yml
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Document(Base):
    """A file sent to a patient (care-plan PDF, outlook graph), served by bot.web at
    /files/<token>: the token is 256 random bits, the only way to the file."""

    __tablename__ = "documents"

    token = Column(String(64), primary_key=True)
    session_id = Column(
        Integer, ForeignKey("triage_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind = Column(String(16), nullable=False)  # care_plan_pdf | outlook_png
    media_type = Column(String(40), nullable=False)
    filename = Column(String(80), nullable=False)
    content = Column(LargeBinary, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
