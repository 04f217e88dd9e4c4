"""The cohort CSV schema: one row per patient, the triage answers and the outcomes at follow-up.

One schema serves three callers so they cannot drift apart: the synthetic generator writes it, a
clinic's real cohort is read with it (``backtalk predictor train --cohort``), and one patient's
answers are checked against the same allowed values and rules before anything is predicted.
Nothing is imputed: a missing or impossible value is reported with its line and column, because a
model trained on guessed values would pass the guesses on to patients.

docs/prediction.md documents every column (a test keeps that table equal to ``COLUMNS``).
"""
from __future__ import annotations

import csv
import difflib
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple

import numpy as np

from bot.scoring.start_back import AGREE_SCORING, BOTHERSOME_SCORING, ITEMS as SBT_ITEMS, SUBSCALE_ITEMS

Kind = Literal["choice", "integer", "text"]
# When a cell may be empty: never; when the patient was not followed up; only outside paid work
# (required in paid work, empty otherwise); followed up and in paid work.
Presence = Literal["required", "follow_up", "paid_work", "paid_work_follow_up", "optional"]
Role = Literal["id", "provenance", "predictor", "outcome"]
ProblemKind = Literal["missing", "invalid", "inconsistent", "format"]


@dataclass(frozen=True)
class TimePoint:
    """A follow-up time; "3 months" is 13 weeks and "6 months" 26 weeks, as in the cohorts cited."""

    key: str
    weeks: int


TIME_POINTS: Tuple[TimePoint, ...] = (TimePoint("6w", 6), TimePoint("3m", 13), TimePoint("6m", 26))
SCALE_OUTCOMES = ("pain", "function")
WORK_OUTCOME = "off_work"

AGE_BANDS = ("18_to_29", "30_to_39", "40_to_49", "50_to_59", "60_to_69", "70_or_over")  # codes with letters: YAML reads 18_29 as 1829
SEXES = ("female", "male", "not_stated")
PAIN_SITES = ("low_back", "neck", "both")
DURATIONS = ("under_1_month", "1_to_3_months", "3_to_6_months", "6_months_to_3_years", "over_3_years")
PREVIOUS_EPISODES = ("none", "once_or_twice", "three_or_more")
RECOVERY_EXPECTATIONS = ("soon", "unsure", "long_time")
WORK_STATUSES = ("working", "off_work", "not_in_paid_work")
WORK_EXPECTATIONS = ("sure", "unsure", "unlikely")
RISK_GROUPS = ("low", "medium", "high")
AGREE_CODES = tuple(AGREE_SCORING)
BOTHER_CODES = tuple(BOTHERSOME_SCORING)  # ordered from "not at all" to "extremely"
PAIN_RANGE = (0, 10)
FUNCTION_RANGE = (0, 24)
DAYS_OFF_RANGE = (0, 28)  # days off work because of this pain in the last 4 weeks


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    role: Role
    description: str
    codes: Tuple[str, ...] = ()
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    presence: Presence = "required"
    optional_column: bool = False


def _outcome_columns() -> List[Column]:
    columns: List[Column] = []
    for time in TIME_POINTS:
        columns.append(Column(f"pain_{time.key}", "integer", "outcome", f"pain 0-10 at {time.weeks} weeks",
                              minimum=PAIN_RANGE[0], maximum=PAIN_RANGE[1], presence="follow_up"))
        columns.append(Column(f"function_{time.key}", "integer", "outcome",
                              f"disability 0-24 at {time.weeks} weeks", minimum=FUNCTION_RANGE[0],
                              maximum=FUNCTION_RANGE[1], presence="follow_up"))
        columns.append(Column(f"off_work_{time.key}", "integer", "outcome",
                              f"1 if off work because of the pain at {time.weeks} weeks, else 0",
                              minimum=0, maximum=1, presence="paid_work_follow_up"))
    return columns


