"""The guide's data: data/guide/guide.yml (sections, exercises, sources, care-plan links) and one
file of words per language (data/guide/<lang>.yml). Everything is checked when it is loaded, so a
clinic's edit that leaves a gap stops bot.web at start-up with the file and the key named, instead
of showing a patient half a page."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.paths import DATA_DIR

GUIDE_DIR = DATA_DIR / "guide"
SECTION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Placeholders a language file may use, and where: anything else is a typo a patient would see.
PLACEHOLDERS = {"urgent": {"emergency_number"}}
PAIN_SITES = ("low_back", "neck", "both")
RISK_GROUPS = ("low", "medium", "high")


class GuideDataError(ValueError):
    """A guide data file is missing, malformed or incomplete."""


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    steps: str  # Markdown-ish text (bot/guide/text.py)
    alt: str  # the drawing's text alternative
    figure: Path


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    summary: str
    body: str
    sources: Tuple[str, ...]  # full citations
    exercises: Tuple[Exercise, ...] = ()
    # seek_help: the sentence before the red flags ({emergency_number} filled in) and what follows
    urgent: str = ""
    after: str = ""
    # risk_groups: what a patient can do themselves in each group
    groups: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Guide:
    language: str
    title: str
    intro: str
    footer: str
    sections: Tuple[Section, ...]

    def section(self, section_id: str) -> Optional[Section]:
        return next((s for s in self.sections if s.id == section_id), None)


@dataclass(frozen=True)
class Structure:
    section_ids: Tuple[str, ...]
    exercises: Mapping[str, Tuple[str, ...]]
    sources: Mapping[str, Tuple[str, ...]]
    plan_sites: Mapping[str, Tuple[str, ...]]
    plan_groups: Mapping[str, Tuple[str, ...]]


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        raise GuideDataError(f"{path}: file missing")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise GuideDataError(f"{path}: not valid YAML: {error}") from error


def _ids(raw: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and SECTION_ID.match(v) for v in raw):
        raise GuideDataError(f"{where}: expected a list of ids (lowercase letters, digits, _)")
    return tuple(raw)


def load_structure(directory: Path = GUIDE_DIR) -> Structure:
    path = directory / "guide.yml"
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list):
        raise GuideDataError(f"{path}: needs a list 'sections'")
    citations = raw.get("sources") or {}
    section_ids: List[str] = []
    exercises: Dict[str, Tuple[str, ...]] = {}
    sources: Dict[str, Tuple[str, ...]] = {}
    for index, entry in enumerate(raw["sections"]):
        where = f"{path}: sections[{index}]"
        if not isinstance(entry, dict) or not SECTION_ID.match(str(entry.get("id", ""))):
            raise GuideDataError(f"{where}: needs an 'id'")
        sid = entry["id"]
        if sid in section_ids:
            raise GuideDataError(f"{where}: section {sid!r} listed twice")
        section_ids.append(sid)
        cited = _ids(entry.get("sources"), f"{where} ({sid}).sources")
        unknown = [c for c in cited if not str(citations.get(c, "")).strip()]
        if not cited or unknown:
            raise GuideDataError(f"{where} ({sid}): every section cites sources listed under 'sources'"
                                 f"{'; unknown: ' + ', '.join(unknown) if unknown else ''}")
        sources[sid] = tuple(" ".join(str(citations[c]).split()) for c in cited)
        exercises[sid] = _ids(entry.get("exercises", []), f"{where} ({sid}).exercises")
        for exercise in exercises[sid]:
            if not (directory / "figures" / f"{exercise}.svg").exists():
                raise GuideDataError(f"{directory / 'figures' / (exercise + '.svg')}: drawing for exercise "
                                     f"{exercise!r} missing")
    links = raw.get("plan_links") or {}
    plan_sites = {site: _ids((links.get("sites") or {}).get(site), f"{path}: plan_links.sites.{site}")
                  for site in PAIN_SITES}
    plan_groups = {group: _ids((links.get("risk_groups") or {}).get(group), f"{path}: plan_links.risk_groups.{group}")
                   for group in RISK_GROUPS}
    for where, named in [*plan_sites.items(), *plan_groups.items()]:
        unknown = [s for s in named if s not in section_ids]
        if unknown:
            raise GuideDataError(f"{path}: plan_links.{where} names unknown sections {unknown}")
    return Structure(tuple(section_ids), exercises, sources, plan_sites, plan_groups)


def _text(raw: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise GuideDataError(f"{where}: '{key}' missing or empty")
    allowed = PLACEHOLDERS.get(key, set())
    used = set(re.findall(r"{(\w*)}", value))
    if used - allowed:
        raise GuideDataError(f"{where}.{key}: unknown placeholder(s) {sorted(used - allowed)}"
                             f" (allowed: {sorted(allowed) or 'none'})")
    if allowed and not used:
        raise GuideDataError(f"{where}.{key}: must contain {', '.join('{' + a + '}' for a in sorted(allowed))}")
    return value.strip()


def load_guide(language: str, directory: Path = GUIDE_DIR, structure: Optional[Structure] = None) -> Guide:
    """One language's guide, complete or a GuideDataError naming what is missing."""
    structure = structure or load_structure(directory)
    path = directory / f"{language}.yml"
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise GuideDataError(f"{path}: expected a mapping with 'title', 'intro', 'footer' and 'sections'")
    if raw.get("language") != language:
        raise GuideDataError(f"{path}: 'language' must be {language!r}")
    where = str(path)
    sections_raw = raw.get("sections")
    if not isinstance(sections_raw, dict):
        raise GuideDataError(f"{path}: 'sections' must map section ids to their texts")
    missing = [s for s in structure.section_ids if s not in sections_raw]
    extra = [s for s in sections_raw if s not in structure.section_ids]
    if missing or extra:
        raise GuideDataError(f"{path}: sections differ from guide.yml"
                             + (f"; missing: {', '.join(missing)}" if missing else "")
                             + (f"; not in guide.yml: {', '.join(extra)}" if extra else ""))
    sections = []
    for sid in structure.section_ids:
        s_where = f"{where}: sections.{sid}"
        s_raw = sections_raw[sid]
        if not isinstance(s_raw, dict):
            raise GuideDataError(f"{s_where}: expected title, summary and body")
        exercises = []
        ex_raw = s_raw.get("exercises") or {}
        if structure.exercises[sid]:
            if not isinstance(ex_raw, dict):
                raise GuideDataError(f"{s_where}.exercises: must map exercise ids to name, steps and alt")
            missing = [e for e in structure.exercises[sid] if e not in ex_raw]
            extra = [e for e in ex_raw if e not in structure.exercises[sid]]
            if missing or extra:
                raise GuideDataError(f"{s_where}.exercises differ from guide.yml"
                                     + (f"; missing: {', '.join(missing)}" if missing else "")
                                     + (f"; not in guide.yml: {', '.join(extra)}" if extra else ""))
            for eid in structure.exercises[sid]:
                e_where = f"{s_where}.exercises.{eid}"
                e_raw = ex_raw[eid]
                if not isinstance(e_raw, dict):
                    raise GuideDataError(f"{e_where}: expected name, steps and alt")
                exercises.append(Exercise(eid, _text(e_raw, "name", e_where), _text(e_raw, "steps", e_where),
                                          _text(e_raw, "alt", e_where), directory / "figures" / f"{eid}.svg"))
        elif ex_raw:
            raise GuideDataError(f"{s_where}: has exercises, but guide.yml lists none for it")
        groups: Tuple[Tuple[str, str], ...] = ()
        if sid == "risk_groups":
            g_raw = s_raw.get("groups")
            if not isinstance(g_raw, dict):
                raise GuideDataError(f"{s_where}: 'groups' must give a text for low, medium and high")
            groups = tuple((g, _text(g_raw, g, f"{s_where}.groups")) for g in RISK_GROUPS)
        sections.append(Section(
            id=sid, title=_text(s_raw, "title", s_where), summary=_text(s_raw, "summary", s_where),
            body=_text(s_raw, "body", s_where), sources=structure.sources[sid], exercises=tuple(exercises),
            urgent=_text(s_raw, "urgent", s_where, required=sid == "seek_help"),
            after=_text(s_raw, "after", s_where, required=False), groups=groups,
        ))
    return Guide(language, _text(raw, "title", where), _text(raw, "intro", where), _text(raw, "footer", where),
                 tuple(sections))


def load_guides(directory: Path = GUIDE_DIR, languages: Tuple[str, ...] = SUPPORTED_LANGUAGES) -> Dict[str, Guide]:
    """Every language's guide; the first problem found raises GuideDataError."""
    structure = load_structure(directory)
    return {language: load_guide(language, directory, structure) for language in languages}


@lru_cache(maxsize=1)
def guides() -> Dict[str, Guide]:
    """The guides of data/guide, loaded and checked once per process."""
    return load_guides()


@lru_cache(maxsize=1)
def structure() -> Structure:
    return load_structure()
