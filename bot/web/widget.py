"""What the embeddable widget needs from bot.web: its chrome strings (from the gettext catalogs) and
the origins allowed to embed it (CORS)."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from bot.i18n.catalog import DEFAULT_LANGUAGE, mark, supported_language, translate

STATIC_DIR = Path(__file__).resolve().parent / "static"
WIDGET_SOURCE = STATIC_DIR / "widget.js"
# widget.js carries the English strings as a fallback for when /api/widget-strings cannot be reached;
# bot.web puts them in place of this marker when serving the script.
FALLBACK_MARKER = "/*BACKTALK_FALLBACK_STRINGS*/{}"

# Every text the widget shows around the conversation. Referenced literally so pybabel extracts them.
WIDGET_MSGIDS: Tuple[str, ...] = (
    mark("widget.title"),
    mark("widget.empty"),
    mark("widget.log_label"),
    mark("widget.input_label"),
    mark("widget.placeholder"),
    mark("widget.send"),
    mark("widget.typing"),
    mark("widget.you"),
    mark("widget.bot"),
    mark("widget.document"),
    mark("widget.error_connection"),
    mark("widget.error_too_long"),
    mark("widget.error_busy"),
    mark("widget.open"),
    mark("widget.close"),
    mark("widget.followup"),
    mark("widget.menu"),
    mark("widget.forget"),
    mark("widget.forget_ask"),
    mark("widget.forget_yes"),
    mark("widget.forget_no"),
    mark("widget.forgotten"),
    mark("widget.research_allow"),
    mark("widget.research_withdraw"),
    mark("widget.research_allowed"),
    mark("widget.research_withdrawn"),
    mark("widget.research_nothing"),
    mark("widget.error_unavailable"),
)

# A BCP 47-ish tag: "de", "de-CH", "pt_BR", "zh-Hant-TW". Anything else is refused with 400.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}$")


def valid_language_tag(tag: str) -> bool:
    return bool(LANGUAGE_TAG.match(tag))


@lru_cache(maxsize=None)
def widget_strings(language: str) -> Tuple[str, Dict[str, str]]:
    """(the language served, {short key: text}) for a tag; unsupported languages get English."""
    served = supported_language(language) or DEFAULT_LANGUAGE
    return served, {msgid.split(".", 1)[1]: translate(served, msgid) for msgid in WIDGET_MSGIDS}


def widget_script() -> bytes:
    """widget.js with the English strings in place of its fallback marker."""
    source = WIDGET_SOURCE.read_text(encoding="utf-8")
    if FALLBACK_MARKER not in source:
        raise RuntimeError(f"{WIDGET_SOURCE} lost its fallback marker {FALLBACK_MARKER!r}")
    strings = json.dumps(widget_strings(DEFAULT_LANGUAGE)[1], ensure_ascii=True).replace("<", "\\u003c")
    return source.replace(FALLBACK_MARKER, strings).encode("utf-8")


def parse_allowed_origins(value: Optional[str]) -> FrozenSet[str]:
    """WIDGET_ALLOWED_ORIGINS: comma- or space-separated origins ("https://clinic.example"), or "*".

    Empty (the default) means same-origin only."""
    origins = set()
    for raw in re.split(r"[,\s]+", value or ""):
        raw = raw.strip().rstrip("/")
        if not raw:
            continue
        if raw == "*":
            origins.add("*")
            continue
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ValueError(f"WIDGET_ALLOWED_ORIGINS: {raw!r} is not an origin such as https://clinic.example")
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


def origin_allowed(origin: Optional[str], host: Optional[str], allowed: FrozenSet[str]) -> bool:
    """Same-origin requests (or none named, e.g. curl) always; other origins only when listed."""
    if not origin:
        return True
    origin = origin.lower()
    if "*" in allowed or origin in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc == str(host).lower()


def cors_headers(origin: Optional[str], allowed: FrozenSet[str], host: Optional[str]) -> Mapping[str, str]:
    """Headers letting a listed cross-origin page read the answer (none for same-origin or refused)."""
    if not origin or not origin_allowed(origin, host, allowed) or urlsplit(origin.lower()).netloc == str(host).lower():
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Expose-Headers": "Retry-After",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
