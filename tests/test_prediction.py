"""Outcome prediction: the synthetic cohort against its published figures, the CSV schema's
refusals, the trained model against the generator's known effects, the honesty rules of a
prediction, and the graph and its text alternative (docs/prediction.md).

Models here are trained on 3 000 synthetic patients (a few seconds); the default model uses 10 000.
"""
from __future__ import annotations

import ast
import csv
import dataclasses
import io
import json
import re
import warnings
from datetime import date
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from matplotlib.image import imread

from bot.cli import main as cli
from bot.paths import PROJECT_ROOT
from bot.prediction import graph
from bot.prediction.cohort import ParameterError, generate, load_parameters, summarise, target_misses
from bot.prediction.estimator import (
    BoosterSettings,
    CalibratedClassifier,
    NotFittedError,
    QuantileRegressor,
    TrainingDataError,
)
from bot.prediction.features import FEATURES, feature_matrix
from bot.prediction.forecast import forecast
from bot.prediction.metrics import c_statistic, calibration, interval_coverage
from bot.prediction.predict import (
    EXTRA_ITEMS,
    ILLUSTRATIVE_NOTICE_MSGID,
    MODEL_ENV,
    InconsistentAnswers,
    InvalidAnswers,
    MissingAnswers,
    ModelUnavailable,
    NotApplicable,
    function_score,
    predict,
)
from bot.prediction.schema import (
    COLUMNS,
    TIME_POINTS,
    CohortError,
    read_cohort_csv,
    start_back_scores,
    write_cohort_csv,
)
from bot.prediction.train import (
    ModelUnavailableError,
    OutcomeModel,
    synthetic_model_is_current,
    train_from_csv,
    train_synthetic,
)
from bot.scoring import start_back

ROWS, SEED = 3000, 11
TODAY = date(2026, 1, 5)
GROUPS = ("low", "medium", "high")


@pytest.fixture(scope="module")
def model() -> OutcomeModel:
    return train_synthetic(ROWS, SEED)


@pytest.fixture(scope="module")
def new_patients() -> Any:
    """Patients the model never saw, generated with another seed."""
    return generate(4000, 12345)


def answers(**changes: Any) -> Dict[str, Any]:
    """A complete, consistent set of slot values: triage plus the prediction items."""
    base: Dict[str, Any] = {
        "consent": True, "pain_site": "low_back", "rf_saddle_numbness": False, "rf_bladder_bowel": False,
        "sbt_1": "agree", "sbt_2": "disagree", "sbt_3": "agree", "sbt_4": "agree", "sbt_5": "agree",
        "sbt_6": "disagree", "sbt_7": "disagree", "sbt_8": "disagree", "sbt_9": "moderately", "pain_now": 6,
        "age_band": "40_to_49", "sex": "female", "episode_duration": "1_to_3_months",
        "previous_episodes": "once_or_twice", "fn_1": True, "fn_2": True, "fn_3": False, "fn_4": True,
        "fn_5": False, "fn_6": False, "recovery_expectation": "unsure", "work_status": "working",
        "days_off": 2, "work_expectation": "sure",
    }
    base.update(changes)
    return base


# --- the synthetic cohort ------------------------------------------------------------------------

def test_every_parameter_names_its_basis_and_a_source() -> None:
    params = load_parameters()
    assert params.parameters and params.targets
    for name, entry in {**params.parameters, **params.targets}.items():
        assert entry.basis in ("published", "derived", "calibrated", "assumption"), name
        assert entry.sources or entry.basis == "calibrated", name
        assert all(source in params.sources for source in entry.sources), name


def test_a_parameter_without_its_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "params.yml"
    path.write_text("sources: {a: A paper}\nparameters:\n  x: {value: 1, basis: published}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="x: a published value must cite a source"):
        load_parameters(path)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_generated_cohort_reproduces_the_published_figures(seed: int) -> None:
    assert target_misses(summarise(generate(20_000, seed))) == []


def test_the_generator_is_seeded() -> None:
    first, again, other = generate(300, 3), generate(300, 3), generate(300, 4)
    for name, values in first.columns.items():
        np.testing.assert_array_equal(values, again.columns[name])
    assert not np.array_equal(first.columns["pain_now"], other.columns["pain_now"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["agree", "disagree"]), min_size=8, max_size=8),
       st.sampled_from(["not_at_all", "slightly", "moderately", "very_much", "extremely"]))
