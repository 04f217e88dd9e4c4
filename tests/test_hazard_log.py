"""docs/clinical-safety/hazard-log.yml stays true: every test it names as proof of a control exists,
every hazard has at least one control with a test, the hazards the safety case must cover are there,
and each risk is the DCB0129 matrix's rating of its severity and likelihood."""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOG = yaml.safe_load((ROOT / "docs" / "clinical-safety" / "hazard-log.yml").read_text(encoding="utf-8"))
REQUIRED = {"missed red flag", "misread answer", "wrong risk group", "lost answers", "wrong-language content",
            "identifiable data leak", "forged button or intent", "stale care-plan link",
            "follow-up sent to someone who stopped", "clinician sees another clinic's patient", "service down silently"}


@lru_cache(maxsize=None)
def defined_tests(path: Path) -> FrozenSet[str]:
    """The test functions a pytest file defines at module level (what pytest collects as path::name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(node.name for node in tree.body
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"))


def rating(risk: Dict[str, Any]) -> int:
    return LOG["risk_matrix"][risk["likelihood"]][LOG["severities"].index(risk["severity"])]


def test_every_named_test_exists() -> None:
    missing = []
    for hazard in LOG["hazards"]:
        for control in hazard["controls"]:
            for node in control["tests"]:
                file, _, name = node.partition("::")
                path = ROOT / file
                if not (file.startswith("tests/") and path.is_file() and name in defined_tests(path)):
                    missing.append(f"{hazard['id']}: {node}")
    assert missing == []


def test_every_hazard_has_a_tested_control_and_the_required_hazards_are_covered() -> None:
    ids = [hazard["id"] for hazard in LOG["hazards"]]
    assert len(ids) == len(set(ids))
    for hazard in LOG["hazards"]:
        assert {"hazard", "cause", "effect", "initial", "controls", "residual"} <= set(hazard), hazard["id"]
        assert hazard["controls"] and all(c["control"].strip() and c["tests"] for c in hazard["controls"]), hazard["id"]
    assert REQUIRED <= {hazard["hazard"].lower() for hazard in LOG["hazards"]}


def test_risks_follow_the_matrix_and_controls_never_raise_a_risk() -> None:
    for hazard in LOG["hazards"]:
        for stage in ("initial", "residual"):
            assert hazard[stage]["risk"] == rating(hazard[stage]), f"{hazard['id']} {stage}"
        assert hazard["residual"]["risk"] <= hazard["initial"]["risk"], hazard["id"]
        assert hazard["residual"]["risk"] <= 3, f"{hazard['id']}: a residual risk above 3 is unacceptable"
