"""The few statistics the model card reports, in plain numpy so their definitions are visible here.

Pain and disability answers are whole numbers, so a predicted 80 % interval is judged against each
answer spread evenly over its unit cell (y - 0.5, y + 0.5): the share of that cell inside the
interval. This is the "jittering" view of quantiles for discrete outcomes (Machado & Santos Silva,
J Am Stat Assoc 2005;100:1226-37) that the regressors are trained with; counting an answer as covered
whenever it equals an interval end would credit an interval of 3.0 to 3.0 with 100 % coverage.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

_EPS = 1e-6


def mae(y: np.ndarray, median: np.ndarray) -> float:
    return float(np.mean(np.abs(y - median)))


def interval_coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Mean share of each whole-number answer's unit cell that lies inside [low, high]."""
    overlap = np.clip(np.minimum(y + 0.5, high) - np.maximum(y - 0.5, low), 0.0, 1.0)
    return float(np.mean(overlap))


def c_statistic(y: np.ndarray, p: np.ndarray) -> float:
    """Probability that a random patient with the event has a higher prediction than one without
    (ties count one half): the area under the ROC curve, from average ranks."""
    y = np.asarray(y).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("the C-statistic needs patients with and without the event")
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    average_rank = first_rank + (counts - 1) / 2.0
    rank_sum = average_rank[inverse][y].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def fit_logistic_1d(x: np.ndarray, y: np.ndarray, iterations: int = 50) -> Tuple[float, float]:
    """Intercept and slope of a logistic regression of ``y`` on one covariate (Newton-Raphson).
    A tiny ridge keeps the fit finite when the covariate separates the outcome perfectly."""
    design = np.column_stack([np.ones_like(x, dtype=float), x.astype(float)])
    beta = np.zeros(2)
    ridge = 1e-6 * np.eye(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (y - p) - ridge @ beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + ridge
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def calibration(y: np.ndarray, p: np.ndarray) -> Tuple[float, float]:
    """Calibration intercept and slope: regress the outcome on the logit of the prediction; a
    well-calibrated model has slope 1 (below 1: predictions too extreme)."""
    return fit_logistic_1d(logit(p), y.astype(float))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def pinball_loss(y: np.ndarray, predicted: np.ndarray, quantiles: Tuple[float, ...]) -> float:
    """Mean quantile (pinball) loss over the predicted quantiles: a proper score for a set of
    quantiles, so it rewards a sharp median and honest interval ends together (lower is better).
    ``predicted`` has one column per quantile."""
    losses = []
    for column, q in enumerate(quantiles):
        error = y - predicted[:, column]
        losses.append(np.mean(np.maximum(q * error, (q - 1) * error)))
    return float(np.mean(losses))


def reliability_bins(y: np.ndarray, predicted: np.ndarray, bins: int = 10) -> List[Dict[str, float]]:
    """Observed against predicted by groups of the prediction (deciles when there are enough
    patients, fewer groups otherwise, at least 10 patients each): per group its size, the mean
    prediction and the observed mean. For a probability this is the reliability diagram; for a
    predicted median the observed mean shows whether high predictions are too high."""
    order = np.argsort(predicted, kind="stable")
    groups = max(1, min(bins, len(y) // 10))
    rows = []
    for part in np.array_split(order, groups):
        if len(part):
            rows.append({"n": int(len(part)), "predicted": float(np.mean(predicted[part])),
                         "observed": float(np.mean(y[part]))})
    return rows


def tail_shares(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> Tuple[float, float]:
    """Share of each whole-number answer's unit cell below ``low`` and above ``high``: for an 80 %
    interval from the 10th to the 90th percentile each should be about 10 %, and a lopsided pair
    shows on which side the interval misses."""
    below = np.clip(np.minimum(y + 0.5, low) - (y - 0.5), 0.0, 1.0)
    above = np.clip((y + 0.5) - np.maximum(y - 0.5, high), 0.0, 1.0)
    return float(np.mean(below)), float(np.mean(above))