def test_vectorised_scoring_equals_the_reference_rules(items: List[str], bother: str) -> None:
    answers_ = {f"sbt_{n}": code for n, code in enumerate(items, start=1)} | {"sbt_9": bother}
    total, subscale, group = start_back_scores({k: np.array([v], dtype=object) for k, v in answers_.items()})
    reference = start_back.score(answers_)
    assert (total[0], subscale[0], group[0]) == (reference.total, reference.subscale, reference.group)


def test_a_generated_cohort_round_trips_through_the_csv_schema(tmp_path: Path) -> None:
    cohort = generate(200, 5)
    write_cohort_csv(cohort, tmp_path / "cohort.csv")
    again = read_cohort_csv(tmp_path / "cohort.csv")
    assert again.synthetic and len(again) == 200
    for name, values in cohort.columns.items():
        if values.dtype == object:
            assert list(again.columns[name]) == list(values), name
        else:
            np.testing.assert_array_equal(again.columns[name], values, err_msg=name)


# --- malformed cohorts ---------------------------------------------------------------------------

@pytest.fixture
def cohort_rows(tmp_path: Path) -> List[List[str]]:
    path = tmp_path / "valid.csv"
    write_cohort_csv(generate(30, 1), path)
    return list(csv.reader(path.open(encoding="utf-8")))


def write(tmp_path: Path, rows: List[List[str]], name: str = "cohort.csv", delimiter: str = ",") -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def first_row(rows: List[List[str]], column: str, value: str) -> int:
    header = rows[0]
    return next(i for i, row in enumerate(rows) if i and row[header.index(column)] == value)


def change(rows: List[List[str]], row: int, column: str, value: str) -> None:
    rows[row][rows[0].index(column)] = value


@pytest.mark.parametrize("column, value, where, message", [
    ("pain_now", "11", None, "column pain_now: 11 is not a whole number from 0 to 10"),
    ("sex", "x", None, "column sex: 'x' is not one of: female, male, not_stated"),
    ("function_6w", "7.5", None, "column function_6w: 7.5 is not a whole number from 0 to 24"),
    ("pain_6m", "abc", None, "column pain_6m: 'abc' is not a number"),
    ("age_band", "", None, "column age_band: a value is required"),
    ("age_band", "45", None, "column age_band: '45' is not one of: 18_to_29"),
    ("days_off", "3", ("work_status", "not_in_paid_work"), "column days_off: must be empty when work_status is not_in_paid_work"),
    ("days_off", "", ("work_status", "working"), "column days_off: a value is required when work_status is working"),
    ("days_off", "0", ("work_status", "off_work"), "column days_off: is 0 but work_status says off work"),
    ("off_work_3m", "1", ("work_status", "not_in_paid_work"), "column off_work_3m: must be empty when work_status"),
    ("risk_group", "low", ("risk_group", "high"), "column risk_group: 'low' does not follow from the items"),
])
def test_a_bad_cell_is_named_by_line_and_column(tmp_path: Path, cohort_rows: List[List[str]], column: str,
                                                value: str, where: Any, message: str) -> None:
    row = first_row(cohort_rows, *where) if where else 4
    change(cohort_rows, row, column, value)
    with pytest.raises(CohortError) as error:
        read_cohort_csv(write(tmp_path, cohort_rows))
    assert f"line {row + 1}, {message}" in str(error.value)
    assert len(error.value.problems) == 1, str(error.value)


def test_a_score_that_does_not_match_the_items_is_refused(tmp_path: Path, cohort_rows: List[List[str]]) -> None:
    header = cohort_rows[0]
    actual = int(cohort_rows[3][header.index("sbt_total")])
    change(cohort_rows, 3, "sbt_total", str((actual + 1) % 10))
    with pytest.raises(CohortError) as error:
        read_cohort_csv(write(tmp_path, cohort_rows))
    assert f"line 4, column sbt_total: {(actual + 1) % 10} does not match the items, which score {actual}" in str(error.value)


