"""The little Markdown a clinic may use in the guide's texts, rendered safely.

- A blank line starts a new paragraph.
- Lines starting with "- " make a bulleted list; lines starting with "1. " a numbered one.
- **bold** for a few words that matter.

Everything else is text: it is escaped, so no HTML from a data file ever reaches a page.
"""
from __future__ import annotations

import re
from typing import List

from markupsafe import Markup, escape

BULLET = re.compile(r"^[-*]\s+")
NUMBERED = re.compile(r"^\d+[.)]\s+")
BOLD = re.compile(r"\*\*(.+?)\*\*")
# Line breaks and runs of spaces become one space; a no-break space (French "\u00a0:") stays.
SPACES = re.compile(r"[ \t\r\n]+")


def inline(text: str) -> Markup:
    """One line or paragraph: escaped, with **bold** as <strong>."""
    escaped = str(escape(SPACES.sub(" ", text).strip()))
    return Markup(BOLD.sub(r"<strong>\1</strong>", escaped))


def _list(lines: List[str], pattern: "re.Pattern[str]", tag: str) -> str:
    items: List[str] = []
    for line in lines:
        if pattern.match(line):
            items.append(pattern.sub("", line, count=1))
        elif items:  # a continuation line of the item above
            items[-1] += " " + line
    return f"<{tag}>" + "".join(f"<li>{inline(i)}</li>" for i in items) + f"</{tag}>"


def blocks(text: str) -> Markup:
    """Paragraphs and lists as HTML."""
    html: List[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if BULLET.match(lines[0]):
            html.append(_list(lines, BULLET, "ul"))
        elif NUMBERED.match(lines[0]):
            html.append(_list(lines, NUMBERED, "ol"))
        else:
            html.append(f"<p>{inline(' '.join(lines))}</p>")
    return Markup("\n".join(html))


def plain(text: str) -> str:
    """The text without markup (for a summary in a care plan or a <meta> description)."""
    return BOLD.sub(r"\1", SPACES.sub(" ", text).strip())
