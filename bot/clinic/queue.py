"""The clinic's triage queue: finished and unfinished triages, urgent ones on top, with filters.

"Urgent" means a red flag or high risk that nobody has looked at yet (review status ``new``); once
seen or booked such a triage takes its place by date like any other, so the top of the queue is
always what still needs a clinician.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import List, Mapping, Optional, Tuple

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.store.models import TriageSession

REVIEW_STATUSES = ("new", "seen", "booked")
RISK_FILTERS = ("red_flag", "high", "medium", "low", "unfinished")
SITES = ("low_back", "neck", "both")
PAGE_SIZE = 50
REFERENCE_CODE = re.compile(r"^BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$")
# Triages that were started over are replaced by the new attempt and are not shown.
SHOWN_STATUSES = ("in_progress", "complete", "red_flag")


class FilterError(ValueError):
    """A filter value that is not one of the allowed ones (answered with 400 and the reason)."""


@dataclass(frozen=True)
class QueueFilter:
    review_status: Optional[str] = None
    risk: Optional[str] = None
    site: Optional[str] = None
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    reference_code: Optional[str] = None
    page: int = 1

    def as_query(self, **changes: object) -> Mapping[str, str]:
        """The filter as query parameters (for links to other pages of the same queue)."""
        current = replace(self, **changes)  # type: ignore[arg-type]
        pairs = {"status": current.review_status, "risk": current.risk, "site": current.site,
                 "from": current.date_from.isoformat() if current.date_from else None,
                 "to": current.date_to.isoformat() if current.date_to else None,
                 "code": current.reference_code, "page": str(current.page) if current.page > 1 else None}
        return {k: v for k, v in pairs.items() if v}


def _choice(query: Mapping[str, str], name: str, allowed: Tuple[str, ...]) -> Optional[str]:
    value = (query.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise FilterError(f"{name} must be one of {', '.join(allowed)}")
    return value


def _date(query: Mapping[str, str], name: str) -> Optional[date]:
    value = (query.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name} must be a date written YYYY-MM-DD") from None


def parse_filter(query: Mapping[str, str]) -> QueueFilter:
    """The queue's filters from a query string; anything unexpected raises FilterError."""
    code = (query.get("code") or "").strip().upper()
    if code and not REFERENCE_CODE.match(code):
        raise FilterError("a reference code looks like BT-ABCD-2345")
    page_text = (query.get("page") or "1").strip()
    if not page_text.isdigit() or not 1 <= int(page_text) <= 100_000:
        raise FilterError("page must be a whole number from 1")
    return QueueFilter(
        review_status=_choice(query, "status", REVIEW_STATUSES),
        risk=_choice(query, "risk", RISK_FILTERS),
        site=_choice(query, "site", SITES),
        date_from=_date(query, "from"),
        date_to=_date(query, "to"),
        reference_code=code or None,
        page=int(page_text),
    )


@dataclass(frozen=True)
class QueueRow:
    id: int
    reference_code: Optional[str]
    status: str
    review_status: str
    risk_tool: Optional[str]
    risk_group: Optional[str]
    red_flag: Optional[str]
    pain_site: Optional[str]
    language: str
    started_at: datetime
    finished_at: Optional[datetime]
    urgent: bool


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def queue(db: Session, clinic_id: int, wanted: QueueFilter, page_size: int = PAGE_SIZE) -> Tuple[List[QueueRow], int]:
    """One page of the clinic's queue and the number of triages that match the filter."""
    t = TriageSession
    conditions = [t.clinic_id == clinic_id, t.status.in_(SHOWN_STATUSES)]
    if wanted.review_status:
        conditions.append(t.review_status == wanted.review_status)
    if wanted.risk == "red_flag":
        conditions.append(t.red_flag.isnot(None))
    elif wanted.risk == "unfinished":
        conditions.append(t.status == "in_progress")
    elif wanted.risk:
        conditions.append(t.risk_group == wanted.risk)
    if wanted.site:
        conditions.append(t.pain_site == wanted.site)
    if wanted.date_from:
        conditions.append(t.started_at >= _start_of(wanted.date_from))
    if wanted.date_to:
        conditions.append(t.started_at < _start_of(wanted.date_to + timedelta(days=1)))
    if wanted.reference_code:
        conditions.append(t.reference_code == wanted.reference_code)
    urgent = and_(t.review_status == "new", or_(t.red_flag.isnot(None), t.risk_group == "high"))
    urgent_first = case((urgent, 0), else_=1)
    total = db.execute(select(func.count(t.id)).where(*conditions)).scalar_one()
    rows = db.execute(
        select(t.id, t.reference_code, t.status, t.review_status, t.risk_tool, t.risk_group, t.red_flag,
               t.pain_site, t.language, t.started_at, t.completed_at, urgent_first)
        .where(*conditions)
        .order_by(urgent_first, t.started_at.desc(), t.id.desc())
        .offset((wanted.page - 1) * page_size)
        .limit(page_size)
    ).all()
    return [QueueRow(*row[:11], urgent=row[11] == 0) for row in rows], int(total)


def triage_of_clinic(db: Session, clinic_id: Optional[int], triage_id: int) -> Optional[TriageSession]:
    """A triage if it belongs to the clinic; None for another clinic's (the caller answers 404, so a
    guessed id tells nothing about other clinics)."""
    triage = db.get(TriageSession, triage_id)
    if triage is None or clinic_id is None or triage.clinic_id != clinic_id or triage.status not in SHOWN_STATUSES:
        return None
    return triage


def find_by_reference_code(db: Session, clinic_id: int, code: str) -> Optional[TriageSession]:
    code = code.strip().upper()
    if not REFERENCE_CODE.match(code):
        return None
    return db.execute(select(TriageSession).where(TriageSession.reference_code == code,
                                                  TriageSession.clinic_id == clinic_id)).scalar_one_or_none()
