"""De-identified conversation transcripts for researchers (`backtalk export transcripts`).

Only conversations whose latest triage says yes to research use are read. Each gets a new random
study id per export (never the pseudonym or the reference code); timings are seconds after the first
turn (no wall-clock dates); a typed age is replaced by ``[AGE]`` (the age band follows as a slot
change); every text, the patient's and the bot's alike (the bot's holds the reference code and file
links), goes through the scrubber before it is written. A turn the scrubber fails on is withheld and
counted, never written as typed. Every export is audited (who, filters, counts).

Turns come from Rasa's SQL tracker store (table ``events`` in the same database: ``sender_id`` is the
Rasa sender each triage records beside its pseudonym, ``data`` the event as JSON).
"""
from __future__ import annotations

import csv
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.audit import record
from bot.store.db import engine_for, session_scope
from bot.store.models import Answer, TriageSession, User

if TYPE_CHECKING:  # spaCy costs seconds at import: bot.web loads it with the first export, not at start
    from bot.privacy.scrub import Scrubber

RASA_EVENTS = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"),
                    column("data"))
# Slots never exported: the reference code links a transcript to a person.
HIDDEN_SLOTS = frozenset({"reference_code", "requested_slot"})
AGE_ITEM = "age_band"
CANONICAL = re.compile(r"^[a-z0-9_]{1,40}$")
CSV_COLUMNS = ["study_id", "turn", "seconds", "speaker", "text", "intent", "confidence", "slot", "value", "withheld"]


@dataclass(frozen=True)
class TranscriptFilter:
    languages: Tuple[str, ...] = ()
    since: Optional[date] = None  # triage started on or after
    until: Optional[date] = None  # triage started on or before
    risk_groups: Tuple[str, ...] = ()

    def describe(self) -> Dict[str, Any]:
        return {"languages": list(self.languages), "since": self.since and self.since.isoformat(),
                "until": self.until and self.until.isoformat(), "risk_groups": list(self.risk_groups)}


@dataclass
class ExportCounts:
    conversations: int = 0
    turns: int = 0
    withheld: int = 0


@dataclass
class Transcript:
    study_id: str
    language: str
    channel: Optional[str]
    outcome: Dict[str, Any]
    turns: List[Dict[str, Any]] = field(default_factory=list)


def _consented(filters: TranscriptFilter) -> Select:
    """The latest triage of every conversation whose latest triage consents to research, filtered."""
    latest = (select(func.max(TriageSession.id)).group_by(TriageSession.pseudonym)).scalar_subquery()
    query = select(TriageSession).where(TriageSession.id.in_(latest), TriageSession.research_consent.is_(True))
    if filters.languages:
        query = query.where(TriageSession.language.in_(filters.languages))
    if filters.risk_groups:
        query = query.where(TriageSession.risk_group.in_(filters.risk_groups))
    if filters.since:
        query = query.where(TriageSession.started_at >= datetime.combine(filters.since, time(), timezone.utc))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), timezone.utc)
        query = query.where(TriageSession.started_at < end)
    return query


def consented_triages(db: Session, filters: TranscriptFilter) -> List[TriageSession]:
    return list(db.execute(_consented(filters).order_by(TriageSession.id)).scalars())


def count_consented(db: Session, filters: TranscriptFilter) -> int:
    """How many conversations an export with these filters would hold (the researcher's page)."""
    return db.execute(select(func.count()).select_from(_consented(filters).subquery())).scalar_one()


