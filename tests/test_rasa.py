"""Rasa's own checks as part of the suite: the training data validates without warnings, and every
test story (tests/test_stories.yml) is predicted exactly, intents included."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bot.paths import PROJECT_ROOT
from bot.stack import venv_bin
from tests.stories import render

ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}


def test_story_file_is_generated_from_the_current_flow() -> None:
    assert (PROJECT_ROOT / "tests" / "test_stories.yml").read_text() == render(), (
        "run: python -m tests.stories > tests/test_stories.yml"
    )


def test_rasa_data_validates_without_warnings() -> None:
    result = subprocess.run(
        [venv_bin("rasa"), "data", "validate", "--fail-on-warnings"],
        cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_test_story_is_predicted(model: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [venv_bin("rasa"), "test", "core", "--model", str(model), "--stories", "tests/test_stories.yml",
         "--fail-on-prediction-errors", "--e2e", "--no-plot", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True,
    )
    failed = (tmp_path / "failed_test_stories.yml")
    report = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, report + result.stdout[-3000:] + result.stderr[-3000:]
    assert "None of the test stories failed" in report
