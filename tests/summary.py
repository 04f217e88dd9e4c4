"""The summary step before the result (issue 13), for tests that finish a triage: recognise the
summary message in any language and tap "That's right", so a test that is about something else
still reads as the patient's path to the result."""
from __future__ import annotations

from bot.i18n.catalog import translate


def is_summary(text: str, language: str = "en") -> bool:
    """Whether a message is the summary of answers (its first line is the summary's intro)."""
    return text.startswith(translate(language, "summary.intro") + "\n")


def confirm_title(language: str = "en") -> str:
    """The title of the summary's "That's right" button."""
    return translate(language, "summary.confirm")


def change_title(language: str = "en") -> str:
    """The title of the summary's "Change something" button."""
    return translate(language, "summary.change")
