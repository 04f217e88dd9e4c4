"""Tables for triage sessions and answers, and the Telegram chat mapping. No column holds a name, a contact
or a raw channel id: conversations are keyed by pseudonym, and the one id that must be reversible (a
Telegram chat id, to send follow-ups) is stored encrypted."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

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


def as_utc(moment: Optional[datetime]) -> Optional[datetime]:
    """A stored moment as an aware UTC datetime: SQLite gives back naive values for timezone-aware
    columns (they were written in UTC), PostgreSQL aware ones."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


class TriageSession(Base):
    """One triage attempt by one (pseudonymous) conversation. Created when consent is given."""

    __tablename__ = "triage_sessions"

    id = Column(Integer, primary_key=True)
    pseudonym = Column(String(64), nullable=False, index=True)
    # The conversation id Rasa knows this conversation by (bot/privacy/pseudonym.py): the pseudonym is
    # a one-way hash of it, so erasure, retention and research exports find Rasa's events through it.
    rasa_sender = Column(String(64), nullable=True, index=True)
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
    # The clinic the patient came through (deep link, widget attribute) or the default clinic.
    clinic_id = Column(Integer, ForeignKey("clinics.id"), nullable=True, index=True)
    # The clinic team's own progress with this patient: new -> seen -> booked.
    review_status = Column(String(8), nullable=False, default="new", server_default="new", index=True)
    # Research use, asked separately after care consent: None not (yet) answered, False declined or
    # withdrawn. Only True is ever exported (bot/privacy/transcripts.py).
    research_consent = Column(Boolean, nullable=True)

    answers = relationship(
        "Answer", back_populates="session", cascade="all, delete-orphan", order_by="Answer.id"
    )
    care_plan = relationship("CarePlanRecord", uselist=False, cascade="all, delete-orphan")
    documents = relationship("Document", cascade="all, delete-orphan")
    decisions = relationship("Decision", cascade="all, delete-orphan", order_by="Decision.id")
    clinic = relationship("Clinic")


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
    # The patient's own words when the answer was typed rather than tapped, encrypted (Fernet) since
    # free text may hold anything; shown to the clinician as typed.
    typed_encrypted = Column(Text, nullable=True)
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
    kind = Column(String(16), nullable=False)  # care_plan_pdf | care_plan_html | outlook_png
    media_type = Column(String(40), nullable=False)
    filename = Column(String(80), nullable=False)
    # A care-plan PDF is rendered on its first request (bot/triage/documents.py): until then content is
    # NULL and plan_json holds the composed plan (bot/careplan/stored.py) it is rendered from.
    content = Column(LargeBinary, nullable=True)
    plan_json = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Clinic(Base):
    """A clinic (or team) that receives triages. Patients reach it through its ``code``: the Telegram
    deep link ``t.me/<bot>?start=<code>`` or the widget's ``data-clinic="<code>"``. A triage that names
    no known clinic goes to the default clinic, when one is set."""

    __tablename__ = "clinics"

    id = Column(Integer, primary_key=True)
    code = Column(String(64), nullable=False, unique=True)
    name = Column(String(120), nullable=False)
    is_default = Column(Boolean, nullable=False, default=False)
    # Where "a triage needs you" is said: no clinical content goes there, only code, urgency and link.
    notify_email = Column(String(254), nullable=True)
    notify_telegram_chat = Column(String(32), nullable=True)  # the clinic team's group chat id
    notify_every_triage = Column(Boolean, nullable=False, default=False)  # else red flags and high risk only
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class User(Base):
    """A clinician, researcher or admin account of the clinic workspace. Passwords are argon2 hashes;
    there is no default account or password (accounts come from ``backtalk users add``)."""

    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)  # clinician | researcher | admin
    clinic_id = Column(Integer, ForeignKey("clinics.id"), nullable=True, index=True)
    language = Column(String(8), nullable=False, default="en")
    disabled = Column(Boolean, nullable=False, default=False)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    password_changed_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    clinic = relationship("Clinic")


