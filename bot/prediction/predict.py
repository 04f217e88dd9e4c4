"""One patient's prediction from their triage answers, or a specific reason why there is none.

A prediction is only made from complete, possible answers: a missing answer, a code the schema does
not know or answers that contradict each other raise a ``PredictionUnavailable`` subclass naming the
items, and a red flag or a declined consent means the model does not apply at all. Nothing is ever
filled in, because a guessed input would give a confident-looking graph about someone else.

Answers are canonical slot values (DESIGN.md §3): option codes, integers, booleans. The STarT Back
total, subscale and group are computed here with bot.scoring.start_back, and a ``risk_group`` or
``risk_score`` slot that disagrees with them is reported, not overridden.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from bot.config import settings, variable
from bot.i18n.catalog import mark
from bot.prediction.features import feature_matrix
from bot.prediction.schema import (
    AGE_BANDS,
    DAYS_OFF_RANGE,
    DURATIONS,
    FUNCTION_RANGE,
    PAIN_RANGE,
    PAIN_SITES,
    PREVIOUS_EPISODES,
    RECOVERY_EXPECTATIONS,
    SEXES,
    TIME_POINTS,
    WORK_EXPECTATIONS,
    WORK_STATUSES,
    Cohort,
    validate,
)
from bot.prediction.train import COHORT_MODEL_DIR, SYNTHETIC_MODEL_DIR, ModelUnavailableError, OutcomeModel
from bot.scoring import start_back

MODEL_ENV = variable("prediction_model")  # BACKTALK_PREDICTION_MODEL: a model directory
# What the patient is told (msgids): the illustrative notice and why there is no prediction.
ILLUSTRATIVE_NOTICE_MSGID = mark("prediction.illustrative")
UNAVAILABLE_MSGIDS = {
    "missing": mark("prediction.unavailable.missing"),
    "invalid": mark("prediction.unavailable.invalid"),
    "inconsistent": mark("prediction.unavailable.inconsistent"),
    "not_applicable": mark("prediction.unavailable.not_applicable"),
    "no_model": mark("prediction.unavailable.no_model"),
}

# BackTalk's six function statements (yes = limited today); score = 4 x yes, 0-24 (decision 0004).
FUNCTION_ITEMS = tuple(f"fn_{n}" for n in range(1, 7))
FUNCTION_POINTS_PER_ITEM = FUNCTION_RANGE[1] // len(FUNCTION_ITEMS)
CHOICES: Dict[str, Sequence[str]] = {
    "age_band": AGE_BANDS, "sex": SEXES, "pain_site": PAIN_SITES, "episode_duration": DURATIONS,
    "previous_episodes": PREVIOUS_EPISODES, "recovery_expectation": RECOVERY_EXPECTATIONS,
    "work_status": WORK_STATUSES,
}
PAID_WORK_ITEMS: Dict[str, Any] = {"days_off": DAYS_OFF_RANGE, "work_expectation": WORK_EXPECTATIONS}
# The items the conversation has to add to the triage for a prediction (ids are slot names).
EXTRA_ITEMS = ("age_band", "sex", "episode_duration", "previous_episodes", *FUNCTION_ITEMS,
               "recovery_expectation", "work_status", "days_off", "work_expectation")


class PredictionUnavailable(ValueError):
    """No prediction, for a reason the patient can be told: ``reason`` picks the message
    (``msgid``), ``items`` names the questionnaire items concerned."""

    reason = "unavailable"

    def __init__(self, detail: str, items: Sequence[str] = ()) -> None:
        self.items = tuple(items)
        self.detail = detail
        super().__init__(f"{self.reason}: {detail}")

    @property
    def msgid(self) -> str:
        return UNAVAILABLE_MSGIDS[self.reason]


class MissingAnswers(PredictionUnavailable):
    reason = "missing"


class InvalidAnswers(PredictionUnavailable):
    reason = "invalid"


class InconsistentAnswers(PredictionUnavailable):
    reason = "inconsistent"


class NotApplicable(PredictionUnavailable):
    """The model does not apply: a red flag, no consent, or a risk tool other than STarT Back."""

    reason = "not_applicable"


class ModelUnavailable(PredictionUnavailable):
    reason = "no_model"


@dataclass(frozen=True)
class Interval:
    """An 80 % interval and its median on the outcome's own scale (pain 0-10, function 0-24)."""

    low: float
    median: float
    high: float


