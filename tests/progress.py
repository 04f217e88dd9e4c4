"""The "Question k of n" line that starts every question (issue 13), for tests that compare what a
patient reads with the catalog's question text."""
from __future__ import annotations

import re
from typing import Pattern

from bot.i18n.catalog import SUPPORTED_LANGUAGES, translate

PROGRESS_LINE = "(?:" + "|".join(
    re.escape(translate(language, "progress.question", number="NUMBER", total="TOTAL"))
    .replace("NUMBER", r"\d+").replace("TOTAL", r"\d+")
    for language in SUPPORTED_LANGUAGES
) + ")"
PROGRESS = re.compile("^" + PROGRESS_LINE + "\n")


def without_progress(text: str) -> str:
    """The message without its progress line (texts without one are returned as they are)."""
    return PROGRESS.sub("", text, count=1)


def shown(text: str) -> Pattern[str]:
    """What a page shows for a question: its text, after the progress line when it has one."""
    return re.compile("^(?:" + PROGRESS_LINE + r"\s+)?" + re.escape(text) + "$")
