"""A synthetic cohort whose distributions and effects come from published figures.

No patient-level cohort of neck and back pain is public, so the default model learns from patients
simulated with a small structural model: two latent traits (physical burden and distress) drive the
STarT Back answers, pain and disability now; a personal recovery fraction, lowered by distress, a
long episode, pessimistic expectations and earlier episodes, shapes the course over 26 weeks along
the published recovery curve; work absence follows absence now, days off, disability and the
patient's own expectation. Every number lives in data/prediction/cohort_parameters.yml with its
source and its basis (published, derived, calibrated or assumption), and the same file lists the
published figures the generated cohort must reproduce (``targets``, checked by the tests).

The output is an ordinary ``Cohort`` in the CSV schema, marked ``synthetic``, so the training code
cannot tell it from a clinic's real cohort except by that flag.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import yaml

from bot.paths import PREDICTION_DATA_DIR
from bot.prediction.schema import (
    AGE_BANDS,
    BOTHER_CODES,
    DAYS_OFF_RANGE,
    FUNCTION_RANGE,
    PAIN_RANGE,
    RECOVERY_EXPECTATIONS,
    RISK_GROUPS,
    TIME_POINTS,
    WORK_EXPECTATIONS,
    Cohort,
    check,
    outcome_column,
    start_back_scores,
)
from bot.scoring.start_back import ITEMS as SBT_ITEMS

PARAMETERS_FILE = PREDICTION_DATA_DIR / "cohort_parameters.yml"
BASES = ("published", "derived", "calibrated", "assumption")
ACUTE = ("under_1_month", "1_to_3_months")  # under 3 months: the "acute" cohorts of the sources
GENERATOR_VERSION = 1  # bump when the structural model changes, so set-up retrains the default model


class ParameterError(ValueError):
    """The parameter file is malformed or a parameter does not name its source."""


@dataclass(frozen=True)
class Entry:
    """A parameter or a target: its value and where it comes from."""

    value: Any
    basis: str
    sources: Tuple[str, ...]
    note: str
    tolerance: Any = None


@dataclass(frozen=True)
class CohortParameters:
    parameters: Mapping[str, Entry]
    targets: Mapping[str, Entry]
    sources: Mapping[str, str]
    sha256: str

    def __getitem__(self, name: str) -> Any:
        return self.parameters[name].value


def _entry(name: str, raw: Any, sources: Mapping[str, str], target: bool) -> Entry:
    if not isinstance(raw, dict) or "value" not in raw:
        raise ParameterError(f"{name}: needs a value")
    cited = raw.get("source") or []
    cited = (cited,) if isinstance(cited, str) else tuple(cited)
    unknown = [s for s in cited if s not in sources]
    if unknown:
        raise ParameterError(f"{name}: unknown source(s) {unknown}")
    basis = raw.get("basis", "published" if target else None)
    if basis not in BASES:
        raise ParameterError(f"{name}: basis must be one of {BASES}")
    note = str(raw.get("note", "")).strip()
    if basis != "calibrated" and not cited:
        raise ParameterError(f"{name}: a {basis} value must cite a source")
    if basis in ("derived", "calibrated", "assumption") and not note:
        raise ParameterError(f"{name}: a {basis} value must say how it was obtained (note)")
    if target and raw.get("tolerance") is None:
        raise ParameterError(f"{name}: a target needs a tolerance")
    return Entry(raw["value"], basis, cited, note, raw.get("tolerance"))


def load_parameters(path: Path = PARAMETERS_FILE) -> CohortParameters:
    """Read and check the parameter file: every entry has a value, a basis and its sources."""
    text = Path(path).read_bytes()
    raw = yaml.safe_load(text)
    sources = raw.get("sources") or {}
    parameters = {k: _entry(k, v, sources, False) for k, v in (raw.get("parameters") or {}).items()}
    targets = {k: _entry(k, v, sources, True) for k, v in (raw.get("targets") or {}).items()}
    return CohortParameters(parameters, targets, sources, hashlib.sha256(text).hexdigest())


@lru_cache(maxsize=1)
def default_parameters() -> CohortParameters:
    return load_parameters()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _recovery_curve(weeks: float, time_constant: float) -> float:
    """Share of the 26-week improvement reached after ``weeks`` (exponential approach)."""
    return (1 - np.exp(-weeks / time_constant)) / (1 - np.exp(-26 / time_constant))


class _Draw:
    """Named draws from one seeded generator, in a fixed order, so a seed gives one cohort."""

    def __init__(self, rows: int, seed: int) -> None:
        self.n = rows
        self.rng = np.random.default_rng(seed)

    def categorical(self, probabilities: Mapping[str, float]) -> np.ndarray:
        codes = list(probabilities)
        p = np.array([probabilities[c] for c in codes], dtype=float)
        return np.array(codes, dtype=object)[self.rng.choice(len(codes), size=self.n, p=p / p.sum())]

    def normal(self, sd: float = 1.0) -> np.ndarray:
        return self.rng.normal(0.0, sd, self.n)

    def bernoulli(self, probability: np.ndarray) -> np.ndarray:
        return self.rng.random(self.n) < probability

    def ordinal(self, latent: np.ndarray, cutpoints: Sequence[float], codes: Sequence[str]) -> np.ndarray:
        """Ordered logistic answer: the latent value plus logistic noise, cut at ``cutpoints``."""
        level = np.searchsorted(np.asarray(cutpoints, dtype=float), latent + self.rng.logistic(size=self.n))
        return np.array(codes, dtype=object)[level]


def _scale(draw: _Draw, level: np.ndarray, sd: float, bounds: Tuple[int, int]) -> np.ndarray:
    """A 0-10 or 0-24 answer: the true level plus measurement noise, rounded and kept in range."""
    return np.clip(np.round(level + draw.normal(sd)), *bounds).astype(float)


def generate(rows: int, seed: int, params: Optional[CohortParameters] = None) -> Cohort:
    """``rows`` simulated patients in the cohort schema; the same seed gives the same cohort."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    p = params or default_parameters()
    draw = _Draw(rows, seed)
    columns: Dict[str, np.ndarray] = {
        "age_band": draw.categorical(p["age_band"]),
        "sex": draw.categorical(p["sex"]),
        "pain_site": draw.categorical(p["pain_site"]),
        "episode_duration": draw.categorical(p["episode_duration"]),
        "previous_episodes": draw.categorical(p["previous_episodes"]),
    }
    age_index = np.array([AGE_BANDS.index(a) for a in columns["age_band"]], dtype=float)
    acute = np.isin(columns["episode_duration"], ACUTE)
    neck_only = columns["pain_site"] == "neck"
    neck_any = np.isin(columns["pain_site"], ("neck", "both"))

    rho = p["latent_correlation"]
    physical = draw.normal()
    distress = rho * physical + np.sqrt(1 - rho**2) * draw.normal()

    items = p["sbt_items"]
    for item in SBT_ITEMS[:8]:
        trait, slope = (physical, items["physical_slope"]) if item in SBT_ITEMS[:4] else (distress, items["distress_slope"])
        logit = items["intercepts"][item] + slope * trait
        if item == "sbt_1":
            logit = logit + p["neck_only_leg_pain_shift"] * neck_only
        if item == "sbt_2":
            logit = logit + p["neck_shoulder_pain_shift"] * neck_any
        columns[item] = np.where(draw.bernoulli(_sigmoid(logit)), "agree", "disagree").astype(object)
    bother = p["sbt_9"]
    columns["sbt_9"] = draw.ordinal(bother["distress"] * distress + bother["physical"] * physical,
                                    bother["cutpoints"], BOTHER_CODES)
    total, subscale, group = start_back_scores(columns)
    columns.update(sbt_total=total.astype(float), sbt_subscale=subscale.astype(float), risk_group=group)

    levels = {}
    for name, bounds in (("pain", PAIN_RANGE), ("function", FUNCTION_RANGE)):
        q = p[f"{name}_now"]
        level = q["mean"] + q["physical"] * physical + q["distress"] * distress + draw.normal(q["trait_sd"])
        levels[name] = np.clip(level, *bounds)
        columns[f"{name}_now"] = _scale(draw, levels[name], q["measurement_sd"], bounds)

    expect = p["recovery_expectation"]
    columns["recovery_expectation"] = draw.ordinal(
        expect["distress"] * distress + expect["persistent"] * ~acute, expect["cutpoints"], RECOVERY_EXPECTATIONS)

    r = p["recovery"]
    logit_recovery = (
        r["intercept"]
        + np.array([r["duration"][d] for d in columns["episode_duration"]])
        + r["distress"] * distress
        + np.array([r["expectation"][e] for e in columns["recovery_expectation"]])
        + np.array([r["previous_episodes"][e] for e in columns["previous_episodes"]])
        + r["per_age_band"] * age_index
        + r["female"] * (columns["sex"] == "female")
        + np.array([r["site"][s] for s in columns["pain_site"]])
        + draw.normal(r["heterogeneity_sd"])
    )
    recovery = {"function": _sigmoid(logit_recovery), "pain": _sigmoid(logit_recovery + r["pain_shift"])}
    course = {}
    for time in TIME_POINTS:
        reached = _recovery_curve(time.weeks, p["recovery_time_constant_weeks"])
        for name, bounds in (("pain", PAIN_RANGE), ("function", FUNCTION_RANGE)):
            course[name, time.key] = levels[name] * (1 - recovery[name] * reached)
            columns[outcome_column(name, time)] = _scale(draw, course[name, time.key],
                                                         p["follow_up_measurement_sd"][name], bounds)

    _add_work(columns, draw, p, acute, distress, levels["function"], course)
    response = p["follow_up_response"]
    for time in TIME_POINTS:
        lost = ~draw.bernoulli(np.full(rows, response[time.key]))
        for name in ("pain", "function", "off_work"):
            columns[outcome_column(name, time)][lost] = np.nan
    columns["synthetic"] = np.ones(rows)
    return check(Cohort(columns, np.arange(2, rows + 2), f"synthetic cohort (seed {seed}, {rows} rows)"))