def test_every_problem_of_every_row_is_reported_with_the_record_id(tmp_path: Path, cohort_rows: List[List[str]]) -> None:
    rows = [["record_id", *cohort_rows[0]]] + [[f"P{i:03d}", *row] for i, row in enumerate(cohort_rows[1:])]
    change(rows, 2, "pain_now", "-1")
    change(rows, 7, "sbt_9", "sometimes")
    rows[10] = rows[10][:-2]
    with pytest.raises(CohortError) as error:
        read_cohort_csv(write(tmp_path, rows))
    text = str(error.value)
    assert "3 problem(s)" in text
    assert "line 3 (record_id P001), column pain_now: -1 is not a whole number from 0 to 10" in text
    assert "line 8 (record_id P006), column sbt_9: 'sometimes' is not one of" in text
    assert f"line 11: {len(rows[0]) - 2} fields, but the header has {len(rows[0])}" in text


@pytest.mark.parametrize("rename, message", [
    (("pain_6w", "pain6w"), "column pain6w: unknown column (did you mean pain_6w?)"),
    (("sbt_9", "sbt_1"), "duplicate columns: sbt_1"),
])
def test_a_bad_header_is_refused_before_any_row(tmp_path: Path, cohort_rows: List[List[str]], rename: Any, message: str) -> None:
    cohort_rows[0][cohort_rows[0].index(rename[0])] = rename[1]
    with pytest.raises(CohortError) as error:
        read_cohort_csv(write(tmp_path, cohort_rows))
    assert message in str(error.value)
    assert f"missing columns: {rename[0]}" in str(error.value)


def test_many_problems_are_summarised_per_column(tmp_path: Path, cohort_rows: List[List[str]]) -> None:
    for row in range(1, len(cohort_rows)):
        change(cohort_rows, row, "pain_now", "12")
    with pytest.raises(CohortError) as error:
        read_cohort_csv(write(tmp_path, cohort_rows))
    assert "30 problem(s)" in str(error.value)
    assert "... and 10 more; per column: pain_now 30" in str(error.value)


def test_empty_and_header_only_files_are_refused(tmp_path: Path, cohort_rows: List[List[str]]) -> None:
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(CohortError, match="the file is empty"):
        read_cohort_csv(tmp_path / "empty.csv")
    with pytest.raises(CohortError, match="there are no patient rows"):
        read_cohort_csv(write(tmp_path, cohort_rows[:1]))
    (tmp_path / "latin1.csv").write_bytes("pain_now\nk\xf6ln\n".encode("latin-1"))
    with pytest.raises(CohortError, match="not UTF-8"):
        read_cohort_csv(tmp_path / "latin1.csv")


def test_a_semicolon_export_with_a_byte_order_mark_is_read(tmp_path: Path, cohort_rows: List[List[str]]) -> None:
    path = write(tmp_path, cohort_rows, delimiter=";")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(read_cohort_csv(path)) == 30


# --- the model -----------------------------------------------------------------------------------

def mean_by_group(values: np.ndarray, groups: np.ndarray) -> List[float]:
    return [float(np.nanmean(values[groups == g])) for g in GROUPS]


def test_a_higher_risk_group_gets_a_worse_predicted_course(model: OutcomeModel, new_patients: Any) -> None:
    X, groups = feature_matrix(new_patients.columns), new_patients.columns["risk_group"]
    paid = new_patients.columns["work_status"] != "not_in_paid_work"
    for time in TIME_POINTS:
        for outcome in ("pain", "function"):
            low, medium, high = mean_by_group(model.regressors[outcome, time.key].predict(X)[:, 1], groups)
            assert low < medium < high, (outcome, time.key, low, medium, high)
        low, medium, high = mean_by_group(model.classifiers[time.key].predict_proba(X[paid]), groups[paid])
        assert low < medium < high, ("off_work", time.key, low, medium, high)


def test_more_distress_alone_predicts_more_disability(model: OutcomeModel, new_patients: Any) -> None:
    """The generator lowers recovery with distress; the model must have learnt it from the items."""
    calm, distressed = dict(new_patients.columns), dict(new_patients.columns)
    for item in ("sbt_5", "sbt_6", "sbt_7", "sbt_8"):
        calm[item] = np.full(len(new_patients), "disagree", dtype=object)
        distressed[item] = np.full(len(new_patients), "agree", dtype=object)
    calm["sbt_9"] = np.full(len(new_patients), "slightly", dtype=object)
    distressed["sbt_9"] = np.full(len(new_patients), "very_much", dtype=object)
    for columns in (calm, distressed):
        total, subscale, group = start_back_scores(columns)
        columns.update(sbt_total=total.astype(float), sbt_subscale=subscale.astype(float), risk_group=group)
    regressor = model.regressors["function", "6m"]
    calm_median = regressor.predict(feature_matrix(calm))[:, 1]
    distressed_median = regressor.predict(feature_matrix(distressed))[:, 1]
    assert distressed_median.mean() > calm_median.mean() + 0.5


