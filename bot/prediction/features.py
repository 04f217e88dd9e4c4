"""Model inputs: the schema's predictor columns as one numeric matrix.

Training and prediction both go through ``feature_matrix``, so a model never meets an encoding it
was not trained with; the saved model lists ``FEATURES`` and loading refuses a model whose list
differs. Ordered answers (age band, duration, bothersomeness, expectations) keep their order as
integers; a value that does not apply (days off outside paid work, sex not stated) is NaN, which
XGBoost routes down a learned default branch instead of pretending it is a number.
"""
from __future__ import annotations

from typing import Mapping, Sequence, Tuple

import numpy as np

from bot.prediction.schema import (
    AGE_BANDS,
    BOTHER_CODES,
    DURATIONS,
    PREVIOUS_EPISODES,
    RECOVERY_EXPECTATIONS,
    RISK_GROUPS,
    WORK_EXPECTATIONS,
)
from bot.scoring.start_back import ITEMS as SBT_ITEMS

FEATURES: Tuple[str, ...] = (
    "age_band", "sex_female", "site_neck", "site_both", "episode_duration", "previous_episodes",
    "pain_now", "function_now", *SBT_ITEMS, "sbt_total", "sbt_subscale", "risk_group",
    "recovery_expectation", "work_working", "work_off", "days_off", "work_expectation",
)


def _ordinal(values: np.ndarray, codes: Sequence[str]) -> np.ndarray:
    index = {code: float(position) for position, code in enumerate(codes)}
    return np.array([index.get(str(value), np.nan) for value in values], dtype=float)


def _flag(values: np.ndarray, code: str) -> np.ndarray:
    return (values == code).astype(float)


def feature_matrix(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """One row per patient, one column per name in ``FEATURES`` (float32, NaN where not applicable)."""
    sex = columns["sex"]
    sex_female = np.where(sex == "female", 1.0, np.where(sex == "male", 0.0, np.nan))
    encoded = {
        "age_band": _ordinal(columns["age_band"], AGE_BANDS),
        "sex_female": sex_female,
        "site_neck": _flag(columns["pain_site"], "neck"),
        "site_both": _flag(columns["pain_site"], "both"),
        "episode_duration": _ordinal(columns["episode_duration"], DURATIONS),
        "previous_episodes": _ordinal(columns["previous_episodes"], PREVIOUS_EPISODES),
        "pain_now": columns["pain_now"].astype(float),
        "function_now": columns["function_now"].astype(float),
        **{item: _flag(columns[item], "agree") for item in SBT_ITEMS if item != "sbt_9"},
        "sbt_9": _ordinal(columns["sbt_9"], BOTHER_CODES),
        "sbt_total": columns["sbt_total"].astype(float),
        "sbt_subscale": columns["sbt_subscale"].astype(float),
        "risk_group": _ordinal(columns["risk_group"], RISK_GROUPS),
        "recovery_expectation": _ordinal(columns["recovery_expectation"], RECOVERY_EXPECTATIONS),
        "work_working": _flag(columns["work_status"], "working"),
        "work_off": _flag(columns["work_status"], "off_work"),
        "days_off": columns["days_off"].astype(float),
        "work_expectation": _ordinal(columns["work_expectation"], WORK_EXPECTATIONS),
    }
    return np.column_stack([encoded[name] for name in FEATURES]).astype(np.float32)
