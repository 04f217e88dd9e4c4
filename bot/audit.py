"""The append-only audit trail: who viewed, decided or exported what, and when.

Rows are only ever added (the database refuses UPDATE and DELETE on ``audit_events``, see migration
0004). Details hold filters and counts, never clinical content, so the trail itself can be shown to
an admin without exposing patients.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import AuditEvent, User


def record(db: Session, action: str, user: Optional[User] = None, reference_code: Optional[str] = None,
           detail: Optional[Dict[str, Any]] = None, username: Optional[str] = None,
           at: Optional[datetime] = None) -> None:
    """Add one event in the caller's transaction (so an action and its audit row commit together).
    ``username`` names a non-account actor such as "cli"; ``at`` is for a caller with its own clock
    (the worker's retention schedule), else now."""
    db.add(AuditEvent(
        **({"at": at} if at is not None else {}),
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else username,
        action=action,
        reference_code=reference_code,
        detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
    ))


def recent(db: Session, limit: int = 200, before_id: Optional[int] = None) -> List[AuditEvent]:
    """The newest events first, for the admin's audit page."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(db.execute(query).scalars())
