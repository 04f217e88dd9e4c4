"""Training: a cohort in, a saved model with its model card out.

The same function trains on the synthetic cohort (set-up) and on a clinic's CSV, so a real cohort
needs no code change. A seeded fifth of the patients is held out; the model is trained on the rest
and the card reports its metrics on the held-out fifth, so the numbers describe exactly the model
that is shipped. Models are saved as a directory (manifest.json with the card, one gzipped UBJSON
booster per outcome and time, model_card.md) and swapped in whole, so a crash never leaves half a model.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import xgboost as xgb

from bot.paths import PREDICTION_MODELS_DIR
from bot.prediction import card as model_card
from bot.prediction.cohort import GENERATOR_VERSION, default_parameters, generate
from bot.prediction.estimator import (
    QUANTILES,
    BoosterSettings,
    CalibratedClassifier,
    QuantileRegressor,
    TrainingDataError,
)
from bot.prediction.features import FEATURES, feature_matrix
from bot.prediction.metrics import (
    brier,
    c_statistic,
    calibration,
    interval_coverage,
    mae,
    pinball_loss,
    reliability_bins,
    tail_shares,
)
from bot.prediction.schema import (
    FUNCTION_RANGE,
    PAIN_RANGE,
    RISK_GROUPS,
    SCALE_OUTCOMES,
    TIME_POINTS,
    WORK_OUTCOME,
    Cohort,
    outcome_column,
    read_cohort_csv,
)

MODEL_FORMAT = 1
MODEL_NAME = "backtalk-outcomes"
SYNTHETIC_MODEL_DIR = PREDICTION_MODELS_DIR / "synthetic"
COHORT_MODEL_DIR = PREDICTION_MODELS_DIR / "cohort"
DEFAULT_ROWS = 10_000
DEFAULT_SEED = 2024
HOLDOUT_FRACTION = 0.2
BOUNDS = {"pain": PAIN_RANGE, "function": FUNCTION_RANGE}


class ModelUnavailableError(RuntimeError):
    """No usable model at the path: missing, from another format, or for other features."""


@dataclass(frozen=True)
class DataSource:
    """Where the training rows came from; ``synthetic`` decides whether predictions are illustrative."""

    kind: str  # "synthetic" or "cohort"
    description: str
    synthetic: bool
    sha256: str
    details: Dict[str, Any] = field(default_factory=dict)


@dataclass
class OutcomeModel:
    """Everything one prediction needs: the estimators, each risk group's typical course, the card."""

    regressors: Dict[Tuple[str, str], QuantileRegressor]
    classifiers: Dict[str, CalibratedClassifier]
    typical: Dict[str, Dict[str, List[Optional[float]]]]
    card: Dict[str, Any]

    @property
    def illustrative(self) -> bool:
        """True while the model comes from (or contains) synthetic data."""
        return bool(self.card["data"]["synthetic"])

    @property
    def model_id(self) -> str:
        """Names the model in audit records: the data fingerprint and the training time."""
        return f"{self.card['data']['kind']}:{self.card['data']['sha256'][:12]}:{self.card['model']['created']}"

    def save(self, directory: Path) -> Path:
        """Write the model to ``directory``, replacing what was there only once all is written."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the bot may run as another user than set-up
        estimators: Dict[str, Any] = {}
        for (outcome, time), regressor in self.regressors.items():
            estimators[f"{outcome}_{time}"] = _write(staging, f"{outcome}_{time}", "quantile", regressor.state())
        for time, classifier in self.classifiers.items():
            estimators[f"{WORK_OUTCOME}_{time}"] = _write(staging, f"{WORK_OUTCOME}_{time}", "classifier",
                                                          classifier.state())
        manifest = {"format": MODEL_FORMAT, "features": list(FEATURES), "estimators": estimators,
                    "typical": self.typical, "card": self.card}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        (staging / "model_card.md").write_text(model_card.render_markdown(self.card), encoding="utf-8")
        if directory.exists():
            retired = directory.with_name(f".{directory.name}-retired-{os.getpid()}")
            directory.rename(retired)
            staging.rename(directory)
            shutil.rmtree(retired)
        else:
            staging.rename(directory)
        return directory

    @classmethod
    def load(cls, directory: Path) -> "OutcomeModel":
        manifest_path = Path(directory) / "manifest.json"
        if not manifest_path.exists():
            raise ModelUnavailableError(f"no prediction model in {directory}; run `backtalk predictor train --synthetic`")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != MODEL_FORMAT or manifest.get("features") != list(FEATURES):
            raise ModelUnavailableError(f"the model in {directory} was trained for other features or another format; "
                                        "train it again")
        regressors, classifiers = {}, {}
        for name, entry in manifest["estimators"].items():
            raw = gzip.decompress((Path(directory) / entry["file"]).read_bytes())
            if entry["kind"] == "quantile":
                outcome, time = name.rsplit("_", 1)
                regressors[outcome, time] = QuantileRegressor.from_state(entry["meta"], raw)
            else:
                classifiers[name.rsplit("_", 1)[1]] = CalibratedClassifier.from_state(entry["meta"], raw)
        return cls(regressors, classifiers, manifest["typical"], manifest["card"])


def _write(directory: Path, name: str, kind: str, state: Tuple[Dict[str, Any], bytes]) -> Dict[str, Any]:
    meta, raw = state
    # mtime=0: the same model gives the same bytes (UBJSON trees shrink about six-fold)
    (directory / f"{name}.ubj.gz").write_bytes(gzip.compress(raw, compresslevel=6, mtime=0))
    return {"kind": kind, "file": f"{name}.ubj.gz", "meta": meta}


def _holdout(cohort: Cohort, seed: int) -> np.ndarray:
    """A seeded fifth of the patients in each risk group, never seen in training."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(cohort), dtype=bool)
    for group in RISK_GROUPS:
        rows = np.flatnonzero(cohort.columns["risk_group"] == group)
        mask[rng.permutation(rows)[: int(round(len(rows) * HOLDOUT_FRACTION))]] = True
    return mask


