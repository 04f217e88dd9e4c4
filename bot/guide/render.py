"""The guide as HTML pages: one Jinja template per kind of page, the texts from the guide's data
(escaped, bot/guide/text.py) and the page furniture (skip link, "Sources", ...) from the catalogs.

Accessibility is in the markup, not bolted on: ``lang`` on <html> (and on each language's own name
in the language list), a skip link, one <h1> and headings in order, one column, every drawing with
its alt text, and a stylesheet (static/guide.css) that reflows at 320 px and 200 % zoom, keeps text
contrast above 4.5:1 and prints each page cleanly.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.guide.content import Guide, Section
from bot.guide.links import page_path
from bot.guide.text import blocks, inline, plain
from bot.i18n.catalog import SUPPORTED_LANGUAGES, mark, translate
from bot.i18n.languages import label
from bot.paths import QUESTIONNAIRE_DIR
from bot.questionnaires.loader import load_questionnaire
from bot.triage.replies import RISK_MESSAGES, emergency_number

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = "/guide/static/guide.css"
RISK_NAMES = {"low": mark("careplan.risk.low"), "medium": mark("careplan.risk.medium"),
              "high": mark("careplan.risk.high")}
# Page furniture: every text a page shows that is not the guide's own data.
FURNITURE = {
    "skip_link": mark("guide.skip_link"),
    "topics": mark("guide.topics"),
    "sources": mark("guide.sources"),
    "all_topics": mark("guide.all_topics"),
    "other_languages": mark("guide.other_languages"),
    "previous": mark("guide.previous"),
    "next": mark("guide.next"),
    "not_found": mark("guide.not_found"),
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["blocks"] = blocks
    env.filters["inline"] = inline
    env.filters["plain"] = plain
    return env


def _words(language: str) -> Dict[str, str]:
    return {key: translate(language, msgid) for key, msgid in FURNITURE.items()}


def _languages(current: str, section_id: Optional[str] = None) -> List[Dict[str, str]]:
    return [{"code": code, "label": label(code), "href": page_path(code, section_id)}
            for code in SUPPORTED_LANGUAGES if code != current]


@lru_cache(maxsize=None)
def red_flags(language: str) -> Tuple[Tuple[str, str], ...]:
    """The red-flag screen's own words, (short name, question), in the screen's order."""
    screen = load_questionnaire(QUESTIONNAIRE_DIR / "red_flags.yml")
    return tuple((translate(language, item.short or item.text), translate(language, item.text))
                 for item in screen.items)


def risk_groups(language: str, section: Section) -> List[Dict[str, Any]]:
    """Each group in the chat's and the care plan's own words, then the guide's own advice."""
    own = dict(section.groups)
    return [{"id": group, "name": translate(language, RISK_NAMES[group]),
             "meaning": translate(language, RISK_MESSAGES[group][0]),
             "next_steps": translate(language, RISK_MESSAGES[group][1]), "advice": own[group]}
            for group in ("low", "medium", "high")]


def render_index(guide: Guide) -> str:
    return _environment().get_template("index.html").render(
        guide=guide, words=_words(guide.language), lang=guide.language, stylesheet=STYLESHEET,
        home=page_path(guide.language), languages=_languages(guide.language),
        page_path=page_path)


def render_section(guide: Guide, section: Section) -> str:
    ids = [s.id for s in guide.sections]
    at = ids.index(section.id)
    previous = guide.sections[at - 1] if at > 0 else None
    following = guide.sections[at + 1] if at + 1 < len(guide.sections) else None
    extra: Dict[str, Any] = {}
    if section.id == "seek_help":
        extra["urgent"] = section.urgent.replace("{emergency_number}", emergency_number(guide.language))
        extra["red_flags"] = red_flags(guide.language)
    if section.id == "risk_groups":
        extra["groups"] = risk_groups(guide.language, section)
    return _environment().get_template("section.html").render(
        guide=guide, section=section, words=_words(guide.language), lang=guide.language,
        stylesheet=STYLESHEET, home=page_path(guide.language), previous=previous, following=following,
        languages=_languages(guide.language, section.id), page_path=page_path, **extra)


def render_not_found(language: str) -> str:
    """A 404 page in ``language`` (English for a language the guide does not have)."""
    return _environment().get_template("not_found.html").render(
        words=_words(language), lang=language, stylesheet=STYLESHEET, home=page_path(language),
        languages=_languages(language))
