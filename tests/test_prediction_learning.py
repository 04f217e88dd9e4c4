"""The learning loop (bot/prediction/learning.py): follow-up outcomes in the database become training
rows; below the minimum nothing is trained; the card reports held-out calibration and the switch-in
decision; a new model replaces the live one only when it is not worse on the same held-out
patients. On SQLite and PostgreSQL, with `backtalk demo-data`'s synthetic clinics."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main as cli_main
from bot.config import SECRET_NAMES, Settings
from bot.followup.demo import generate
from bot.prediction.estimator import BoosterSettings
from bot.prediction.learning import NotEnoughData, candidate_directory, learn, outcomes_near_time_points
from bot.prediction.metrics import pinball_loss, reliability_bins, tail_shares
from bot.prediction.schema import TIME_POINTS
from bot.questionnaires.flow import TriageFlow

FN_NO = {f"fn_{n}": "false" for n in range(1, 7)}


def test_an_answer_counts_only_near_its_time_point() -> None:
    """6 weeks is 42 days: an answer on day 44 counts, one on day 120 is too late for 3 months (91,
    up to 114) and too early for 6 months (182, from 136): no guessed outcome."""
    answered = [(44.0, {"pain_now": "3", **FN_NO, "work_status": "off_work"}),
                (120.0, {"pain_now": "1", **FN_NO, "work_status": "working"})]
    values = outcomes_near_time_points(TriageFlow(), answered, paid=True)
    assert (values["pain_6w"], values["function_6w"], values["off_work_6w"]) == (3.0, 0.0, 1.0)
    assert all(np.isnan(values[f"{name}_{t}"]) for name in ("pain", "function", "off_work") for t in ("3m", "6m"))
    outside_work = outcomes_near_time_points(TriageFlow(), answered[:1], paid=False)
    assert np.isnan(outside_work["off_work_6w"]) and outside_work["pain_6w"] == 3.0


def test_calibration_figures_on_known_numbers() -> None:
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0] * 3)
    p = np.linspace(0.05, 0.95, 30)
    bins = reliability_bins(y, p, bins=10)
    assert len(bins) == 3 and sum(b["n"] for b in bins) == 30  # 10 patients at least per group
    assert bins[0]["predicted"] == pytest.approx(np.mean(p[:10])) and bins[0]["observed"] == pytest.approx(0.7)
    # an interval from 2 to 4 misses the answer 1 entirely below and 6 above; 3 is inside
    below, above = tail_shares(np.array([1.0, 3.0, 6.0]), np.full(3, 2.0), np.full(3, 4.0))
    assert (below, above) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    quantiles = np.array([[1.0, 2.0, 3.0]])
    assert pinball_loss(np.array([2.0]), quantiles, (0.1, 0.5, 0.9)) == pytest.approx((0.1 + 0 + 0.1) / 3)


def test_learning_from_follow_ups_refuses_trains_switches_and_keeps(settings: Settings, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    live = tmp_path / "models" / "cohort"
    nothing = tmp_path / "no-model"
    for name in SECRET_NAMES:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKTALK_PREDICTION_MODEL", str(nothing))  # the bot has no live model yet
    monkeypatch.setenv("BACKTALK_DATA_DIR", str(tmp_path / "var"))

    # 1. Too few check-ins: refused with every short outcome named; nothing written.
    generate(settings.database_url, patients_per_clinic=40, seed=1)
    with pytest.raises(NotEnoughData) as refused:
        learn(settings.database_url, live=live)
    assert "pain_6w:" in str(refused.value) and "at least 100 needed" in str(refused.value)
    assert cli_main(["predictor", "train", "--from-database", "--out", str(live)]) == 2
    assert "nothing trained: not enough follow-up data" in capsys.readouterr().err
    assert not live.exists() and not candidate_directory(live).exists()

    # 2. Enough patients: trained, evaluated and calibrated on the held-out fifth, switched in (no live model).
    generate(settings.database_url, patients_per_clinic=560, seed=2)
    assert cli_main(["predictor", "train", "--from-database", "--out", str(live)]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "switched in: there is no usable live model" in printed and f"written to {live}" in printed
    assert f"BACKTALK_PREDICTION_MODEL={nothing} is set, so the bot keeps using that model" in captured.err
    card = json.loads((live / "manifest.json").read_text())["card"]
    assert card["data"]["kind"] == "database" and card["data"]["synthetic"] is True  # demo rows are synthetic
    assert card["data"]["holdout_rows"] + card["data"]["training_rows"] == card["data"]["rows"]
    assert abs(card["data"]["holdout_rows"] - card["data"]["rows"] / 5) <= 2
    for time in TIME_POINTS:
        for outcome in ("pain", "function"):
            m = card["metrics"][f"{outcome}_{time.key}"]
            assert 0.6 < m["coverage_80"] < 0.95
            assert m["below_10"] + m["above_90"] == pytest.approx(1 - m["coverage_80"])
            assert len(m["calibration_bins"]) == 10 and sum(b["n"] for b in m["calibration_bins"]) == m["n"]
        work = card["metrics"][f"off_work_{time.key}"]
        assert sum(b["n"] for b in work["calibration_bins"]) == work["n"] and 0 < work["brier"] < 0.25
    page = (live / "model_card.md").read_text()
    assert "## Calibration on the held-out patients" in page and "decision: **switched in**" in page
    first = (live / "manifest.json").read_bytes()

    # 3. The same data and seed again: the same model, so not worse than the live one: switched in.
    again = learn(settings.database_url, live=live)
    assert again.decision.switch and again.written == live
    assert json.loads(first)["card"]["model"]["created"] in again.decision.current
    assert "not worse than the live model" in again.decision.reasons[0]
    assert all(s["new"] == pytest.approx(s["current"]) for s in again.decision.scores.values())

    # 4. A much weaker model (two shallow trees) is worse on the same held-out patients: the live
    #    model stays byte for byte, the new one is kept beside it as a candidate whose card says why.
    live_before = (live / "manifest.json").read_bytes()
    weak = learn(settings.database_url, live=live,
                 settings=BoosterSettings(n_estimators=2, max_depth=1, learning_rate=0.05))
    assert not weak.decision.switch and weak.written == candidate_directory(live)
    assert "worse on the held-out patients" in weak.decision.reasons[0]
    assert (live / "manifest.json").read_bytes() == live_before
    candidate = (candidate_directory(live) / "model_card.md").read_text()
    assert "not switched in: the live model stays" in candidate and "against" in candidate