def _median_or_none(values: np.ndarray) -> Optional[float]:
    values = values[~np.isnan(values)]
    return float(np.median(values)) if len(values) else None


def _mean_or_none(values: np.ndarray) -> Optional[float]:
    values = values[~np.isnan(values)]
    return float(np.mean(values)) if len(values) else None


def typical_course(cohort: Cohort) -> Dict[str, Dict[str, List[Optional[float]]]]:
    """Per risk group: median pain and function now and at each follow-up, and the share off work
    among those in paid work; the graph draws it beside the patient's own prediction."""
    c = cohort.columns
    course: Dict[str, Dict[str, List[Optional[float]]]] = {}
    for group in RISK_GROUPS:
        rows = c["risk_group"] == group
        paid = rows & (c["work_status"] != "not_in_paid_work")
        course[group] = {
            name: [_median_or_none(c[f"{name}_now"][rows])]
            + [_median_or_none(c[outcome_column(name, t)][rows]) for t in TIME_POINTS]
            for name in SCALE_OUTCOMES
        }
        course[group][WORK_OUTCOME] = [_mean_or_none((c["work_status"][paid] == "off_work").astype(float))] + [
            _mean_or_none(c[outcome_column(WORK_OUTCOME, t)][paid]) for t in TIME_POINTS]
    return course


def _fit_all(X: np.ndarray, cohort: Cohort, settings: BoosterSettings, seed: int
             ) -> Tuple[Dict[Tuple[str, str], QuantileRegressor], Dict[str, CalibratedClassifier]]:
    regressors, classifiers = {}, {}
    for time in TIME_POINTS:
        for outcome in (*SCALE_OUTCOMES, WORK_OUTCOME):
            column = outcome_column(outcome, time)
            y = cohort.columns[column]
            rows = ~np.isnan(y)
            try:
                if outcome == WORK_OUTCOME:
                    classifiers[time.key] = CalibratedClassifier(settings, seed).fit(X[rows], y[rows])
                else:
                    regressors[outcome, time.key] = QuantileRegressor(BOUNDS[outcome], settings, seed).fit(X[rows], y[rows])
            except TrainingDataError as error:
                raise TrainingDataError(f"{column} (training part of {cohort.source}): {error}") from error
    return regressors, classifiers


def evaluate(model: OutcomeModel, cohort: Cohort) -> Dict[str, Dict[str, Any]]:
    """Held-out metrics: for pain and function the MAE of the median, 80 % interval coverage (and
    the shares below and above it), the pinball loss and observed against predicted median by
    decile; for work the C-statistic, calibration slope and intercept, Brier score and observed
    against predicted probability by decile (the reliability diagram's numbers)."""
    X = feature_matrix(cohort.columns)
    metrics: Dict[str, Dict[str, Any]] = {}
    for time in TIME_POINTS:
        for outcome in SCALE_OUTCOMES:
            y = cohort.columns[outcome_column(outcome, time)]
            rows = ~np.isnan(y)
            q = model.regressors[outcome, time.key].predict(X[rows])
            below, above = tail_shares(y[rows], q[:, 0], q[:, 2])
            metrics[outcome_column(outcome, time)] = {
                "n": int(rows.sum()), "mae": mae(y[rows], q[:, 1]),
                "coverage_80": interval_coverage(y[rows], q[:, 0], q[:, 2]),
                "below_10": below, "above_90": above,
                "interval_width": float(np.mean(q[:, 2] - q[:, 0])),
                "pinball_loss": pinball_loss(y[rows], q, QUANTILES),
                "calibration_bins": reliability_bins(y[rows], q[:, 1]),
            }
        y = cohort.columns[outcome_column(WORK_OUTCOME, time)]
        rows = ~np.isnan(y)
        p = model.classifiers[time.key].predict_proba(X[rows])
        intercept, slope = calibration(y[rows], p)
        metrics[outcome_column(WORK_OUTCOME, time)] = {
            "n": int(rows.sum()), "events": int(y[rows].sum()), "c_statistic": c_statistic(y[rows], p),
            "calibration_slope": slope, "calibration_intercept": intercept, "brier": brier(y[rows], p),
            "calibration_bins": reliability_bins(y[rows], p),
        }
    return metrics


