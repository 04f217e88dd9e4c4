"""Which interventions work here: change in pain and function at 3 and 6 months after the triage,
per intervention received (the check-in's "treatment mainly had") and per baseline risk group.

For each cell: n, mean change (check-in minus triage: negative is better), a 95 % t interval, and
the share of patients improving by at least the MCID (CLINICAL_FACTS.md: pain 2 of 10, function 5 of
24). Cells with fewer than 10 patients show only that they are small: a mean of 4 people misleads
and may identify someone. These are observational data: patients chose or were given treatments
for reasons that also shape their course, so a difference between cells is not the effect of a
treatment (the page and the report say so in plain words).
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.followup.conversation import FUNCTION_MCID, PAIN_MCID
from bot.i18n.catalog import mark
from bot.prediction.predict import FUNCTION_ITEMS
from bot.store.models import Answer, FollowUp, FollowUpAnswer, FollowUpSeries, TriageSession

TIMES = ("3m", "6m")  # the check-in labels of data/followup/schedules.yml reported on
OUTCOMES = {"pain": PAIN_MCID, "function": FUNCTION_MCID}
DIMENSIONS = ("treatment", "risk_group")
MIN_CELL = 10


@dataclass(frozen=True)
class Row:
    """One answered 3- or 6-month check-in with its triage's baseline."""

    time: str
    treatment: str
    risk_group: str
    pain_change: Optional[float]
    function_change: Optional[float]


@dataclass(frozen=True)
class Cell:
    time: str
    outcome: str
    dimension: str
    group: str
    n: int
    mean: Optional[float]  # None when hidden (n < MIN_CELL)
    low: Optional[float]
    high: Optional[float]
    mcid_share: Optional[float]

    @property
    def hidden(self) -> bool:
        return self.mean is None


def _function(codes: Dict[str, str]) -> Optional[int]:
    if all(codes.get(i) in ("true", "false") for i in FUNCTION_ITEMS):
        return 4 * sum(codes[i] == "true" for i in FUNCTION_ITEMS)
    return None


def outcome_rows(db: Session, clinic_id: Optional[int] = None) -> List[Row]:
    query = (select(FollowUp, TriageSession)
             .join(FollowUpSeries, FollowUpSeries.id == FollowUp.series_id)
             .join(TriageSession, TriageSession.id == FollowUpSeries.session_id)
             .where(FollowUp.status == "answered", FollowUp.label.in_(TIMES), TriageSession.risk_group.isnot(None)))
    if clinic_id is not None:
        query = query.where(TriageSession.clinic_id == clinic_id)
    found = db.execute(query).all()
    if not found:
        return []
    triage_ids = {t.id for _, t in found}
    followup_ids = {f.id for f, _ in found}
    baseline: Dict[int, Dict[str, str]] = {}
    for session_id, item_id, code in db.execute(
            select(Answer.session_id, Answer.item_id, Answer.code).where(Answer.session_id.in_(triage_ids))):
        baseline.setdefault(session_id, {})[item_id] = code
    later: Dict[int, Dict[str, str]] = {}
    for followup_id, item_id, code in db.execute(
            select(FollowUpAnswer.followup_id, FollowUpAnswer.item_id, FollowUpAnswer.code)
            .where(FollowUpAnswer.followup_id.in_(followup_ids))):
        later.setdefault(followup_id, {})[item_id] = code
    rows = []
    for followup, triage in found:
        before, after = baseline.get(triage.id, {}), later.get(followup.id, {})
        pain = (float(after["pain_now"]) - float(before["pain_now"])
                if "pain_now" in before and "pain_now" in after else None)
        f0, f1 = _function(before), _function(after)
        rows.append(Row(followup.label, after.get("treatment_main", "unknown"), str(triage.risk_group), pain,
                        float(f1 - f0) if f0 is not None and f1 is not None else None))
    return rows


def summarise(values: List[float], mcid: float, time: str, outcome: str, dimension: str, group: str) -> Cell:
    n = len(values)
    if n < MIN_CELL:
        return Cell(time, outcome, dimension, group, n, None, None, None, None)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    share = sum(1 for v in values if -v >= mcid) / n  # improvement: the score went down by the MCID
    return Cell(time, outcome, dimension, group, n, mean, mean - half, mean + half, share)


def report(rows: Iterable[Row]) -> List[Cell]:
    rows = list(rows)
    cells = []
    for time in TIMES:
        for outcome, mcid in OUTCOMES.items():
            for dimension in DIMENSIONS:
                groups: Dict[str, List[float]] = {}
                for row in rows:
                    change = row.pain_change if outcome == "pain" else row.function_change
                    if row.time == time and change is not None:
                        groups.setdefault(getattr(row, dimension), []).append(change)
                cells += [summarise(v, mcid, time, outcome, dimension, g) for g, v in sorted(groups.items())]
    return cells


CSV_COLUMNS = ("time", "outcome", "dimension", "group", "n", "mean_change", "ci95_low", "ci95_high",
               "share_reaching_mcid")


def to_csv(cells: Iterable[Cell]) -> str:
    """One line per cell; a small cell has its n and empty figures."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in cells:
        figures: Tuple[str, ...] = (("", "", "", "") if c.hidden else
                                    (f"{c.mean:.2f}", f"{c.low:.2f}", f"{c.high:.2f}", f"{c.mcid_share:.3f}"))
        writer.writerow((c.time, c.outcome, c.dimension, c.group, c.n, *figures))
    return out.getvalue()


WARNING = ("Observational data: patients were not assigned to treatments at random, so differences between "
           "groups may come from who received which treatment, not from the treatment itself. Negative change "
           "is improvement. Groups with fewer than 10 patients are not shown.")


def text_table(cells: Iterable[Cell]) -> str:
    lines = [f"{'time':<5}{'outcome':<10}{'by':<12}{'group':<34}{'n':>5}{'mean':>8}{'95% CI':>18}{'MCID':>7}"]
    for c in cells:
        figures = ("   (fewer than 10)" if c.hidden else
                   f"{c.mean:>8.2f}{f'{c.low:.2f} to {c.high:.2f}':>18}{c.mcid_share:>7.0%}")
        lines.append(f"{c.time:<5}{c.outcome:<10}{c.dimension:<12}{c.group:<34}{c.n:>5}{figures}")
    return "\n".join(lines)


# The page's headings for each time and dimension (templates build these msgids from the codes).
LABELS = (mark("clinic.outcomes.time_3m"), mark("clinic.outcomes.time_6m"),
          mark("clinic.outcomes.by_treatment"), mark("clinic.outcomes.by_risk_group"))