def test_80_percent_intervals_cover_80_percent_of_new_patients(model: OutcomeModel, new_patients: Any) -> None:
    X = feature_matrix(new_patients.columns)
    for time in TIME_POINTS:
        for outcome in ("pain", "function"):
            y = new_patients.columns[f"{outcome}_{time.key}"]
            seen = ~np.isnan(y)
            q = model.regressors[outcome, time.key].predict(X[seen])
            assert 0.75 <= interval_coverage(y[seen], q[:, 0], q[:, 2]) <= 0.85, (outcome, time.key)
            assert (q[:, 0] <= q[:, 1]).all() and (q[:, 1] <= q[:, 2]).all()


def test_work_predictions_discriminate_and_are_calibrated(model: OutcomeModel, new_patients: Any) -> None:
    X = feature_matrix(new_patients.columns)
    for time in TIME_POINTS:
        y = new_patients.columns[f"off_work_{time.key}"]
        seen = ~np.isnan(y)
        p = model.classifiers[time.key].predict_proba(X[seen])
        assert c_statistic(y[seen], p) >= 0.7, time.key
        assert abs(p.mean() - y[seen].mean()) < 0.03, time.key
        assert 0.6 < calibration(y[seen], p)[1] < 1.5, time.key


def test_the_model_card_reports_provenance_and_held_out_metrics(model: OutcomeModel) -> None:
    card = model.card
    assert card["data"]["synthetic"] is True and card["data"]["statement"].startswith("SYNTHETIC DATA")
    assert card["data"]["rows"] == ROWS and card["data"]["holdout_rows"] == ROWS // 5
    assert card["features"] == list(FEATURES)
    assert card["hyperparameters"]["seed"] == SEED
    for time in TIME_POINTS:
        for outcome in ("pain", "function"):
            metrics = card["metrics"][f"{outcome}_{time.key}"]
            assert metrics["n"] > 300 and 0.7 < metrics["coverage_80"] < 0.9 and metrics["mae"] > 0
        work = card["metrics"][f"off_work_{time.key}"]
        assert work["events"] > 0 and 0.5 < work["c_statistic"] <= 1 and "calibration_slope" in work


def test_training_is_deterministic_under_a_seed(model: OutcomeModel, new_patients: Any) -> None:
    again = train_synthetic(ROWS, SEED)
    X = feature_matrix(new_patients.columns)
    for key, regressor in model.regressors.items():
        np.testing.assert_array_equal(regressor.predict(X), again.regressors[key].predict(X))
        assert regressor.state()[1] == again.regressors[key].state()[1]
    for key, classifier in model.classifiers.items():
        np.testing.assert_array_equal(classifier.predict_proba(X), again.classifiers[key].predict_proba(X))
    assert model.card["metrics"] == again.card["metrics"]


def test_a_saved_model_loads_with_the_same_predictions_and_its_card(model: OutcomeModel, tmp_path: Path,
                                                                   new_patients: Any) -> None:
    directory = model.save(tmp_path / "model")
    loaded = OutcomeModel.load(directory)
    X = feature_matrix(new_patients.columns)
    for key, regressor in model.regressors.items():
        np.testing.assert_array_equal(regressor.predict(X), loaded.regressors[key].predict(X))
    assert loaded.card == model.card and loaded.typical == model.typical
    assert (directory / "model_card.md").read_text().splitlines()[2].startswith("**SYNTHETIC DATA.")
    assert sum(f.stat().st_size for f in directory.iterdir()) < 1_000_000
    assert synthetic_model_is_current(directory, ROWS, SEED)
    assert not synthetic_model_is_current(directory, ROWS, SEED + 1)
    model.save(directory)  # replacing an existing model leaves no staging directories behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_model_for_other_features_is_refused(model: OutcomeModel, tmp_path: Path) -> None:
    directory = model.save(tmp_path / "model")
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["features"] = manifest["features"][:-1]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelUnavailableError, match="other features"):
        OutcomeModel.load(directory)