def _slot_value(value: Any) -> Any:
    """Slot values are canonical codes; anything else (free text in a custom slot) is not exported."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return value if isinstance(value, str) and CANONICAL.match(value) else "[TEXT]"


class TranscriptBuilder:
    """Turns one conversation's Rasa events into a de-identified transcript."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber

    def _scrubbed(self, text: str, language: str) -> Optional[str]:
        try:
            return self.scrubber.scrub(text, language).text
        except Exception:  # noqa: BLE001 - any failure withholds the turn; it is never written unscrubbed
            return None

    def build(self, triage: TriageSession, age_band: Optional[str], events: Sequence[Tuple[str, float, str]],
              counts: ExportCounts) -> Transcript:
        transcript = Transcript(
            study_id=secrets.token_hex(8), language=triage.language, channel=triage.channel,
            outcome={"status": triage.status, "risk_tool": triage.risk_tool, "risk_score": triage.risk_score,
                     "risk_group": triage.risk_group, "red_flag": triage.red_flag, "age_band": age_band},
        )
        first: Optional[float] = None
        requested: Optional[str] = None
        for type_name, timestamp, raw in events:
            if type_name not in ("user", "bot", "slot"):
                continue
            data = json.loads(raw) if raw else {}
            first = timestamp if first is None else first
            turn: Dict[str, Any] = {"turn": len(transcript.turns) + 1, "seconds": round(timestamp - first, 1)}
            if type_name == "slot":
                name = data.get("name")
                if name == "requested_slot":
                    requested = data.get("value")
                if name in HIDDEN_SLOTS:
                    continue
                turn.update(speaker="system", slot=name, value=_slot_value(data.get("value")))
            else:
                text = data.get("text") or ""
                speaker = "patient" if type_name == "user" else "bot"
                if speaker == "patient" and requested == AGE_ITEM and text.strip():
                    scrubbed: Optional[str] = "[AGE]"  # a typed age: the band follows as a slot change
                else:
                    scrubbed = self._scrubbed(text, triage.language) if text else text
                turn.update(speaker=speaker, text=scrubbed)
                if scrubbed is None:
                    turn["withheld"] = True
                    counts.withheld += 1
                if speaker == "patient":
                    intent = (data.get("parse_data") or {}).get("intent") or {}
                    turn.update(intent=intent.get("name"), confidence=intent.get("confidence"))
            transcript.turns.append(turn)
        counts.turns += len(transcript.turns)
        return transcript


def _events(db: Session, rasa_sender: Optional[str]) -> List[Tuple[str, float, str]]:
    if rasa_sender is None:
        return []
    rows = db.execute(
        select(RASA_EVENTS.c.type_name, RASA_EVENTS.c.timestamp, RASA_EVENTS.c.data)
        .where(RASA_EVENTS.c.sender_id == rasa_sender).order_by(RASA_EVENTS.c.id)
    )
    return [(r.type_name, float(r.timestamp), r.data) for r in rows]


def transcripts(database_url: str, filters: TranscriptFilter, counts: ExportCounts,
                scrubber: Optional[Scrubber] = None) -> Iterator[Transcript]:
    """The consented conversations one by one (one conversation's events in memory at a time)."""
    if scrubber is None:
        from bot.privacy.scrub import Scrubber

        scrubber = Scrubber()
    builder = TranscriptBuilder(scrubber)
    has_events = inspect(engine_for(database_url)).has_table("events")
    with session_scope(database_url) as db:
        for triage in consented_triages(db, filters):
            age_band = db.execute(select(Answer.code).where(Answer.session_id == triage.id,
                                                            Answer.item_id == AGE_ITEM)).scalar_one_or_none()
            events = _events(db, triage.rasa_sender) if has_events else []
            counts.conversations += 1
            yield builder.build(triage, age_band, events, counts)


def export_transcripts(database_url: str, jsonl: Optional[TextIO], csv_file: Optional[TextIO],
                       filters: TranscriptFilter, user: Optional[User] = None, username: Optional[str] = None,
                       scrubber: Optional[Scrubber] = None, via: Optional[str] = None) -> ExportCounts:
    """Write JSONL (one conversation a line) and/or a CSV of turns; audit the export (``via``: which
    format the web page served)."""
    counts = ExportCounts()
    writer = csv.DictWriter(csv_file, fieldnames=CSV_COLUMNS, extrasaction="ignore") if csv_file else None
    if writer:
        writer.writeheader()
    for transcript in transcripts(database_url, filters, counts, scrubber):
        if jsonl is not None:
            jsonl.write(json.dumps(asdict(transcript), ensure_ascii=False) + "\n")
        if writer:
            for turn in transcript.turns:
                writer.writerow({"study_id": transcript.study_id, **turn})
    with session_scope(database_url) as db:
        if user is not None:
            user = db.merge(user)
        detail = {"filters": filters.describe(), **asdict(counts)}
        if via is not None:
            detail["via"] = via
        record(db, "export_transcripts", user=user, username=username, detail=detail)
    return counts