@dataclass(frozen=True)
class Prediction:
    """What the model expects for one patient at 6, 13 and 26 weeks, beside their risk group's
    typical course ([now, 6 weeks, 3 months, 6 months]; None where the data had nobody)."""

    weeks: Tuple[int, ...]
    pain: Tuple[Interval, ...]
    function: Tuple[Interval, ...]
    off_work: Optional[Tuple[float, ...]]  # probability at each time; None when not in paid work
    pain_now: int
    function_now: int
    off_work_now: Optional[bool]
    risk_group: str
    typical: Mapping[str, Tuple[Optional[float], ...]]
    illustrative: bool  # True while the model comes from synthetic data: say so with every prediction
    model_id: str

    @property
    def notice_msgid(self) -> Optional[str]:
        """The message that must accompany this prediction, if any."""
        return ILLUSTRATIVE_NOTICE_MSGID if self.illustrative else None


def model_directory() -> Path:
    """The model the bot uses: ``BACKTALK_PREDICTION_MODEL`` if set, else a clinic's cohort model
    if one was trained, else the synthetic default."""
    configured = settings(require_secrets=False).prediction_model
    if configured:
        return configured
    return COHORT_MODEL_DIR if (COHORT_MODEL_DIR / "manifest.json").exists() else SYNTHETIC_MODEL_DIR


@lru_cache(maxsize=2)
def _load(directory: str, stamp: Optional[int]) -> OutcomeModel:
    return OutcomeModel.load(Path(directory))


def default_model() -> OutcomeModel:
    """The current model, loaded once and again only when its manifest changes (retraining)."""
    directory = model_directory()
    manifest = directory / "manifest.json"
    try:
        return _load(str(directory), manifest.stat().st_mtime_ns if manifest.exists() else None)
    except ModelUnavailableError as error:
        raise ModelUnavailable(str(error)) from error


def function_score(answers: Mapping[str, Any]) -> int:
    """BackTalk's function score: 4 points per statement answered yes (0-24)."""
    missing = [item for item in FUNCTION_ITEMS if answers.get(item) is None]
    if missing:
        raise MissingAnswers(f"unanswered: {', '.join(missing)}", missing)
    invalid = [item for item in FUNCTION_ITEMS if not isinstance(answers[item], bool)]
    if invalid:
        raise InvalidAnswers(f"not yes/no: {', '.join(invalid)}", invalid)
    return FUNCTION_POINTS_PER_ITEM * sum(bool(answers[item]) for item in FUNCTION_ITEMS)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_applicable(answers: Mapping[str, Any]) -> None:
    if answers.get("consent") is not True:
        raise NotApplicable("there is no consent to this triage", ["consent"])
    flags = sorted(k for k, v in answers.items() if k.startswith("rf_") and v is True)
    if flags:
        raise NotApplicable(f"a red flag was reported ({', '.join(flags)}): urgent advice, not a prognosis", flags)
    tool = answers.get("risk_tool")
    if tool not in (None, "start_back"):
        raise NotApplicable(f"the model uses STarT Back answers; this triage used {tool}", ["risk_tool"])