def test_estimators_check_their_data_at_the_door() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    with pytest.raises(NotFittedError):
        QuantileRegressor((0, 10)).predict(X)
    with pytest.raises(ValueError, match="2-D"):
        QuantileRegressor((0, 10)).fit(X[:, 0], np.zeros(200))
    with pytest.raises(TrainingDataError, match="whole numbers from 0 to 10"):
        QuantileRegressor((0, 10)).fit(X, np.full(200, 11.0))
    with pytest.raises(TrainingDataError, match="one value per row"):
        QuantileRegressor((0, 10)).fit(X, np.zeros(199))
    with pytest.raises(TrainingDataError, match="at least 100"):
        QuantileRegressor((0, 10)).fit(X[:50], np.zeros(50))
    with pytest.raises(ValueError, match="infinite"):
        QuantileRegressor((0, 10)).fit(np.where(X > 2, np.inf, X), np.zeros(200))
    fitted = QuantileRegressor((0, 10), BoosterSettings(n_estimators=5)).fit(X, rng.integers(0, 11, 200))
    with pytest.raises(ValueError, match="fitted with 3"):
        fitted.predict(X[:, :2])
    with pytest.raises(TrainingDataError, match="5 patients with and 195 without"):
        CalibratedClassifier().fit(X, np.r_[np.ones(5), np.zeros(195)])


def test_the_metrics_mean_what_they_say() -> None:
    y = np.array([0, 0, 1, 1])
    assert c_statistic(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert c_statistic(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert c_statistic(y, np.full(4, 0.5)) == 0.5
    # an answer of 3 is its unit cell 2.5-3.5; an interval 3.0-3.0 covers none of it, 2.0-3.0 half
    assert interval_coverage(np.array([3.0]), np.array([3.0]), np.array([3.0])) == 0.0
    assert interval_coverage(np.array([3.0]), np.array([2.0]), np.array([3.0])) == 0.5
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.6, 20_000)
    intercept, slope = calibration((rng.random(20_000) < p).astype(float), p)
    assert abs(slope - 1) < 0.1 and abs(intercept) < 0.1


# --- one patient ---------------------------------------------------------------------------------

def test_a_complete_triage_gets_an_illustrative_prediction(model: OutcomeModel) -> None:
    result = predict(answers(), model)
    assert result.illustrative and result.notice_msgid == ILLUSTRATIVE_NOTICE_MSGID
    assert result.weeks == (6, 13, 26) and result.risk_group == start_back.score(answers()).group
    assert result.function_now == function_score(answers()) == 12
    for interval in (*result.pain, *result.function):
        assert interval.low <= interval.median <= interval.high
    assert all(0 <= i.low and i.high <= 10 for i in result.pain)
    assert result.off_work is not None and all(0 < p < 1 for p in result.off_work)


def test_outside_paid_work_there_is_no_work_prediction_and_stale_work_answers_are_ignored(model: OutcomeModel) -> None:
    result = predict(answers(work_status="not_in_paid_work", days_off=9, work_expectation="unlikely"), model)
    assert result.off_work is None and result.off_work_now is None
    without = predict(answers(work_status="not_in_paid_work", days_off=None, work_expectation=None), model)
    assert without.pain == result.pain


@pytest.mark.parametrize("item", ["age_band", "fn_3", "sbt_9", "pain_now", "recovery_expectation", "days_off",
                                  "work_expectation"])
def test_a_missing_answer_gives_no_prediction(model: OutcomeModel, item: str) -> None:
    with pytest.raises(MissingAnswers) as error:
        predict(answers(**{item: None}), model)
    assert item in error.value.items and error.value.msgid == "prediction.unavailable.missing"


@pytest.mark.parametrize("item, value", [
    ("pain_now", 11), ("pain_now", "7"), ("pain_now", True), ("age_band", "45"), ("sex", "F"),
    ("sbt_4", "yes"), ("days_off", 29), ("days_off", 2.5), ("work_expectation", "maybe"), ("fn_2", "yes"),
])
def test_an_impossible_answer_gives_no_prediction(model: OutcomeModel, item: str, value: Any) -> None:
    with pytest.raises(InvalidAnswers) as error:
        predict(answers(**{item: value}), model)
    assert error.value.items == (item,)


def test_contradicting_answers_give_no_prediction(model: OutcomeModel) -> None:
    group = start_back.score(answers()).group
    other = next(g for g in GROUPS if g != group)
    with pytest.raises(InconsistentAnswers, match="risk_group do not follow"):
        predict(answers(risk_group=other), model)
    with pytest.raises(InconsistentAnswers, match="no day off"):
        predict(answers(work_status="off_work", days_off=0), model)


@pytest.mark.parametrize("change, item", [
    ({"rf_bladder_bowel": True}, "rf_bladder_bowel"), ({"consent": False}, "consent"),
    ({"risk_tool": "start_msk"}, "risk_tool"),
])
def test_the_model_does_not_apply_after_a_red_flag_or_without_consent(model: OutcomeModel, change: Any, item: str) -> None:
    with pytest.raises(NotApplicable) as error:
        predict(answers(**change), model)
    assert error.value.items == (item,)


def test_no_model_gives_a_reason_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "nothing-here"))
    with pytest.raises(ModelUnavailable, match="backtalk predictor train --synthetic") as error:
        predict(answers())
    assert error.value.msgid == "prediction.unavailable.no_model"


