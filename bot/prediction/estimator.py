"""XGBoost estimators in scikit-learn's style: ``fit``/``predict``, data checked at the door.

- ``QuantileRegressor``: the 10th, 50th and 90th percentile of a 0-10 or 0-24 answer in one booster
  (XGBoost's "reg:quantileerror" with three ``quantile_alpha``). Answers are whole numbers, so the
  targets are spread uniformly within +-0.5 before training (seeded); the quantiles then estimate a
  continuous outcome (see metrics.interval_coverage). Boosted quantiles are too narrow on new
  patients, so the interval is then widened by conformalized quantile regression (Romano, Patterson,
  Candes, NeurIPS 2019) on a quarter of the rows the booster never saw: 80 % then means 80 %.
- ``CalibratedClassifier``: a boosted classifier for being off work, whose scores are recalibrated by
  Platt scaling, so "30 %" means about 3 in 10. The scaling is fitted on out-of-fold scores (each row
  scored by a booster trained without it, four stratified folds) and the final booster is trained on
  all rows: absence at 6 months is rare, and a held-back quarter would leave a handful of events.

Both keep only a native XGBoost booster and a few numbers, saved as UBJSON plus JSON: no pickle, so
loading a model file cannot run code.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np
import xgboost as xgb

from bot.prediction.metrics import fit_logistic_1d

QUANTILES: Tuple[float, ...] = (0.1, 0.5, 0.9)
MIN_ROWS = 100
MIN_EVENTS = 20  # patients with, and without, the event; each of the four folds then has about five
CALIBRATION_FOLDS = 4


class NotFittedError(RuntimeError):
    """predict() before fit(): there is no model to ask."""


class TrainingDataError(ValueError):
    """The data cannot train this estimator (too few rows, values out of range, one class only)."""


@dataclass(frozen=True)
class BoosterSettings:
    """Hyper-parameters shared by the estimators; recorded in every model card."""

    n_estimators: int = 150
    max_depth: int = 3
    learning_rate: float = 0.1
    min_child_weight: float = 5.0
    subsample: float = 0.8
    max_bin: int = 64
    # One thread: XGBoost's OpenMP threads spin when the cores are busy (measured here: 0.5 s of CPU
    # for one model single-threaded, 26 s with two threads on a loaded machine), and the models are
    # small enough that one thread trains them in seconds.
    n_jobs: int = 1

    def xgb_params(self, seed: int) -> Dict[str, Any]:
        return {
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "max_bin": self.max_bin,
            "tree_method": "hist",
            "nthread": self.n_jobs,
            "seed": seed,
        }


def _check_features(X: Any, n_features: Optional[int]) -> np.ndarray:
    """A 2-D float matrix, NaN allowed (not applicable), infinities refused."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (patients x features), got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features; the model was fitted with {n_features}")
    if np.isinf(X).any():
        raise ValueError("X contains infinite values")
    return X


def _check_rows(X: np.ndarray, y: Any) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or len(y) != len(X):
        raise TrainingDataError(f"y must be 1-D with one value per row of X ({len(X)}), got shape {y.shape}")
    if not np.isfinite(y).all():
        raise TrainingDataError("y contains missing or infinite values; drop patients without this outcome")
    if len(y) < MIN_ROWS:
        raise TrainingDataError(f"{len(y)} patients with this outcome; at least {MIN_ROWS} are needed")
    return y


def _booster(raw: bytes, threads: int) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    booster.set_param({"nthread": threads})
    return booster


def _held_back(n: int, fraction: float, seed: int) -> np.ndarray:
    """A seeded share of rows kept back for calibration."""
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[: int(round(n * fraction))]] = True
    return mask