COLUMNS: Tuple[Column, ...] = (
    Column("record_id", "text", "id", "a pseudonymous row id, used only to name rows in error messages",
           presence="optional", optional_column=True),
    Column("synthetic", "integer", "provenance", "1 for a generated row; a model trained on any such row is "
           "illustrative", minimum=0, maximum=1, presence="optional", optional_column=True),
    Column("age_band", "choice", "predictor", "age in years, banded (never a birth date)", AGE_BANDS),
    Column("sex", "choice", "predictor", "sex as the patient states it", SEXES),
    Column("pain_site", "choice", "predictor", "where the pain is", PAIN_SITES),
    Column("episode_duration", "choice", "predictor", "how long this episode has lasted", DURATIONS),
    Column("previous_episodes", "choice", "predictor", "earlier episodes of this pain", PREVIOUS_EPISODES),
    Column("pain_now", "integer", "predictor", "pain now, 0-10 numeric rating", minimum=PAIN_RANGE[0],
           maximum=PAIN_RANGE[1]),
    Column("function_now", "integer", "predictor", "disability now, 0-24 (higher is worse)",
           minimum=FUNCTION_RANGE[0], maximum=FUNCTION_RANGE[1]),
    *(Column(item, "choice", "predictor", f"STarT Back item {item[4:]} answer code",
             BOTHER_CODES if item == "sbt_9" else AGREE_CODES) for item in SBT_ITEMS),
    Column("sbt_total", "integer", "predictor", "STarT Back total 0-9 (must match the items)", minimum=0, maximum=9),
    Column("sbt_subscale", "integer", "predictor", "STarT Back distress subscale 0-5 (must match the items)",
           minimum=0, maximum=5),
    Column("risk_group", "choice", "predictor", "risk group by the STarT Back rules (must match the scores)",
           RISK_GROUPS),
    Column("recovery_expectation", "choice", "predictor", "when the patient expects to be better",
           RECOVERY_EXPECTATIONS),
    Column("work_status", "choice", "predictor", "paid work now", WORK_STATUSES),
    Column("days_off", "integer", "predictor", "days off work because of this pain in the last 4 weeks",
           minimum=DAYS_OFF_RANGE[0], maximum=DAYS_OFF_RANGE[1], presence="paid_work"),
    Column("work_expectation", "choice", "predictor", "how sure the patient is to be doing their usual work in "
           "3 months", WORK_EXPECTATIONS, presence="paid_work"),
    *_outcome_columns(),
)
COLUMN_BY_NAME: Dict[str, Column] = {c.name: c for c in COLUMNS}


def outcome_column(outcome: str, time: TimePoint) -> str:
    return f"{outcome}_{time.key}"


