"""Follow-ups after a triage: schedules (data/followup), the scheduler that sends them, and the
follow-up questionnaire (docs/followups.md)."""
