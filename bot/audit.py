"""The append-only audit trail: who saw, decided or exported what (the table refuses UPDATE and
DELETE; see migration 0004). Callers pass no clinical content in ``detail``: filters and counts only."""
from __future__ import annotations

import json
from typing import Optional

from sqlalchemy.orm import Session

from bot.store.models import AuditEvent, User

# Who acted when no account did: the operator at the `backtalk` command line, the one caller
# without a signed-in user.
CLI_USERNAME = "cli"


def record(db: Session, action: str, user: Optional[User] = None, reference_code: Optional[str] = None,
           detail: Optional[dict] = None) -> None:
    """Add one audit event to ``db``'s transaction, so it commits (or rolls back) with what it records."""
    db.add(AuditEvent(
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else CLI_USERNAME,
        action=action,
        reference_code=reference_code,
        detail=json.dumps(detail, sort_keys=True) if detail is not None else None,
    ))