class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a copy
    of the database opens no session."""

    __tablename__ = "web_sessions"

    token_hash = Column(String(64), primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_seen_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)


class Decision(Base):
    """What a clinician decided for a triage: options of treatment_options.yml, "referred elsewhere"
    and a note. The latest decision of a triage is its current one; earlier ones stay as history."""

    __tablename__ = "decisions"

    id = Column(Integer, primary_key=True)
    session_id = Column(
        Integer, ForeignKey("triage_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    option_ids = Column(Text, nullable=False, default="")  # space-separated ids of treatment_options.yml
    referred_elsewhere = Column(Boolean, nullable=False, default=False)
    note = Column(Text, nullable=True)
    decided_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    user = relationship("User")


class AuditEvent(Base):
    """Append-only trail of who saw, decided or exported what (database triggers refuse UPDATE and
    DELETE). ``username`` is copied so the trail outlives a renamed or removed account."""

    __tablename__ = "audit_events"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    user_id = Column(Integer, nullable=True)
    username = Column(String(64), nullable=True)
    action = Column(String(32), nullable=False)
    reference_code = Column(String(12), nullable=True, index=True)
    detail = Column(Text, nullable=True)  # JSON: filters, counts; never clinical content


class Notification(Base):
    """Transactional outbox: written in the same transaction that finishes a triage, sent by the
    worker (e-mail and/or the clinic's Telegram group), each row exactly once."""

    __tablename__ = "notifications"

    id = Column(Integer, primary_key=True)
    clinic_id = Column(Integer, ForeignKey("clinics.id", ondelete="CASCADE"), nullable=False)
    session_id = Column(Integer, ForeignKey("triage_sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(16), nullable=False)  # email | telegram
    urgency = Column(String(16), nullable=False)  # red_flag | high_risk | routine
    status = Column(String(16), nullable=False, default="pending", index=True)  # pending | sending | sent | failed
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(255), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    sent_at = Column(DateTime(timezone=True), nullable=True)


class FollowUpSeries(Base):
    """A patient's "yes, check in on me later" after a triage: the follow-ups of one triage, how to
    reach the patient (the triage conversation's pseudonym and channel) and their time zone. ``token_hash``
    is the SHA-256 of the web return code (the code itself is shown once, never stored)."""

    __tablename__ = "followup_series"

    id = Column(Integer, primary_key=True)
    session_id = Column(Integer, ForeignKey("triage_sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    pseudonym = Column(String(64), nullable=False, index=True)
    channel = Column(String(16), nullable=False)  # telegram | web
    language = Column(String(8), nullable=False)
    clinic_id = Column(Integer, ForeignKey("clinics.id"), nullable=True, index=True)
    time_zone = Column(String(64), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    status = Column(String(16), nullable=False, default="active", index=True)  # active | stopped | superseded
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    stopped_at = Column(DateTime(timezone=True), nullable=True)

    followups = relationship("FollowUp", cascade="all, delete-orphan", order_by="FollowUp.due_at",
                             back_populates="series")
    session = relationship("TriageSession")


class FollowUp(Base):
    """One check-in of a series. ``next_action_at`` is when the scheduler next acts on the row: send
    (scheduled), remind (sent), mark missed (reminded), or, while a scheduler holds it (sending,
    reminding), when its lease runs out. ``attempts`` is the fencing token of the claim."""

    __tablename__ = "followups"

    id = Column(Integer, primary_key=True)
    series_id = Column(Integer, ForeignKey("followup_series.id", ondelete="CASCADE"), nullable=False, index=True)
    label = Column(String(8), nullable=False)  # 2w | 6w | 3m | 6m (data/followup/schedules.yml)
    offset_days = Column(Integer, nullable=False)
    restratify = Column(Boolean, nullable=False, default=False)
    # scheduled -> sending -> sent -> reminding -> reminded -> missed; answering -> answered at any
    # point after sent; skipped (a later one fell due at the same time), cancelled (stopped, forgotten),
    # failed (the channel refused for good)
    status = Column(String(16), nullable=False, default="scheduled", index=True)
    due_at = Column(DateTime(timezone=True), nullable=False)
    next_action_at = Column(DateTime(timezone=True), nullable=False, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(255), nullable=True)
    sent_at = Column(DateTime(timezone=True), nullable=True)
    reminded_at = Column(DateTime(timezone=True), nullable=True)
    started_at = Column(DateTime(timezone=True), nullable=True)
    answered_at = Column(DateTime(timezone=True), nullable=True)
    alert = Column(String(32), nullable=True)  # why the clinic was alerted: red_flag | worse_pain | worse_function

    series = relationship("FollowUpSeries", back_populates="followups")
    answers = relationship("FollowUpAnswer", cascade="all, delete-orphan", order_by="FollowUpAnswer.id")


class FollowUpAnswer(Base):
    """One answer of a follow-up (canonical code, as ``answers.code``)."""

    __tablename__ = "followup_answers"
    __table_args__ = (UniqueConstraint("followup_id", "item_id", name="uq_followup_answers_followup_item"),)

    id = Column(Integer, primary_key=True)
    followup_id = Column(Integer, ForeignKey("followups.id", ondelete="CASCADE"), nullable=False, index=True)
    item_id = Column(String(40), nullable=False)
    code = Column(String(40), nullable=False)
    answered_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
