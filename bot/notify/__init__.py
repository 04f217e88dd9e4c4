"""Clinic notifications: "a triage needs you", by e-mail and/or the clinic team's Telegram group.

A transactional outbox: ``outbox.enqueue_for`` writes ``notifications`` rows in the same transaction
that finishes a triage (so a notification exists exactly when the finished triage does), and
``worker`` delivers them (``backtalk worker``). Nothing clinical is ever sent: only the reference
code, the urgency and a link to the summary page, which needs a clinician's sign-in.
See docs/notifications.md.
"""
