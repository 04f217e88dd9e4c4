"""The follow-up schedule of a clinic, from data/followup/schedules.yml, checked at load so a typo
fails at start-up rather than when a check-in falls due."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.paths import DATA_DIR

SCHEDULES_FILE = DATA_DIR / "followup" / "schedules.yml"


class ScheduleError(ValueError):
    """data/followup/schedules.yml is malformed."""


@dataclass(frozen=True)
class Step:
    label: str
    days: int
    restratify: bool = False


@dataclass(frozen=True)
class Schedule:
    time_zone: str
    quiet_start: time
    quiet_end: time
    remind_after: timedelta
    missed_after: timedelta
    steps: Tuple[Step, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_quiet(self, moment: datetime, time_zone: Optional[str] = None) -> bool:
        """Whether ``moment`` (aware) falls in the quiet hours of the zone."""
        local = moment.astimezone(ZoneInfo(time_zone or self.time_zone)).time()
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end  # overnight: 21:00-09:00

    def quiet_until(self, moment: datetime, time_zone: Optional[str] = None) -> datetime:
        """The end of the quiet hours ``moment`` falls in, as an aware datetime in ``moment``'s zone
        (for a moment outside them: the moment itself)."""
        if not self.is_quiet(moment, time_zone):
            return moment
        zone = ZoneInfo(time_zone or self.time_zone)
        local = moment.astimezone(zone)
        end = datetime.combine(local.date(), self.quiet_end, tzinfo=zone)
        if end <= local:
            end += timedelta(days=1)
        # Local wall time, then back: a daylight-saving change overnight is handled by zoneinfo.
        return end.astimezone(moment.tzinfo)


def _clock(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError) as error:
        raise ScheduleError(f"{where}: expected HH:MM, got {value!r}") from error


def _schedule(raw: Mapping[str, Any], where: str) -> Schedule:
    try:
        ZoneInfo(str(raw["time_zone"]))
    except (KeyError, ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleError(f"{where}: unknown or missing time_zone") from error
    quiet = raw.get("quiet_hours") or {}
    steps = tuple(Step(str(s["label"]), int(s["days"]), bool(s.get("restratify", False)))
                  for s in raw.get("followups") or [])
    if not steps or any(s.days <= 0 or len(s.label) > 8 for s in steps):
        raise ScheduleError(f"{where}: followups need a label (at most 8 characters) and days above 0")
    if [s.days for s in steps] != sorted({s.days for s in steps}):
        raise ScheduleError(f"{where}: followups must be in order of days, without repeats")
    remind, missed = int(raw.get("remind_after_days", 2)), int(raw.get("missed_after_days", 2))
    if remind <= 0 or missed <= 0:
        raise ScheduleError(f"{where}: remind_after_days and missed_after_days must be above 0")
    return Schedule(
        time_zone=str(raw["time_zone"]),
        quiet_start=_clock(quiet.get("start", "21:00"), where),
        quiet_end=_clock(quiet.get("end", "09:00"), where),
        remind_after=timedelta(days=remind),
        missed_after=timedelta(days=missed),
        steps=steps,
    )


@lru_cache(maxsize=4)
def load_schedules(path: Path = SCHEDULES_FILE) -> Dict[Optional[str], Schedule]:
    """Clinic code -> schedule; the key None is the default."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    default_raw = raw.get("default")
    if not isinstance(default_raw, dict):
        raise ScheduleError(f"{path}: a 'default' schedule is required")
    schedules: Dict[Optional[str], Schedule] = {None: _schedule(default_raw, "default")}
    for code, override in (raw.get("clinics") or {}).items():
        schedules[str(code)] = _schedule({**default_raw, **(override or {})}, f"clinics/{code}")
    return schedules


def schedule_for(clinic_code: Optional[str], path: Path = SCHEDULES_FILE) -> Schedule:
    schedules = load_schedules(path)
    return schedules.get(clinic_code, schedules[None])


__all__ = ["Schedule", "ScheduleError", "Step", "load_schedules", "schedule_for"]
