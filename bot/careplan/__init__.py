"""Care plans: guideline-backed treatment options and self-help resources matched to a triage,
composed in the patient's language and rendered as chat text, HTML and PDF."""