def split(cohort: Cohort, seed: int) -> Tuple[Cohort, Cohort]:
    """The training part and the held-out fifth ``train`` uses for this seed."""
    holdout = _holdout(cohort, seed)
    return cohort.subset(np.flatnonzero(~holdout)), cohort.subset(np.flatnonzero(holdout))


def train(cohort: Cohort, source: DataSource, seed: int = DEFAULT_SEED,
          settings: BoosterSettings = BoosterSettings()) -> OutcomeModel:
    """Train on four fifths of ``cohort``, evaluate on the held-out fifth, and write the card."""
    training, held_out = split(cohort, seed)
    regressors, classifiers = _fit_all(feature_matrix(training.columns), training, settings, seed)
    data = {"kind": source.kind, "description": source.description, "synthetic": source.synthetic,
            "sha256": source.sha256, "rows": len(cohort), "training_rows": len(training),
            "holdout_rows": len(held_out), "details": source.details}
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    card = model_card.card_skeleton(MODEL_NAME, created, xgb.__version__, data)
    card["features"] = list(FEATURES)
    card["hyperparameters"] = {
        **asdict(settings), "seed": seed, "quantiles": list(QUANTILES), "holdout_fraction": HOLDOUT_FRACTION,
        "interval": "conformalized quantile regression on a quarter of the training rows; targets jittered +-0.5",
        "work": "binary:logistic, Platt-scaled on out-of-fold scores (4 stratified folds)",
    }
    model = OutcomeModel(regressors, classifiers, typical_course(training), card)
    card["metrics"] = evaluate(model, held_out)
    return model


def synthetic_source(rows: int, seed: int) -> DataSource:
    params = default_parameters()
    return DataSource(
        kind="synthetic",
        description="synthetic cohort from BackTalk's generator (bot/prediction/cohort.py)",
        synthetic=True,
        sha256=params.sha256,
        details={"parameters_file": "data/prediction/cohort_parameters.yml", "generator_version": GENERATOR_VERSION,
                 "generator_seed": seed, "generated_rows": rows},
    )


def synthetic_model_is_current(directory: Path, rows: int, seed: int) -> bool:
    """Whether ``directory`` already holds the model ``train_synthetic(rows, seed)`` would make:
    same parameters file, generator, rows, seed, features, format and XGBoost."""
    manifest_path = Path(directory) / "manifest.json"
    if not manifest_path.exists():
        return False
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    card = manifest.get("card", {})
    expected = synthetic_source(rows, seed)
    return (manifest.get("format") == MODEL_FORMAT and manifest.get("features") == list(FEATURES)
            and card.get("data", {}).get("sha256") == expected.sha256
            and card.get("data", {}).get("details") == expected.details
            and card.get("model", {}).get("xgboost") == xgb.__version__)


def train_synthetic(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> OutcomeModel:
    """The default model: generate ``rows`` patients with ``seed`` and train on them."""
    return train(generate(rows, seed), synthetic_source(rows, seed), seed)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def train_from_csv(path: Path, seed: int = DEFAULT_SEED) -> OutcomeModel:
    """Train on a clinic's cohort file; raises CohortError naming every bad line and column."""
    cohort = read_cohort_csv(path)
    synthetic = cohort.synthetic
    source = DataSource(
        kind="cohort",
        description=(f"cohort file {Path(path).name}" + (" (contains generated rows: synthetic)" if synthetic else "")),
        synthetic=synthetic,
        sha256=file_sha256(path),
        details={"cohort_file": Path(path).name},
    )
    return train(cohort, source, seed)


def metrics_table(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The held-out metrics as the plain-text table the CLI prints."""
    lines = [f"{'outcome':<14}{'n':>6}  {'MAE':>5}  {'80% cover':>9}  {'C':>5}  {'slope':>5}"]
    for name, m in metrics.items():
        if "coverage_80" in m:
            lines.append(f"{name:<14}{m['n']:>6}  {m['mae']:>5.2f}  {m['coverage_80']:>9.1%}  {'':>5}  {'':>5}")
        else:
            lines.append(f"{name:<14}{m['n']:>6}  {'':>5}  {'':>9}  {m['c_statistic']:>5.3f}  {m['calibration_slope']:>5.2f}")
    return "\n".join(lines)
