"""Recording what a clinician decided for a triage, and the team's review status."""
from __future__ import annotations

from typing import Optional, Sequence

from bot.careplan.options import load_options
from bot.clinic.queue import REVIEW_STATUSES
from bot.store.models import Decision, TriageSession, User

MAX_NOTE = 2000


class DecisionError(ValueError):
    """A decision that cannot be recorded, with the reason to show."""


def record_decision(triage: TriageSession, user: User, option_ids: Sequence[str], referred_elsewhere: bool,
                    note: Optional[str]) -> Decision:
    """A new current decision (earlier ones stay as history). Options come from
    data/careplan/treatment_options.yml; a decision names at least one option or a referral."""
    known = {o.id for o in load_options()}
    chosen = list(dict.fromkeys(option_ids))
    unknown = [o for o in chosen if o not in known]
    if unknown:
        raise DecisionError(f"unknown treatment options: {', '.join(unknown)}")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise DecisionError(f"the note is longer than {MAX_NOTE} characters")
    if not chosen and not referred_elsewhere:
        raise DecisionError("choose at least one option, or referred elsewhere")
    decision = Decision(user_id=user.id, option_ids=" ".join(chosen), referred_elsewhere=referred_elsewhere,
                        note=note)
    triage.decisions.append(decision)
    if triage.review_status == "new":
        triage.review_status = "seen"
    return decision


def set_review_status(triage: TriageSession, status: str) -> None:
    if status not in REVIEW_STATUSES:
        raise DecisionError(f"the status must be one of {', '.join(REVIEW_STATUSES)}")
    triage.review_status = status