def _check_values(answers: Mapping[str, Any], paid: bool) -> None:
    required: List[str] = [*CHOICES, "pain_now", *start_back.ITEMS, *FUNCTION_ITEMS]
    if paid:
        required += list(PAID_WORK_ITEMS)
    missing = [item for item in required if answers.get(item) is None]
    if missing:
        raise MissingAnswers(f"unanswered: {', '.join(missing)}", missing)
    invalid = [item for item, codes in CHOICES.items() if answers[item] not in codes]
    if not (_is_int(answers["pain_now"]) and PAIN_RANGE[0] <= answers["pain_now"] <= PAIN_RANGE[1]):
        invalid.append("pain_now")
    for item in start_back.ITEMS:
        try:
            start_back.item_score(item, answers[item])
        except start_back.IncompleteAnswers:
            invalid.append(item)
    if paid:
        days = answers["days_off"]
        if not (_is_int(days) and DAYS_OFF_RANGE[0] <= days <= DAYS_OFF_RANGE[1]):
            invalid.append("days_off")
        if answers["work_expectation"] not in WORK_EXPECTATIONS:
            invalid.append("work_expectation")
    if invalid:
        raise InvalidAnswers(f"not a permitted answer: {', '.join(invalid)}", invalid)


def patient_columns(answers: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """The patient as a one-row cohort in the CSV schema, after every check."""
    _check_applicable(answers)
    paid = answers.get("work_status") in ("working", "off_work")
    _check_values(answers, paid)
    fn_score = function_score(answers)
    sbt = start_back.score(answers)
    stated = {"risk_group": sbt.group, "risk_score": sbt.total}
    contradicted = [slot for slot, value in stated.items() if answers.get(slot) not in (None, value)]
    if contradicted:
        raise InconsistentAnswers(f"{', '.join(contradicted)} do not follow from the STarT Back answers",
                                  [*contradicted, *start_back.ITEMS])
    if answers["work_status"] == "off_work" and answers["days_off"] == 0:
        raise InconsistentAnswers("off work because of the pain, but no day off in the last 4 weeks",
                                  ["work_status", "days_off"])
    # Work items do not apply outside paid work and are ignored (a patient may have gone back and
    # changed their work status, leaving stale answers in the slots).
    values: Dict[str, Any] = {
        **{item: answers[item] for item in (*CHOICES, *start_back.ITEMS)},
        "pain_now": float(answers["pain_now"]), "function_now": float(fn_score),
        "sbt_total": float(sbt.total), "sbt_subscale": float(sbt.subscale), "risk_group": sbt.group,
        "days_off": float(answers["days_off"]) if paid else np.nan,
        "work_expectation": answers["work_expectation"] if paid else "",
    }
    columns = {name: np.array([value], dtype=float if isinstance(value, float) else object)
               for name, value in values.items()}
    problems = validate(Cohort(columns, np.array([1]), "answers"))
    if problems:  # defence in depth: the schema's own rules, which the checks above should cover
        raise InconsistentAnswers("; ".join(str(p) for p in problems), [p.column for p in problems if p.column])
    return columns


def predict(answers: Mapping[str, Any], model: Optional[OutcomeModel] = None) -> Prediction:
    """The patient's prediction; raises a PredictionUnavailable subclass instead of guessing."""
    columns = patient_columns(answers)
    model = model or default_model()
    X = feature_matrix(columns)

    def intervals(outcome: str, bounds: Tuple[int, int]) -> Tuple[Interval, ...]:
        result = []
        for time in TIME_POINTS:
            low, median, high = np.clip(model.regressors[outcome, time.key].predict(X)[0], *bounds)
            result.append(Interval(float(low), float(median), float(high)))
        return tuple(result)

    paid = columns["work_status"][0] != "not_in_paid_work"
    off_work = tuple(float(model.classifiers[t.key].predict_proba(X)[0]) for t in TIME_POINTS) if paid else None
    group = str(columns["risk_group"][0])
    return Prediction(
        weeks=tuple(t.weeks for t in TIME_POINTS),
        pain=intervals("pain", PAIN_RANGE),
        function=intervals("function", FUNCTION_RANGE),
        off_work=off_work,
        pain_now=int(columns["pain_now"][0]),
        function_now=int(columns["function_now"][0]),
        off_work_now=bool(columns["work_status"][0] == "off_work") if paid else None,
        risk_group=group,
        typical={name: tuple(values) for name, values in model.typical[group].items()},
        illustrative=model.illustrative,
        model_id=model.model_id,
    )
