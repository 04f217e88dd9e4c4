"""Self-help resources of data/careplan/resources.yml, chosen for a patient's language and pain site."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, List, Optional, Tuple
from urllib.parse import urlsplit

import yaml

from bot.careplan.options import CarePlanDataError
from bot.paths import DATA_DIR

RESOURCES_FILE = DATA_DIR / "careplan" / "resources.yml"
TOPICS = frozenset({"back", "neck", "exercise", "work", "sleep", "pain_and_mood"})
# Which topics speak to which pain site; general topics suit everyone.
SITE_TOPICS = {"low_back": {"back"}, "neck": {"neck"}, "both": {"back", "neck"}}
GENERAL_TOPICS = {"exercise", "work", "sleep", "pain_and_mood"}
MAX_RESOURCES = 5
MIN_OWN_LANGUAGE = 2  # fewer than this in the patient's language: English ones are added, with a note


@dataclass(frozen=True)
class Resource:
    id: str
    title: str
    url: str
    language: str
    country: str
    topics: FrozenSet[str]
    publisher: str
    checked: Optional[date]


@dataclass(frozen=True)
class ResourceChoice:
    resources: Tuple[Resource, ...]
    includes_english_fallback: bool


def _check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or " " in url:
        raise CarePlanDataError(f"{where}: {url!r} is not a well-formed https URL")


@lru_cache(maxsize=None)
def fallback_languages(path: Path = RESOURCES_FILE) -> FrozenSet[str]:
    """Languages whose own resources are not enough: English ones are added, with a note."""
    return frozenset(yaml.safe_load(path.read_text(encoding="utf-8")).get("fallback_to_english") or ())


@lru_cache(maxsize=None)
def load_resources(path: Path = RESOURCES_FILE) -> Tuple[Resource, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    resources = []
    for entry in raw["resources"]:
        where = f"{path.name}/{entry.get('id', '?')}"
        missing = [k for k in ("id", "title", "url", "language", "country", "topics", "publisher") if k not in entry]
        if missing:
            raise CarePlanDataError(f"{where}: missing {', '.join(missing)}")
        _check_url(entry["url"], where)
        topics = frozenset(entry["topics"])
        if not topics or not topics <= TOPICS:
            raise CarePlanDataError(f"{where}: topics must be among {sorted(TOPICS)}")
        checked = entry.get("checked")
        resources.append(Resource(
            id=entry["id"], title=str(entry["title"]), url=entry["url"], language=entry["language"],
            country=entry["country"], topics=topics, publisher=str(entry["publisher"]),
            checked=checked if isinstance(checked, date) else None,
        ))
    return tuple(resources)


def _relevance(resource: Resource, site: str) -> int:
    """Pages on the patient's site first, then general ones (exercise, work, sleep, mood); pages on
    the other site only (a neck page for low back pain) are left out."""
    if resource.topics & SITE_TOPICS.get(site, set()):
        return 0
    if not resource.topics & {"back", "neck"}:
        return 1
    return 2


def _ranked(resources: List[Resource], site: str) -> List[Resource]:
    return [r for r in sorted(resources, key=lambda r: _relevance(r, site)) if _relevance(r, site) < 2]


def choose_resources(language: str, site: str, resources: Tuple[Resource, ...] = (),
                     fallback: Optional[FrozenSet[str]] = None) -> ResourceChoice:
    """Up to five resources for the site, in the patient's language; when that language has fewer
    than two (or the file lists it under ``fallback_to_english``), English ones fill up and the
    plan says so."""
    pool = resources or load_resources()
    own = _ranked([r for r in pool if r.language == language], site)
    chosen = own[:MAX_RESOURCES]
    needs_english = language in (fallback_languages() if fallback is None else fallback)
    added_english = False
    if (len(chosen) < MIN_OWN_LANGUAGE or needs_english) and language != "en":
        english = _ranked([r for r in pool if r.language == "en"], site)
        chosen += english[: max(MAX_RESOURCES - len(chosen), MIN_OWN_LANGUAGE)]
        added_english = True
    return ResourceChoice(tuple(chosen), added_english)