def _add_work(columns: Dict[str, np.ndarray], draw: _Draw, p: CohortParameters, acute: np.ndarray,
              distress: np.ndarray, function_level: np.ndarray,
              course: Mapping[Tuple[str, str], np.ndarray]) -> None:
    """Work status now, days off, work expectation and absence at each follow-up (paid work only)."""
    reference = p["function_reference"]

    def standardised(function: np.ndarray) -> np.ndarray:
        return (function - reference["mean"]) / reference["sd"]

    paid = draw.bernoulli(np.array([p["paid_work_by_age_band"][a] for a in columns["age_band"]]))
    now = p["off_work_now"]
    off = paid & draw.bernoulli(_sigmoid(now["intercept"] + now["acute"] * acute
                                         + now["function"] * standardised(function_level)))
    columns["work_status"] = np.where(off, "off_work", np.where(paid, "working", "not_in_paid_work")).astype(object)

    days = p["days_off"]
    median = np.where(acute, days["median_if_off_acute"], days["median_if_off_persistent"])
    days_if_off = np.clip(np.round(median * np.exp(draw.normal(days["log_sd_if_off"]))), 1, DAYS_OFF_RANGE[1])
    some_days = draw.bernoulli(np.full(draw.n, days["share_with_days_if_working"]))
    days_if_working = np.clip(1 + draw.rng.poisson(days["extra_days_if_working"], draw.n), 1, DAYS_OFF_RANGE[1])
    columns["days_off"] = np.where(off, days_if_off, np.where(paid & some_days, days_if_working,
                                                              np.where(paid, 0.0, np.nan)))

    expect = p["work_expectation"]
    latent = expect["distress"] * distress + expect["off_work"] * off + expect["function"] * standardised(function_level)
    columns["work_expectation"] = np.where(paid, draw.ordinal(latent, expect["cutpoints"], WORK_EXPECTATIONS), "")

    follow = p["off_work_follow_up"]
    personal = draw.normal(follow["heterogeneity_sd"])
    expectation_shift = np.array([follow["expectation"].get(e, 0.0) for e in columns["work_expectation"]])
    for time in TIME_POINTS:
        logit = (follow["intercept"][time.key] + follow["off_now"] * off
                 + follow["days_off"] * np.nan_to_num(columns["days_off"]) / DAYS_OFF_RANGE[1]
                 + follow["function"] * standardised(course["function", time.key]) + expectation_shift + personal)
        columns[outcome_column("off_work", time)] = np.where(paid, draw.bernoulli(_sigmoid(logit)).astype(float), np.nan)