def _margin(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    """The booster's log-odds, before the calibration."""
    return booster.inplace_predict(X, missing=np.nan, predict_type="margin")


class QuantileRegressor:
    """10/50/90 % quantiles of a whole-number outcome on ``bounds`` (e.g. pain 0-10)."""

    def __init__(self, bounds: Tuple[int, int], settings: BoosterSettings = BoosterSettings(), seed: int = 0,
                 calibration_fraction: float = 0.25) -> None:
        self.bounds = bounds
        self.settings = settings
        self.seed = seed
        self.calibration_fraction = calibration_fraction
        self.booster_: Optional[xgb.Booster] = None
        self.margin_: Optional[float] = None
        self.n_features_: Optional[int] = None

    def fit(self, X: Any, y: Any) -> "QuantileRegressor":
        X = _check_features(X, None)
        y = _check_rows(X, y)
        low, high = self.bounds
        if (y < low).any() or (y > high).any() or (y != np.round(y)).any():
            raise TrainingDataError(f"y must be whole numbers from {low} to {high}")
        jittered = y + np.random.default_rng(self.seed).uniform(-0.5, 0.5, len(y))
        calibrate = _held_back(len(y), self.calibration_fraction, self.seed + 1)
        params = {**self.settings.xgb_params(self.seed), "objective": "reg:quantileerror",
                  "quantile_alpha": np.array(QUANTILES)}
        dtrain = xgb.DMatrix(X[~calibrate], label=jittered[~calibrate], missing=np.nan, nthread=self.settings.n_jobs)
        self.booster_ = xgb.train(params, dtrain, num_boost_round=self.settings.n_estimators)
        self.booster_.set_param({"nthread": 1})  # one patient at a time from here on
        self.n_features_ = X.shape[1]
        # Conformal step: how far the held-back answers fall outside their raw interval; widening
        # by the finite-sample 80 % quantile of that distance gives 80 % coverage on new patients.
        raw = self._raw(X[calibrate])
        outside = np.maximum(raw[:, 0] - jittered[calibrate], jittered[calibrate] - raw[:, 2])
        level = min(1.0, np.ceil((len(outside) + 1) * (QUANTILES[2] - QUANTILES[0])) / len(outside))
        self.margin_ = float(np.quantile(outside, level, method="higher"))
        return self

    def _raw(self, X: np.ndarray) -> np.ndarray:
        assert self.booster_ is not None
        return np.sort(self.booster_.inplace_predict(X, missing=np.nan).reshape(len(X), len(QUANTILES)), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """(patients, 3): the 10th, 50th and 90th percentile, ordered, on the outcome's continuous
        scale (bounds widened by 0.5, the reach of the jittered answers)."""
        if self.booster_ is None or self.margin_ is None:
            raise NotFittedError("fit the regressor first")
        X = _check_features(X, self.n_features_)
        quantiles = self._raw(X) + np.array([-self.margin_, 0.0, self.margin_])
        return np.clip(np.sort(quantiles, axis=1), self.bounds[0] - 0.5, self.bounds[1] + 0.5)

    def state(self) -> Tuple[Dict[str, Any], bytes]:
        if self.booster_ is None or self.margin_ is None:
            raise NotFittedError("fit the regressor first")
        meta = {"bounds": list(self.bounds), "seed": self.seed, "n_features": self.n_features_,
                "calibration_fraction": self.calibration_fraction, "conformal_margin": self.margin_,
                "settings": asdict(self.settings)}
        return meta, bytes(self.booster_.save_raw("ubj"))

    @classmethod
    def from_state(cls, meta: Dict[str, Any], raw: bytes) -> "QuantileRegressor":
        model = cls(tuple(meta["bounds"]), BoosterSettings(**meta["settings"]), meta["seed"],  # type: ignore[arg-type]
                    meta["calibration_fraction"])
        model.booster_ = _booster(raw, 1)
        model.margin_ = float(meta["conformal_margin"])
        model.n_features_ = meta["n_features"]
        return model


class CalibratedClassifier:
    """Probability of a 0/1 outcome: boosted trees, then Platt scaling on out-of-fold scores."""

    def __init__(self, settings: BoosterSettings = BoosterSettings(), seed: int = 0) -> None:
        self.settings = settings
        self.seed = seed
        self.booster_: Optional[xgb.Booster] = None
        self.platt_: Optional[Tuple[float, float]] = None
        self.n_features_: Optional[int] = None

    def _train(self, X: np.ndarray, y: np.ndarray) -> xgb.Booster:
        params = {**self.settings.xgb_params(self.seed), "objective": "binary:logistic", "eval_metric": "logloss"}
        booster = xgb.train(params, xgb.DMatrix(X, label=y, missing=np.nan, nthread=self.settings.n_jobs),
                            num_boost_round=self.settings.n_estimators)
        booster.set_param({"nthread": 1})
        return booster

    def fit(self, X: Any, y: Any) -> "CalibratedClassifier":
        X = _check_features(X, None)
        y = _check_rows(X, y)
        if not np.isin(y, (0.0, 1.0)).all():
            raise TrainingDataError("y must be 0 or 1")
        events, non_events = int(y.sum()), int((1 - y).sum())
        if min(events, non_events) < MIN_EVENTS:
            raise TrainingDataError(f"{events} patients with and {non_events} without the event; at least "
                                    f"{MIN_EVENTS} of each are needed")
        fold = np.zeros(len(y), dtype=int)
        rng = np.random.default_rng(self.seed + 1)
        for value in (0.0, 1.0):
            rows = rng.permutation(np.flatnonzero(y == value))
            fold[rows] = np.arange(len(rows)) % CALIBRATION_FOLDS
        out_of_fold = np.empty(len(y))
        for k in range(CALIBRATION_FOLDS):
            held = fold == k
            out_of_fold[held] = _margin(self._train(X[~held], y[~held]), X[held])
        self.platt_ = fit_logistic_1d(out_of_fold, y)
        self.booster_ = self._train(X, y)
        self.n_features_ = X.shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probability of the event, one per patient."""
        if self.booster_ is None or self.platt_ is None:
            raise NotFittedError("fit the classifier first")
        X = _check_features(X, self.n_features_)
        intercept, slope = self.platt_
        return 1.0 / (1.0 + np.exp(-(intercept + slope * _margin(self.booster_, X))))

    predict = predict_proba  # fit/predict like every estimator here; this one's prediction is a probability

    def state(self) -> Tuple[Dict[str, Any], bytes]:
        if self.booster_ is None or self.platt_ is None:
            raise NotFittedError("fit the classifier first")
        meta = {"platt": list(self.platt_), "seed": self.seed, "n_features": self.n_features_,
                "calibration_folds": CALIBRATION_FOLDS, "settings": asdict(self.settings)}
        return meta, bytes(self.booster_.save_raw("ubj"))

    @classmethod
    def from_state(cls, meta: Dict[str, Any], raw: bytes) -> "CalibratedClassifier":
        model = cls(BoosterSettings(**meta["settings"]), meta["seed"])
        model.booster_ = _booster(raw, 1)
        model.platt_ = (float(meta["platt"][0]), float(meta["platt"][1]))
        model.n_features_ = meta["n_features"]
        return model
