"""The learning loop: the outcomes patients report at their check-ins become training rows, and a
model trained on them replaces the live one only when it is not worse on the same held-out patients.

``backtalk predictor train --from-database`` (docs/prediction.md, "Learning from the check-ins"):

1. **Rows.** One row per finished triage with its baseline answers (the outlook's questions, checked
   exactly as a live prediction checks them, so a triage that could not have had an outlook is left
   out and counted by reason) and the check-in answers nearest to 6, 13 and 26 weeks after it: pain
   0-10, the function score, and off work (for patients in paid work at the triage). An answer counts
   for a time point only when given within a quarter of that time of it (6 weeks: 31-53 days after
   the triage), so an answer weeks late does not pose as an earlier outcome.
2. **Minimum data.** The split is the one training uses (a seeded fifth, by risk group). Every
   outcome needs at least 100 patients in the training part (and 20 with and 20 without the event
   for work), and 25 in the held-out part (5 with and 5 without the event): below that the command
   refuses, naming every outcome short and by how much, and writes nothing.
3. **Evaluation and calibration** on the held-out fifth (bot.prediction.train.evaluate): coverage of
   the 80 % intervals and their tails, observed against predicted by decile, calibration slope and
   intercept and Brier score for work.
4. **Switch-in.** The live model (the one the bot uses now) is scored on the same held-out patients
   with proper scores: the pinball loss of the three quantiles for pain and function, the Brier
   score for work. The new model goes live only when no outcome scores worse than the live model's
   by more than 2 %; otherwise the live model stays and the new one is written beside it as a
   candidate whose card says why it was not switched in.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.followup.conversation import parse_code
from bot.prediction.estimator import MIN_EVENTS, MIN_ROWS, QUANTILES, BoosterSettings, TrainingDataError
from bot.prediction.features import feature_matrix
from bot.prediction.metrics import brier, pinball_loss
from bot.prediction.predict import (
    FUNCTION_ITEMS,
    PredictionUnavailable,
    function_score,
    model_directory,
    patient_columns,
)
from bot.prediction.schema import (
    COLUMNS,
    SCALE_OUTCOMES,
    TIME_POINTS,
    WORK_OUTCOME,
    Cohort,
    check,
    outcome_column,
)
from bot.prediction.train import (
    COHORT_MODEL_DIR,
    DEFAULT_SEED,
    DataSource,
    ModelUnavailableError,
    OutcomeModel,
    split,
    train,
)
from bot.questionnaires.flow import TriageFlow
from bot.store.db import session_scope
from bot.store.models import Answer, Clinic, FollowUp, FollowUpAnswer, FollowUpSeries, TriageSession, as_utc

WINDOW = 0.25  # an answer counts for a time point within this share of the time point's days
MIN_HELDOUT = 25
MIN_HELDOUT_EVENTS = 5
TOLERANCE = 0.02  # a new model may score up to 2 % worse on an outcome and still be "not worse"
SYNTHETIC_PREFIX = "demo-"  # pseudonyms of `backtalk demo-data` triages (bot/followup/demo.py)
SWITCH_RULE = (f"switch in only if, on every outcome, the new model's score (pinball loss of the 10/50/90 % "
               f"quantiles for pain and function, Brier score for work; lower is better) is at most "
               f"{TOLERANCE:.0%} above the live model's on the same held-out patients")


class NotEnoughData(TrainingDataError):
    """Too few followed-up patients for some outcome; the message names each one."""


@dataclass
class DatabaseCohort:
    """The training rows found in the database and what was left out, by reason."""

    cohort: Optional[Cohort]
    triages: int
    excluded: Dict[str, int] = field(default_factory=dict)


def _answers(db: Session, model: Any, key: Any, ids: List[int]) -> Dict[int, Dict[str, str]]:
    found: Dict[int, Dict[str, str]] = {}
    for chunk in range(0, len(ids), 500):
        for owner, item_id, code in db.execute(
                select(key, model.item_id, model.code).where(key.in_(ids[chunk:chunk + 500]))):
            found.setdefault(owner, {})[item_id] = code
    return found


def _canonical(flow: TriageFlow, codes: Mapping[str, str]) -> Dict[str, Any]:
    return {k: parse_code(flow.item(k), v) for k, v in codes.items() if flow.is_item(k)}


def outcomes_near_time_points(flow: TriageFlow, answered: List[Tuple[float, Dict[str, str]]],
                              paid: bool) -> Dict[str, float]:
    """The outcome columns from the check-ins nearest each time point (``answered``: days after the
    triage, answer codes); NaN where none is near enough."""
    values = {outcome_column(name, t): np.nan for t in TIME_POINTS for name in (*SCALE_OUTCOMES, WORK_OUTCOME)}
    for time in TIME_POINTS:
        target = time.weeks * 7
        near = [(abs(days - target), codes) for days, codes in answered if abs(days - target) <= WINDOW * target]
        if not near:
            continue
        codes = _canonical(flow, min(near, key=lambda pair: pair[0])[1])
        if isinstance(codes.get("pain_now"), int):
            values[outcome_column("pain", time)] = float(codes["pain_now"])
        if all(isinstance(codes.get(item), bool) for item in FUNCTION_ITEMS):
            values[outcome_column("function", time)] = float(function_score(codes))
        if paid and codes.get("work_status") in ("working", "off_work"):
            values[outcome_column(WORK_OUTCOME, time)] = float(codes["work_status"] == "off_work")
    return values


def cohort_from_database(db: Session, clinic_id: Optional[int] = None) -> DatabaseCohort:
    """Every finished STarT Back triage with at least one check-in answered near 6, 13 or 26 weeks,
    as a cohort in the CSV schema (bot.prediction.schema), checked by the same rules as a file."""
    query = (select(TriageSession).where(TriageSession.status == "complete", TriageSession.completed_at.isnot(None))
             .order_by(TriageSession.id))
    if clinic_id is not None:
        query = query.where(TriageSession.clinic_id == clinic_id)
    triages = list(db.execute(query).scalars())
    checkins: Dict[int, List[Tuple[int, datetime]]] = {}
    for session_id, followup_id, answered_at in db.execute(
            select(FollowUpSeries.session_id, FollowUp.id, FollowUp.answered_at)
            .join(FollowUp, FollowUp.series_id == FollowUpSeries.id)
            .where(FollowUp.status == "answered", FollowUp.answered_at.isnot(None))):
        checkins.setdefault(session_id, []).append((followup_id, answered_at))
    baseline = _answers(db, Answer, Answer.session_id, [t.id for t in triages if t.id in checkins])
    later = _answers(db, FollowUpAnswer, FollowUpAnswer.followup_id,
                     [f for t in triages for f, _ in checkins.get(t.id, [])])
    flow = TriageFlow()
    excluded: Dict[str, int] = {}
    rows: List[Dict[str, Any]] = []
    ids: List[str] = []
    for triage in triages:
        if triage.id not in checkins:
            excluded["no answered check-in"] = excluded.get("no answered check-in", 0) + 1
            continue
        try:
            columns = patient_columns(_canonical(flow, baseline.get(triage.id, {})))
        except PredictionUnavailable as error:
            reason = f"baseline not usable for an outlook ({error.reason})"
            excluded[reason] = excluded.get(reason, 0) + 1
            continue
        start = as_utc(triage.completed_at)
        answered = [((as_utc(at) - start).total_seconds() / 86400, later.get(fid, {}))
                    for fid, at in checkins[triage.id]]
        paid = columns["work_status"][0] in ("working", "off_work")
        outcomes = outcomes_near_time_points(flow, answered, paid)
        if all(np.isnan(v) for v in outcomes.values()):
            excluded["no check-in near 6, 13 or 26 weeks"] = excluded.get("no check-in near 6, 13 or 26 weeks", 0) + 1
            continue
        rows.append({**{k: v[0] for k, v in columns.items()}, **outcomes,
                     "synthetic": float(triage.pseudonym.startswith(SYNTHETIC_PREFIX))})
        ids.append(f"triage {triage.id}")
    if not rows:
        return DatabaseCohort(None, len(triages), excluded)
    names = [c.name for c in COLUMNS if c.name not in ("record_id",)]
    kinds = {c.name: c.kind for c in COLUMNS}
    data = {name: np.array([row[name] for row in rows], dtype=float if kinds[name] == "integer" else object)
            for name in names}
    cohort = check(Cohort(data, np.arange(1, len(rows) + 1), "database", np.array(ids, dtype=object)))
    return DatabaseCohort(cohort, len(triages), excluded)


def shortfalls(training: Cohort, held_out: Cohort) -> List[str]:
    """Every outcome with too few patients (or events) in either part, in words."""
    problems: List[str] = []
    for time in TIME_POINTS:
        for outcome in (*SCALE_OUTCOMES, WORK_OUTCOME):
            column = outcome_column(outcome, time)
            for part, y, least, least_events in (("training part", training.columns[column], MIN_ROWS, MIN_EVENTS),
                                                  ("held-out part", held_out.columns[column], MIN_HELDOUT,
                                                   MIN_HELDOUT_EVENTS)):
                y = y[~np.isnan(y)]
                if outcome != WORK_OUTCOME:
                    if len(y) < least:
                        problems.append(f"{column}: {len(y)} patients in the {part}, at least {least} needed")
                    continue
                events, others = int(y.sum()), int(len(y) - y.sum())
                if min(events, others) < least_events:
                    problems.append(f"{column}: {events} off work and {others} at work in the {part}, "
                                    f"at least {least_events} of each needed")
    return problems


def scores(model: OutcomeModel, held_out: Cohort) -> Dict[str, float]:
    """The proper score per outcome on ``held_out`` (lower is better): pinball loss for pain and
    function, Brier score for work."""
    X = feature_matrix(held_out.columns)
    found: Dict[str, float] = {}
    for time in TIME_POINTS:
        for outcome in SCALE_OUTCOMES:
            y = held_out.columns[outcome_column(outcome, time)]
            rows = ~np.isnan(y)
            found[outcome_column(outcome, time)] = pinball_loss(
                y[rows], model.regressors[outcome, time.key].predict(X[rows]), QUANTILES)
        y = held_out.columns[outcome_column(WORK_OUTCOME, time)]
        rows = ~np.isnan(y)
        found[outcome_column(WORK_OUTCOME, time)] = brier(y[rows], model.classifiers[time.key].predict_proba(X[rows]))
    return found


@dataclass(frozen=True)
class Decision:
    switch: bool
    reasons: Tuple[str, ...]
    current: Optional[str]  # the live model's id, None when there was none
    scores: Dict[str, Dict[str, Any]]


def decide(new: OutcomeModel, current: Optional[OutcomeModel], held_out: Cohort) -> Decision:
    """Whether ``new`` may replace ``current``: not worse by more than TOLERANCE on any outcome."""
    new_scores = scores(new, held_out)
    kind = {name: ("Brier" if name.startswith(WORK_OUTCOME) else "pinball loss") for name in new_scores}
    if current is None:
        return Decision(True, ("there is no usable live model to compare with",), None,
                        {n: {"score": kind[n], "new": v, "current": None} for n, v in new_scores.items()})
    old_scores = scores(current, held_out)
    table = {n: {"score": kind[n], "new": v, "current": old_scores[n]} for n, v in new_scores.items()}
    worse = [f"{n}: {kind[n]} {v:.4f} against {old_scores[n]:.4f} for the live model"
             for n, v in new_scores.items() if v > old_scores[n] * (1 + TOLERANCE) + 1e-12]
    if worse:
        return Decision(False, ("the new model is worse on the held-out patients for " + "; ".join(worse),),
                        current.model_id, table)
    better = sum(v < old_scores[n] for n, v in new_scores.items())
    return Decision(True, (f"not worse than the live model on any outcome (better on {better} of {len(new_scores)})",),
                    current.model_id, table)


@dataclass(frozen=True)
class Learned:
    model: OutcomeModel
    decision: Decision
    written: Path  # the live directory when switched, else the candidate directory
    rows: int


def candidate_directory(live: Path) -> Path:
    return live.with_name(f"{live.name}-candidate")


def _fingerprint(cohort: Cohort) -> str:
    digest = hashlib.sha256()
    for name in sorted(cohort.columns):
        digest.update(name.encode())
        digest.update(np.asarray(cohort.columns[name]).astype(str).tobytes())
    return digest.hexdigest()


def learn(database_url: str, *, live: Path = COHORT_MODEL_DIR, current: Optional[Path] = None,
          clinic_code: Optional[str] = None, seed: int = DEFAULT_SEED,
          settings: BoosterSettings = BoosterSettings()) -> Learned:
    """Train on the database's follow-up outcomes and switch the model in at ``live`` if it is not
    worse than the live model (``current``; default the model at ``live``, else the one the bot
    uses now, bot.prediction.predict.model_directory).
    Raises NotEnoughData (nothing written) below the minimum, LookupError for an unknown clinic."""
    with session_scope(database_url) as db:
        clinic_id = None
        if clinic_code is not None:
            clinic_id = db.execute(select(Clinic.id).where(Clinic.code == clinic_code)).scalar_one_or_none()
            if clinic_id is None:
                raise LookupError(f"no clinic with code {clinic_code!r}")
        found = cohort_from_database(db, clinic_id)
    left_out = "; ".join(f"{reason}: {count}" for reason, count in sorted(found.excluded.items()))
    if found.cohort is None:
        raise NotEnoughData(f"no triage in the database has a usable baseline and a check-in answered near 6, 13 "
                            f"or 26 weeks ({found.triages} triages; left out: {left_out or 'none'})")
    training, held_out = split(found.cohort, seed)
    problems = shortfalls(training, held_out)
    if problems:
        raise NotEnoughData(f"not enough follow-up data to train ({len(found.cohort)} usable patients of "
                            f"{found.triages} triages):\n  " + "\n  ".join(problems))
    source = DataSource(
        kind="database",
        description=("follow-up outcomes in BackTalk's database" + (f", clinic {clinic_code}" if clinic_code else "")
                     + (" (contains demo-data rows: synthetic)" if found.cohort.synthetic else "")),
        synthetic=found.cohort.synthetic,
        sha256=_fingerprint(found.cohort),
        details={"clinic": clinic_code or "all", "triages_considered": found.triages,
                 "usable_patients": len(found.cohort), "left_out": left_out or "none",
                 "answer_window": f"within {WINDOW:.0%} of each time point"},
    )
    model = train(found.cohort, source, seed, settings)
    if current is not None:
        current_dir = Path(current)
    else:  # the model at ``live`` if there is one, else the one the bot uses now (e.g. the synthetic default)
        current_dir = Path(live) if (Path(live) / "manifest.json").exists() else model_directory()
    try:
        live_model: Optional[OutcomeModel] = OutcomeModel.load(current_dir)
    except ModelUnavailableError:
        live_model = None
    decision = decide(model, live_model, held_out)
    model.card["comparison"] = {
        "decision": "switched in" if decision.switch else "not switched in: the live model stays",
        "reasons": list(decision.reasons), "current": decision.current, "current_directory": str(current_dir),
        "rule": SWITCH_RULE, "scores": decision.scores,
    }
    written = model.save(Path(live) if decision.switch else candidate_directory(Path(live)))
    return Learned(model, decision, written, len(found.cohort))
