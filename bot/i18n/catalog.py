"""User-facing text comes only from Babel/gettext catalogs (bot/i18n/locales/<lang>/LC_MESSAGES).

Msgids are stable keys ("sbt_1.ask"), not English sentences: the English catalog is a translation
like any other, and a licensed clinic can replace an item's wording in any language without touching
code or data files.
"""
from __future__ import annotations

import gettext
from functools import lru_cache
from typing import Any, Optional, Tuple

import yaml
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.paths import DATA_DIR, LOCALE_DIR

DOMAIN = "backtalk"
DEFAULT_LANGUAGE = "en"
# data/languages.yml lists the languages BackTalk speaks; each has a catalog (a test checks).
SUPPORTED_LANGUAGES: Tuple[str, ...] = tuple(
    yaml.safe_load((DATA_DIR / "languages.yml").read_text(encoding="utf-8"))
)


class MissingMessage(KeyError):
    """A msgid has no translation: showing the key to a patient would be a bug."""


def supported_language(language: Any) -> Optional[str]:
    """The supported language a tag names ("de-CH" -> "de", "no"/"nn" -> "nb"), else None."""
    code = str(language or "").strip().lower().replace("_", "-").split("-")[0]
    code = {"no": "nb", "nn": "nb"}.get(code, code)  # Norwegian tags: we write Bokmål
    return code if code in SUPPORTED_LANGUAGES else None


def normalise_language(language: Any) -> str:
    return supported_language(language) or DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def _translations(language: str) -> gettext.GNUTranslations:
    mo_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po_path = mo_path.with_suffix(".po")
    if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
        compile_catalog(language)
    with mo_path.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def compile_catalog(language: str) -> None:
    """Compile one .po to .mo (set-up does this for all; here as a safety net after edits)."""
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    with po_path.with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def mark(msgid: str) -> str:
    """Marks a msgid that is chosen at run time, so pybabel still extracts it."""
    return msgid


def translate(language: str, msgid: str, **values: Any) -> str:
    """The message ``msgid`` in ``language``, with ``{placeholders}`` filled from ``values``."""
    text = _translations(normalise_language(language)).gettext(msgid)
    if text == msgid:
        raise MissingMessage(f"{msgid!r} has no text in the {language!r} catalog")
    return text.format(**values) if values else text