def summarise(cohort: Cohort) -> Dict[str, Any]:
    """The statistics the ``targets`` of the parameter file speak about, computed on ``cohort``."""
    c = cohort.columns
    group = c["risk_group"]
    f0, f6w, f6m = c["function_now"], c["function_6w"], c["function_6m"]
    paid = c["work_status"] != "not_in_paid_work"
    acute_paid = paid & np.isin(c["episode_duration"], ACUTE)
    both = ~np.isnan(f6w) & ~np.isnan(f6m)

    def by_group(values: np.ndarray) -> Dict[str, float]:
        return {g: float(np.nanmean(values[group == g])) for g in RISK_GROUPS}

    return {
        "risk_group_split": {g: float(np.mean(group == g)) for g in RISK_GROUPS},
        "sbt_scores": {"total_mean": float(c["sbt_total"].mean()), "subscale_mean": float(c["sbt_subscale"].mean())},
        "baseline_function": {"mean": float(f0.mean()), "sd": float(f0.std())},
        "baseline_pain": {"mean": float(c["pain_now"].mean()), "sd": float(c["pain_now"].std())},
        "function_change_6m_by_group": by_group(f0 - f6m),
        "pain_change_6m_by_group": by_group(c["pain_now"] - c["pain_6m"]),
        "persistent_disability_6m_by_group": by_group(np.where(np.isnan(f6m), np.nan, f6m >= 7)),
        "improved_30_percent_6w_by_group": by_group(
            np.where(np.isnan(f6w) | (f0 == 0), np.nan, (f0 - f6w) >= 0.3 * f0)),
        "share_of_6m_improvement_by_6w": float((f0[both] - f6w[both]).mean() / (f0[both] - f6m[both]).mean()),
        "paid_work": float(paid.mean()),
        "off_work_acute": {
            "now": float(np.mean(c["work_status"][acute_paid] == "off_work")),
            **{t.key: float(np.nanmean(c[outcome_column("off_work", t)][acute_paid])) for t in TIME_POINTS},
        },
        "still_off_3m_if_off_now_recent_onset": float(np.nanmean(
            c["off_work_3m"][(c["work_status"] == "off_work") & (c["episode_duration"] == "under_1_month")])),
    }


def target_misses(summary: Mapping[str, Any], params: Optional[CohortParameters] = None) -> List[str]:
    """Each target the summary misses by more than its tolerance, as "name[key]: got x, published y ± t"."""
    p = params or default_parameters()
    misses = []
    for name, target in p.targets.items():
        got = summary[name]
        expected = target.value if isinstance(target.value, dict) else {"": target.value}
        actual = got if isinstance(got, dict) else {"": got}
        for key, value in expected.items():
            if abs(actual[key] - value) > target.tolerance:
                label = f"{name}[{key}]" if key else name
                misses.append(f"{label}: got {actual[key]:.3f}, published {value} ± {target.tolerance}")
    return misses