@dataclass(frozen=True)
class Problem:
    """One reason a row (or the whole file, when ``line`` is None) cannot be used."""

    kind: ProblemKind
    message: str
    line: Optional[int] = None
    column: Optional[str] = None
    record_id: Optional[str] = None

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}" + (f" (record_id {self.record_id})" if self.record_id else ""))
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class CohortError(ValueError):
    """A cohort cannot be used; the message names every bad line and column (the first 20 in full)."""

    SHOWN = 20

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = [f"{source} cannot be used: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems[: self.SHOWN]]
        if len(self.problems) > self.SHOWN:
            by_column = Counter(p.column or "(file)" for p in self.problems)
            summary = ", ".join(f"{name} {count}" for name, count in by_column.most_common())
            lines.append(f"  ... and {len(self.problems) - self.SHOWN} more; per column: {summary}")
        super().__init__("\n".join(lines))


@dataclass
class Cohort:
    """Rows as columns: choice and text columns hold strings ("" when empty), integer columns hold
    floats (NaN when empty). ``lines`` are the source line numbers used in messages."""

    columns: Dict[str, np.ndarray]
    lines: np.ndarray
    source: str = "cohort"
    record_ids: Optional[np.ndarray] = field(default=None)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def synthetic(self) -> bool:
        """Whether any row was generated: then every model trained on it is illustrative."""
        flags = self.columns.get("synthetic")
        return bool(flags is not None and np.nansum(flags) > 0)

    def subset(self, index: np.ndarray) -> "Cohort":
        ids = self.record_ids[index] if self.record_ids is not None else None
        return Cohort({k: v[index] for k, v in self.columns.items()}, self.lines[index], self.source, ids)


def _present(values: np.ndarray, column: Column) -> np.ndarray:
    return ~np.isnan(values) if column.kind == "integer" else values != ""


def _problems_at(mask: np.ndarray, cohort: Cohort, kind: ProblemKind, column: Optional[str],
                 message: Callable[[int], str]) -> Iterable[Problem]:
    for index in np.flatnonzero(mask):
        record_id = str(cohort.record_ids[index]) if cohort.record_ids is not None else None
        yield Problem(kind, message(int(index)), int(cohort.lines[index]), column, record_id or None)


def _show(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return repr(int(value))
    return repr(value.item() if isinstance(value, np.generic) else value)


def validate(cohort: Cohort, skip: Optional[Mapping[str, np.ndarray]] = None) -> List[Problem]:
    """Every problem of every row: values outside the schema, missing values, and answers that
    contradict each other (scores that do not match the items, work answers that do not fit the
    work status). ``skip`` masks cells already reported as unreadable."""
    skip = skip or {}
    n = len(cohort)
    cols = cohort.columns
    problems: List[Problem] = []
    valid: Dict[str, np.ndarray] = {}
    status = cols["work_status"] if "work_status" in cols else np.full(n, "", dtype=object)
    in_work = np.isin(status, ("working", "off_work"))
    known_status = np.isin(status, WORK_STATUSES)
    for column in COLUMNS:
        if column.name not in cols or column.kind == "text":
            continue
        values = cols[column.name]
        unreadable = skip.get(column.name, np.zeros(n, dtype=bool))
        present = _present(values, column) & ~unreadable
        if column.kind == "choice":
            ok = np.isin(values, column.codes)
            allowed = ", ".join(column.codes)
            problems += _problems_at(present & ~ok, cohort, "invalid", column.name,
                                     lambda i: f"{_show(values[i])} is not one of: {allowed}")
        else:
            with np.errstate(invalid="ignore"):
                ok = (values == np.round(values)) & (values >= column.minimum) & (values <= column.maximum)
            problems += _problems_at(present & ~ok, cohort, "invalid", column.name,
                                     lambda i: f"{_show(values[i])} is not a whole number from "
                                               f"{column.minimum} to {column.maximum}")
        valid[column.name] = present & ok
        if column.presence == "required":
            problems += _problems_at(~present & ~unreadable, cohort, "missing", column.name,
                                     lambda i: "a value is required")
        elif column.presence in ("paid_work", "paid_work_follow_up"):
            problems += _problems_at(present & known_status & ~in_work, cohort, "inconsistent", column.name,
                                     lambda i: f"must be empty when work_status is {status[i]}")
            if column.presence == "paid_work":
                problems += _problems_at(~present & ~unreadable & in_work, cohort, "missing", column.name,
                                         lambda i: f"a value is required when work_status is {status[i]}")
    problems += _score_problems(cohort, valid)
    if "days_off" in cols:
        off_without_days = valid.get("work_status", np.zeros(n, bool)) & (status == "off_work") \
            & valid.get("days_off", np.zeros(n, bool)) & (np.nan_to_num(cols["days_off"]) == 0)
        problems += _problems_at(off_without_days, cohort, "inconsistent", "days_off",
                                 lambda i: "is 0 but work_status says off work because of the pain")
    return sorted(problems, key=lambda p: (p.line or 0, p.column or ""))


def start_back_scores(columns: Mapping[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total, subscale and risk group of every row by the STarT Back rules (Hill et al. 2008), the
    same rules as bot.scoring.start_back, vectorised; unknown codes score 0 (validation reports them)."""
    scores = {item: _item_scores(item, columns[item]) for item in SBT_ITEMS}
    total = sum(scores.values())
    subscale = sum(scores[item] for item in SUBSCALE_ITEMS)
    group = np.where(total <= 3, "low", np.where(subscale >= 4, "high", "medium")).astype(object)
    return total, subscale, group


def _score_problems(cohort: Cohort, valid: Mapping[str, np.ndarray]) -> List[Problem]:
    """The STarT Back total, subscale and group must follow from the items."""
    cols = cohort.columns
    if not all(item in valid for item in SBT_ITEMS):
        return []
    items_ok = np.logical_and.reduce([valid[item] for item in SBT_ITEMS])
    total, subscale, expected_group = start_back_scores(cols)
    problems: List[Problem] = []
    for name, expected in (("sbt_total", total), ("sbt_subscale", subscale)):
        if name in valid:
            bad = items_ok & valid[name] & (cols[name] != expected)
            problems += _problems_at(bad, cohort, "inconsistent", name,
                                     lambda i, name=name, expected=expected:
                                     f"{_show(cols[name][i])} does not match the items, which score {expected[i]}")
    if "risk_group" in valid:
        bad = items_ok & valid["risk_group"] & (cols["risk_group"] != expected_group)
        problems += _problems_at(bad, cohort, "inconsistent", "risk_group",
                                 lambda i: f"{_show(cols['risk_group'][i])} does not follow from the items "
                                           f"(STarT Back rules give {expected_group[i]})")
    return problems


def _item_scores(item: str, codes: np.ndarray) -> np.ndarray:
    table = BOTHERSOME_SCORING if item == "sbt_9" else AGREE_SCORING
    return np.array([table.get(str(code), 0) for code in codes], dtype=int)


def check(cohort: Cohort, skip: Optional[Mapping[str, np.ndarray]] = None) -> Cohort:
    """The cohort itself if it is usable, else CohortError naming every problem."""
    missing = [c.name for c in COLUMNS if not c.optional_column and c.name not in cohort.columns]
    if missing:
        raise CohortError(cohort.source, [Problem("format", f"missing columns: {', '.join(missing)}")])
    if len(cohort) == 0:
        raise CohortError(cohort.source, [Problem("format", "there are no patient rows")])
    problems = validate(cohort, skip)
    if problems:
        raise CohortError(cohort.source, problems)
    return cohort


def _header_problems(header: Sequence[str]) -> List[Problem]:
    problems: List[Problem] = []
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates:
        problems.append(Problem("format", f"duplicate columns: {', '.join(duplicates)}", 1))
    for name in header:
        if name not in COLUMN_BY_NAME:
            close = difflib.get_close_matches(name, COLUMN_BY_NAME, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(Problem("format", f"unknown column{hint}", 1, name))
    missing = [c.name for c in COLUMNS if not c.optional_column and c.name not in header]
    if missing:
        problems.append(Problem("format", f"missing columns: {', '.join(missing)}", 1))
    return problems


def _parse_integers(raw: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """Floats with NaN for empty cells, and a mask of cells that are not numbers at all.
    "7.0" is read as 7 (spreadsheets and pandas write whole numbers that way); "7.5" stays 7.5 and
    is then reported as not a whole number."""
    values = np.full(len(raw), np.nan)
    unreadable = np.zeros(len(raw), dtype=bool)
    for index, cell in enumerate(raw):
        if cell == "":
            continue
        try:
            values[index] = float(cell)
        except ValueError:
            unreadable[index] = True
        else:
            unreadable[index] = not np.isfinite(values[index])
    return values, unreadable


def read_cohort_csv(path: Path) -> Cohort:
    """Read and check a cohort file (UTF-8, comma- or semicolon-separated, header row first)."""
    source = Path(path).name
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise CohortError(source, [Problem("format", f"not UTF-8 text ({error.reason} at byte {error.start})")])
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip() for name in next(reader, [])]
    if not header:
        raise CohortError(source, [Problem("format", "the file is empty")])
    problems = _header_problems(header)
    if problems:
        raise CohortError(source, problems)
    rows: List[List[str]] = []
    lines: List[int] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Problem("format", f"{len(row)} fields, but the header has {len(header)}", reader.line_num))
            continue
        rows.append([cell.strip() for cell in row])
        lines.append(reader.line_num)
    raw = {name: [row[index] for row in rows] for index, name in enumerate(header)}
    record_ids = np.array(raw["record_id"], dtype=object) if "record_id" in raw else None
    cohort = Cohort({}, np.array(lines, dtype=int), source, record_ids)
    skip: Dict[str, np.ndarray] = {}
    for name, cells in raw.items():
        column = COLUMN_BY_NAME[name]
        if column.kind == "integer":
            cohort.columns[name], skip[name] = _parse_integers(cells)
            problems += _problems_at(skip[name], cohort, "invalid", name,
                                     lambda i, cells=cells: f"{cells[i]!r} is not a number")
        elif column.kind == "choice":
            cohort.columns[name] = np.array(cells, dtype=object)
    try:
        check(cohort, skip)
    except CohortError as error:
        problems += error.problems
    if problems:
        raise CohortError(source, sorted(problems, key=lambda p: (p.line or 0, p.column or "")))
    return cohort


def write_cohort_csv(cohort: Cohort, path: Path) -> None:
    """Write the schema's columns in schema order; empty cells for missing values."""
    names = [c.name for c in COLUMNS if c.name in cohort.columns or (c.name == "record_id" and cohort.record_ids is not None)]
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        cells = []
        for name in names:
            if name == "record_id":
                cells.append([str(v) for v in cohort.record_ids])  # type: ignore[union-attr]
            elif COLUMN_BY_NAME[name].kind == "integer":
                cells.append(["" if np.isnan(v) else str(int(v)) for v in cohort.columns[name]])
            else:
                cells.append([str(v) for v in cohort.columns[name]])
        writer.writerows(zip(*cells))