def test_the_bot_uses_the_model_the_environment_names(model: OutcomeModel, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    model.save(tmp_path / "model")
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "model"))
    assert predict(answers()) == predict(answers(), model)


def test_forecast_is_the_conversation_s_single_call(model: OutcomeModel) -> None:
    triage = {k: v for k, v in answers().items() if k not in EXTRA_ITEMS}
    extra = {k: v for k, v in answers().items() if k in EXTRA_ITEMS}
    result = forecast(triage, extra, language="de-CH", labels=graph.ENGLISH_LABELS, today=TODAY, model=model)
    assert result.prediction == predict(answers(), model)
    assert result.png.startswith(b"\x89PNG") and result.text.language == "de"
    with pytest.raises(MissingAnswers):
        forecast(triage, language="en", labels=graph.ENGLISH_LABELS, today=TODAY, model=model)


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({
    "age_band": st.sampled_from(["18_to_29", "30_to_39", "40_to_49", "50_to_59", "60_to_69", "70_or_over"]),
    "sex": st.sampled_from(["female", "male", "not_stated"]),
    "pain_site": st.sampled_from(["low_back", "neck", "both"]),
    "episode_duration": st.sampled_from(["under_1_month", "1_to_3_months", "3_to_6_months", "6_months_to_3_years",
                                         "over_3_years"]),
    "pain_now": st.integers(0, 10), "days_off": st.integers(1, 28),
    "work_status": st.sampled_from(["working", "off_work", "not_in_paid_work"]),
    **{f"sbt_{n}": st.sampled_from(["agree", "disagree"]) for n in range(1, 9)},
    **{f"fn_{n}": st.booleans() for n in range(1, 7)},
}))
def test_any_complete_answers_give_ordered_intervals_within_the_scales(model: OutcomeModel, change: Dict[str, Any]) -> None:
    result = predict(answers(**change), model)
    for interval in result.pain:
        assert 0 <= interval.low <= interval.median <= interval.high <= 10
    for interval in result.function:
        assert 0 <= interval.low <= interval.median <= interval.high <= 24
    assert (result.off_work is None) == (change["work_status"] == "not_in_paid_work")


def test_the_extra_items_are_what_the_predictor_needs_beyond_the_triage() -> None:
    assert set(EXTRA_ITEMS) == {"age_band", "sex", "episode_duration", "previous_episodes", "recovery_expectation",
                                "work_status", "days_off", "work_expectation", *(f"fn_{n}" for n in range(1, 7))}


# --- the graph and its words ---------------------------------------------------------------------

POLISH = graph.GraphLabels(pain="Ból (0–10)", function="Ograniczenia źćęśżł (0–24)", off_work="Szansa zwolnienia",
                           you="Ty", your_range="8 na 10", typical="Typowo", today="Dziś",
                           illustrative="Ilustracja z danych symulowanych.")


def test_the_png_has_one_panel_per_outcome(model: OutcomeModel) -> None:
    working = graph.render_png(predict(answers(), model), graph.ENGLISH_LABELS, "en", TODAY)
    retired = graph.render_png(predict(answers(work_status="not_in_paid_work"), model), graph.ENGLISH_LABELS, "en", TODAY)
    assert working.startswith(b"\x89PNG\r\n\x1a\n")
    assert imread(io.BytesIO(working)).shape[0] > imread(io.BytesIO(retired)).shape[0]


