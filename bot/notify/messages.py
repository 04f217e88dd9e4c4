"""What a notification says, from the message catalogs (``notify.*`` msgids).

Deliberately nothing clinical: no score, answer, red-flag name or pseudonym. An e-mail or a group
chat message can be read by people and servers outside the clinic's records system, so it carries
only what lets a clinician find the triage (the reference code and a link that needs sign-in) and
how soon to look (the urgency).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from bot.i18n.catalog import mark, translate

# follow_up_alert: a follow-up check-in found a new red flag or a clinically important worsening.
URGENCIES = ("red_flag", "high_risk", "routine", "follow_up_alert")

SUBJECTS: Dict[str, str] = {
    "red_flag": mark("notify.subject.red_flag"),
    "high_risk": mark("notify.subject.high_risk"),
    "routine": mark("notify.subject.routine"),
    "follow_up_alert": mark("notify.subject.follow_up_alert"),
}
HEADLINES: Dict[str, str] = {
    "red_flag": mark("notify.body.red_flag"),
    "high_risk": mark("notify.body.high_risk"),
    "routine": mark("notify.body.routine"),
    "follow_up_alert": mark("notify.body.follow_up_alert"),
}


@dataclass(frozen=True)
class Notice:
    """One notification, ready for any channel: an e-mail is ``subject`` and ``body``; a Telegram
    message has no subject, so it is ``text`` (the subject as its first line, then the body)."""

    urgency: str
    reference_code: str
    link: str
    subject: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.subject}\n\n{self.body}"


def summary_link(public_url: str, session_id: int) -> str:
    """The clinic's summary page of a triage; bot.web asks for sign-in before showing it."""
    return f"{public_url.rstrip('/')}/clinic/triages/{session_id}"


def compose(urgency: str, reference_code: str, link: str, language: str = "en") -> Notice:
    """The notification for ``urgency`` in ``language`` (unknown languages fall back to English)."""
    if urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}")
    subject = translate(language, SUBJECTS[urgency], reference_code=reference_code)
    lines = [
        translate(language, HEADLINES[urgency]),
        "",
        translate(language, "notify.reference", reference_code=reference_code),
        translate(language, "notify.link", link=link),
        "",
        translate(language, "notify.footer"),
    ]
    return Notice(urgency=urgency, reference_code=reference_code, link=link, subject=subject,
                  body="\n".join(lines))
