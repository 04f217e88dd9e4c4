"""The triage use case: accepting answers, finishing with a risk group or a red flag, storing both."""
from bot.triage.service import TriageOutcome, TriageService

__all__ = ["TriageOutcome", "TriageService"]