def test_labels_and_dates_are_in_the_conversation_language(model: OutcomeModel) -> None:
    figure = graph.draw(predict(answers(), model), POLISH, "pl", TODAY)
    texts = {t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))}
    assert {"Ból (0–10)", "Dziś", "16 lut", "6 kwi", "6 lip", "8 na 10", "Ilustracja z danych symulowanych."} <= texts
    german = graph.text_alternative(predict(answers(), model), "de", TODAY)
    assert [p.date_text for p in german.outcomes[0].points] == ["5. Jan. 2026", "16. Feb. 2026", "6. Apr. 2026",
                                                                 "6. Juli 2026"]
    english = graph.text_alternative(predict(answers(), model), "en", TODAY)
    assert english.outcomes[0].points[1].date_text == "16 Feb 2026"  # day first for UK and European readers


def test_the_illustrative_notice_is_drawn_only_for_an_illustrative_model(model: OutcomeModel) -> None:
    result = predict(answers(), model)
    real = dataclasses.replace(result, illustrative=False)
    texts = lambda p: {t.get_text() for t in graph.draw(p, graph.ENGLISH_LABELS, "en", TODAY).texts}  # noqa: E731
    assert graph.ENGLISH_LABELS.illustrative in texts(result)
    assert graph.ENGLISH_LABELS.illustrative not in texts(real)


def test_patient_and_typical_course_differ_in_colour_line_and_marker(model: OutcomeModel) -> None:
    figure = graph.draw(predict(answers(), model), graph.ENGLISH_LABELS, "en", TODAY)
    lines = [line for line in figure.axes[0].lines if len(line.get_xdata())]
    patient, typical = lines[0], lines[-1]
    assert (patient.get_color(), typical.get_color()) == (graph.PATIENT_COLOUR, graph.TYPICAL_COLOUR)
    assert patient.get_linestyle() != typical.get_linestyle() and patient.get_marker() != typical.get_marker()


def glyph_warnings(labels: graph.GraphLabels, prediction: Any) -> List[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph.render_png(prediction, labels, "en", TODAY)
    return [str(w.message) for w in caught if "missing from current font" in str(w.message)]


def test_the_bundled_font_has_every_letter_of_our_languages(model: OutcomeModel) -> None:
    prediction = predict(answers(), model)
    letters = "ąćęłńóśźż ČčĆćĐđŠšŽž ÆæØøÅå ÄäÖöÜüß àâçéèêëîïôûùüÿœ ãõáíú ñ"
    assert glyph_warnings(graph.GraphLabels(**{**POLISH.__dict__, "pain": letters}), prediction) == []
    # the check itself works: a script DejaVu Sans lacks is reported
    assert glyph_warnings(graph.GraphLabels(**{**POLISH.__dict__, "pain": "腰痛"}), prediction)


def test_a_reused_figure_keeps_nothing_of_the_previous_patient(model: OutcomeModel) -> None:
    first, second = predict(answers(), model), predict(answers(pain_now=1, sbt_5="disagree"), model)
    before = graph.render_png(first, graph.ENGLISH_LABELS, "en", TODAY)
    graph.render_png(second, graph.ENGLISH_LABELS, "en", TODAY)
    assert graph.render_png(first, graph.ENGLISH_LABELS, "en", TODAY) == before


def test_the_text_alternative_says_what_the_graph_shows(model: OutcomeModel) -> None:
    result = predict(answers(), model)
    alternative = graph.text_alternative(result, "en", TODAY)
    pain = next(o for o in alternative.outcomes if o.outcome == "pain")
    assert [p.when for p in pain.points] == ["now", "6w", "3m", "6m"]
    assert pain.points[0].median == result.pain_now
    assert pain.points[3].median == np.floor(result.pain[2].median + 0.5)
    assert (pain.points[3].low, pain.points[3].high) == (np.floor(result.pain[2].low + 0.5),
                                                         np.floor(result.pain[2].high + 0.5))
    work = next(o for o in alternative.outcomes if o.outcome == "off_work")
    assert work.points[0].median == np.floor(100 * result.off_work[0] + 0.5)  # type: ignore[index]
    text = graph.english_text(alternative)
    assert text.startswith("This is an illustration from simulated patients")
    assert f"6 Jul 2026: most likely {pain.points[3].median:.0f}, 8 in 10 people like you between " \
           f"{pain.points[3].low:.0f} and {pain.points[3].high:.0f}" in text
    assert f"16 Feb 2026: {work.points[0].median:.0f} %" in text


def test_labels_come_from_msgids() -> None:
    labels = graph.labels_from(lambda msgid: f"<{msgid}>")
    assert labels.pain == "<prediction.graph.pain>" and labels.illustrative == "<prediction.graph.illustrative>"


# --- command line and a clinic's own cohort -----------------------------------------------------

def test_a_clinic_cohort_trains_unchanged_and_is_not_called_synthetic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["predictor", "generate", "--rows", str(ROWS), "--out", str(tmp_path / "generated.csv")]) == 0
    rows = list(csv.reader((tmp_path / "generated.csv").open(encoding="utf-8")))
    real = [row[1:] for row in rows]  # as if from a clinic: without the "synthetic" column
    assert rows[0][0] == "synthetic"
    write(tmp_path, real, "clinic.csv")
    assert cli(["predictor", "train", "--cohort", str(tmp_path / "clinic.csv"), "--out", str(tmp_path / "model")]) == 0
    out = capsys.readouterr().out
    assert "Trained on a patient cohort supplied by the operator" in out and "SYNTHETIC" not in out
    model = OutcomeModel.load(tmp_path / "model")
    assert model.card["data"]["kind"] == "cohort" and not model.card["data"]["synthetic"]
    assert predict(answers(), model).illustrative is False
    assert predict(answers(), model).notice_msgid is None


