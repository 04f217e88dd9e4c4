"""STarT MSK scoring (Dunn et al. 2021: total 0-12; low 0-4, medium 5-8, high 9-12) and the neck path."""
from __future__ import annotations

from typing import Any, Dict

import pytest

from bot.config import Settings
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.loader import load_questionnaire
from bot.paths import QUESTIONNAIRE_DIR
from bot.scoring import start_msk
from bot.scoring.start_back import IncompleteAnswers
from bot.store.db import session_scope
from bot.store.repository import TriageRepository
from bot.triage.service import TriageService
from tests.conftest import random_sender

FLOW = TriageFlow()
BOOLEAN_ITEMS = tuple(f"msk_{n}" for n in range(2, 11))


def answers(pain: int = 0, yes: int = 0) -> Dict[str, Any]:
    """``yes`` of the nine yes/no items answered yes, in order."""
    values: Dict[str, Any] = {"msk_1": pain}
    values.update({item: index < yes for index, item in enumerate(BOOLEAN_ITEMS)})
    return values


@pytest.mark.parametrize("total, group", [(0, "low"), (4, "low"), (5, "medium"), (8, "medium"), (9, "high"),
                                          (12, "high")])
def test_published_bands(total: int, group: str) -> None:
    assert start_msk.risk_group(total) == group


@pytest.mark.parametrize("total", [-1, 13])
def test_a_total_outside_the_published_range_is_refused(total: int) -> None:
    with pytest.raises(ValueError):
        start_msk.risk_group(total)


@pytest.mark.parametrize("pain, yes, total, group", [
    (0, 0, 0, "low"),
    (4, 4, 4, "low"),       # pain 0-4 scores 0
    (5, 4, 5, "medium"),    # pain 5-6 scores 1
    (6, 7, 8, "medium"),
    (7, 6, 8, "medium"),    # pain 7-8 scores 2
    (8, 7, 9, "high"),
    (9, 6, 9, "high"),      # pain 9-10 scores 3
    (10, 9, 12, "high"),    # every item at its maximum
])
def test_worked_examples(pain: int, yes: int, total: int, group: str) -> None:
    result = start_msk.score(answers(pain, yes))
    assert (result.total, result.group) == (total, group)


def test_the_data_file_reaches_exactly_the_published_maximum_and_says_its_points_are_unverified() -> None:
    instrument = load_questionnaire(QUESTIONNAIRE_DIR / "start_msk.yml")
    assert [i.id for i in instrument.items] == [f"msk_{n}" for n in range(1, 11)]
    maximum = 0
    for item in instrument.items:
        values = (list(range(item.minimum, item.maximum + 1)) if item.kind == "integer"
                  else [True, False] if item.kind == "boolean" else [o.code for o in item.options])
        maximum += max(item.points(v) for v in values)
    assert maximum == start_msk.MAX_SCORE == 12
    assert instrument.validated_wording is False


def test_a_missing_item_is_never_scored_as_zero() -> None:
    incomplete = answers(5, 3)
    del incomplete["msk_7"]
    with pytest.raises(IncompleteAnswers, match="msk_7"):
        start_msk.score(incomplete)


@pytest.mark.parametrize("site, tool", [("neck", "start_msk"), ("both", "start_msk"), ("low_back", "start_back")])
def test_the_pain_site_picks_the_risk_tool(site: str, tool: str) -> None:
    path = [i.id for i in FLOW.required_items({"consent": True, "pain_site": site})]
    assert FLOW.risk_tool({"pain_site": site}) == tool
    assert any(i.startswith("msk_") for i in path) == (tool == "start_msk")
    assert any(i.startswith("sbt_") for i in path) == (tool == "start_back")


@pytest.mark.parametrize("duration, six_months_or_more", [
    ("under_1_month", False), ("3_to_6_months", False), ("6_months_to_3_years", True), ("over_3_years", True)])
def test_the_six_months_item_follows_from_the_episode_duration_and_is_never_asked(duration: str,
                                                                                six_months_or_more: bool) -> None:
    so_far = {"consent": True, "pain_site": "neck", "episode_duration": duration}
    assert FLOW.with_derived(so_far)["msk_10"] is six_months_or_more
    assert "msk_10" not in [i.id for i in FLOW.required_items(so_far)]


def test_answering_the_duration_stores_the_derived_item_on_the_neck_path_only(settings: Settings) -> None:
    service = TriageService(settings, FLOW)
    stored = {}
    for site in ("neck", "low_back"):
        sender = random_sender()
        service.accept_answer(sender, FLOW.item("consent"), True, "en")
        service.accept_answer(sender, FLOW.item("episode_duration"), "over_3_years", "en", pain_site=site)
        with session_scope(settings.database_url) as db:
            triage = TriageRepository(db).current(service.pseudonym(sender))
            stored[site] = {a.item_id: a.code for a in triage.answers}
    assert stored["neck"]["msk_10"] == "true"
    assert "msk_10" not in stored["low_back"]
