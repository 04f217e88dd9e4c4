"""The composed care plan survives being stored as JSON for its PDF to be rendered on first open."""
from __future__ import annotations

import json
from datetime import date

import pytest

from bot.careplan.compose import CarePlan, Outlook, compose
from bot.careplan.render import to_text
from bot.careplan.stored import plan_from_json, plan_to_json
from bot.prediction.sentences import OutlookTable
from bot.questionnaires.flow import TriageFlow
from bot.triage.service import TriageOutcome
from tests.test_result_delivery import LOW_BACK

FLOW = TriageFlow()


def plan(outlook: Outlook | None, language: str = "hr") -> CarePlan:
    outcome = TriageOutcome(kind="risk", reference_code="BT-7K3M9Q", risk_tool="start_back", risk_score=6,
                            risk_subscore=4, risk_group="high")
    return compose(outcome, LOW_BACK, language, created=date(2026, 11, 25), flow=FLOW, outlook=outlook)


@pytest.mark.parametrize("outlook", [
    None,
    Outlook(("Procjena",), b"\x89PNG\r\n\x1a\n\x00\xff", (OutlookTable("Bol", ("Kada", "Najvjerojatnije"),
                                                                   (("6 tj.", "4"), ("3 mj.", "3"))),),
            ("Ilustrativno.",), "Graf"),
    Outlook(("Nema procjene za vrat.",)),
])
def test_a_plan_comes_back_equal_with_every_nested_part(outlook: Outlook | None) -> None:
    original = plan(outlook)
    restored = plan_from_json(plan_to_json(original))
    assert restored == original and to_text(restored) == to_text(original)
    assert isinstance(restored.options, tuple) and all(type(e) is type(original.options[0]) for e in restored.options)


def test_an_unknown_format_is_refused_rather_than_misread() -> None:
    stored = json.loads(plan_to_json(plan(None)))
    stored["format"] = 99
    with pytest.raises(ValueError, match="format 99"):
        plan_from_json(json.dumps(stored))