def test_generated_rows_keep_a_model_illustrative(tmp_path: Path) -> None:
    write_cohort_csv(generate(ROWS, 8), tmp_path / "generated.csv")
    assert train_from_csv(tmp_path / "generated.csv").illustrative


def test_the_cli_refuses_a_malformed_cohort_and_writes_nothing(tmp_path: Path, cohort_rows: List[List[str]],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    change(cohort_rows, 5, "pain_now", "eleven")
    path = write(tmp_path, cohort_rows)
    assert cli(["predictor", "train", "--cohort", str(path), "--out", str(tmp_path / "model")]) == 2
    assert "line 6, column pain_now: 'eleven' is not a number" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_the_cli_refuses_a_cohort_too_small_to_train(tmp_path: Path, cohort_rows: List[List[str]],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, cohort_rows)
    assert cli(["predictor", "train", "--cohort", str(path), "--out", str(tmp_path / "model")]) == 2
    assert re.search(r"\w+_6w \(training part of cohort.csv\): \d+ patients with this outcome; at least 100",
                     capsys.readouterr().err)


def test_synthetic_training_is_skipped_when_up_to_date(tmp_path: Path, model: OutcomeModel,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    model.save(tmp_path / "model")
    args = ["predictor", "train", "--synthetic", "--rows", str(ROWS), "--seed", str(SEED), "--out", str(tmp_path / "model")]
    assert cli(args) == 0
    assert "is up to date" in capsys.readouterr().out


# --- house rules ---------------------------------------------------------------------------------

def test_prediction_code_never_imports_rasa() -> None:
    for path in (PROJECT_ROOT / "bot" / "prediction").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] in ("rasa", "rasa_sdk")], path.name


def test_the_documented_schema_is_the_schema() -> None:
    doc = (PROJECT_ROOT / "docs" / "prediction.md").read_text(encoding="utf-8")
    section = doc.split("## The cohort CSV schema", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert documented == [c.name for c in COLUMNS]


def test_every_graph_label_has_a_msgid_in_every_catalog() -> None:
    from dataclasses import fields

    from bot.i18n.catalog import SUPPORTED_LANGUAGES, translate
    from bot.prediction.graph import LABEL_MSGIDS, GraphLabels, labels_from

    assert set(LABEL_MSGIDS) == {f.name for f in fields(GraphLabels)}
    for language in SUPPORTED_LANGUAGES:
        labels = labels_from(lambda msgid: translate(language, msgid))
        assert all(getattr(labels, name) for name in LABEL_MSGIDS)
