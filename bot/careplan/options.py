"""The treatment options of data/careplan/treatment_options.yml and who each one is for.

Matching follows the stratified-care model the file documents (low risk: advice, reassurance and
self-management; medium adds physiotherapy and exercise; high adds psychologically informed care);
the rules are the data, so a clinician changes them in the file, not here.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Literal, Tuple

import yaml

from bot.paths import DATA_DIR
from bot.prediction.schema import DURATIONS, PAIN_SITES, RISK_GROUPS

OPTIONS_FILE = DATA_DIR / "careplan" / "treatment_options.yml"
Audience = Literal["patient", "clinician"]


class CarePlanDataError(ValueError):
    """A care-plan data file is malformed; raised at load time, never mid-conversation."""


@dataclass(frozen=True)
class TreatmentOption:
    id: str
    name: str    # msgid
    about: str   # msgid
    sites: Tuple[str, ...]
    durations: Tuple[str, ...]
    risk_groups: Tuple[str, ...]
    audience: Audience
    source: str

    def fits(self, site: str, duration: str, risk_group: str) -> bool:
        return site in self.sites and duration in self.durations and risk_group in self.risk_groups


def _subset(raw: object, allowed: Tuple[str, ...], where: str) -> Tuple[str, ...]:
    if raw == "any":
        return allowed
    if not isinstance(raw, list) or not raw or any(v not in allowed for v in raw):
        raise CarePlanDataError(f"{where}: expected 'any' or a list of {', '.join(allowed)}; got {raw!r}")
    return tuple(raw)


@lru_cache(maxsize=None)
def load_options(path: Path = OPTIONS_FILE) -> Tuple[TreatmentOption, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["options"]
    options = []
    for entry in raw:
        where = f"{path.name}/{entry.get('id', '?')}"
        missing = [k for k in ("id", "name", "about", "sites", "durations", "risk_groups", "audience", "source")
                   if k not in entry]
        if missing:
            raise CarePlanDataError(f"{where}: missing {', '.join(missing)}")
        if entry["audience"] not in ("patient", "clinician"):
            raise CarePlanDataError(f"{where}: audience must be patient or clinician")
        options.append(TreatmentOption(
            id=entry["id"], name=entry["name"], about=entry["about"],
            sites=_subset(entry["sites"], PAIN_SITES, f"{where}.sites"),
            durations=_subset(entry["durations"], DURATIONS, f"{where}.durations"),
            risk_groups=_subset(entry["risk_groups"], RISK_GROUPS, f"{where}.risk_groups"),
            audience=entry["audience"], source=str(entry["source"]),
        ))
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        raise CarePlanDataError(f"{path.name}: duplicate option ids")
    return tuple(options)


def matching_options(site: str, duration: str, risk_group: str, audience: Audience = "patient",
                     options: Tuple[TreatmentOption, ...] = ()) -> List[TreatmentOption]:
    """The options for this patient, in the file's order (the order a clinician chose)."""
    return [o for o in (options or load_options()) if o.audience == audience and o.fits(site, duration, risk_group)]
