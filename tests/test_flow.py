"""Skip and stop logic of the triage (bot.questionnaires.flow)."""
from __future__ import annotations

from typing import Any, Dict

import pytest

from bot.questionnaires.flow import TriageFlow

flow = TriageFlow()
BACK_FLAGS = ["rf_saddle_numbness", "rf_bladder_bowel", "rf_leg_weakness", "rf_trauma", "rf_cancer", "rf_fever"]
NECK_FLAGS = ["rf_bladder_bowel", "rf_cord_compression", "rf_neck_vascular", "rf_trauma", "rf_cancer", "rf_fever"]
SBT = [f"sbt_{n}" for n in range(1, 10)]
MSK_ASKED = [f"msk_{n}" for n in range(1, 10)]  # msk_10 follows from the episode duration
OUTLOOK = ["age_band", "sex", "previous_episodes", *(f"fn_{n}" for n in range(1, 7)), "recovery_expectation",
           "work_status"]


def ids(answers: Dict[str, Any]) -> list[str]:
    return [i.id for i in flow.required_items(answers)]


def test_nothing_but_consent_until_consent_is_given() -> None:
    assert ids({"consent": False}) == ["consent"]


@pytest.mark.parametrize(
    "site, flags",
    [("low_back", BACK_FLAGS), ("neck", NECK_FLAGS), ("both", sorted(set(BACK_FLAGS) | set(NECK_FLAGS)))],
)
def test_pain_site_picks_the_red_flags(site: str, flags: list[str]) -> None:
    required = ids({"consent": True, "research_consent": True, "pain_site": site})
    asked = [i for i in required if i.startswith("rf_")]
    assert sorted(asked) == sorted(flags)
    tool = SBT + ["pain_now", "outlook_offer"] if site == "low_back" else MSK_ASKED + ["pain_now"]
    assert required == ["consent", "research_consent", "pain_site", *asked, "episode_duration", *tool]


@pytest.mark.parametrize("work, extra", [("working", ["days_off", "work_expectation"]),
                                         ("off_work", ["days_off", "work_expectation"]), ("not_in_paid_work", [])])
def test_the_outlook_questions_come_only_after_a_yes_and_work_questions_only_in_paid_work(work: str,
                                                                                          extra: list[str]) -> None:
    answers = {"consent": True, "research_consent": True, "pain_site": "low_back"}
    assert ids({**answers, "outlook_offer": False})[-1] == "outlook_offer"
    required = ids({**answers, "outlook_offer": True, "work_status": work})
    assert required[required.index("outlook_offer") + 1:] == OUTLOOK + extra


def test_a_red_flag_ends_the_questionnaire_at_once() -> None:
    answers = {"consent": True, "research_consent": True, "pain_site": "low_back", "rf_saddle_numbness": False, "rf_bladder_bowel": True}
    assert ids(answers) == ["consent", "research_consent", "pain_site", "rf_saddle_numbness", "rf_bladder_bowel"]
    assert flow.red_flag(answers) == "rf_bladder_bowel"
    assert flow.next_item(answers) is None


def test_next_item_is_the_first_unanswered() -> None:
    answers = {"consent": True, "research_consent": True, "pain_site": "neck", "rf_bladder_bowel": False}
    assert flow.next_item(answers).id == "rf_cord_compression"


def test_go_back_walks_the_patients_own_path() -> None:
    answers = {"consent": True, "research_consent": True, "pain_site": "neck"}
    assert flow.previous_item("rf_cord_compression", answers).id == "rf_bladder_bowel"
    assert flow.previous_item("episode_duration", answers).id == "rf_fever"
    assert flow.previous_item("msk_1", answers).id == "episode_duration"
    assert flow.previous_item("msk_2", answers).id == "msk_1"
    assert flow.previous_item("pain_now", answers).id == "msk_9"  # msk_10 is never asked
    assert flow.previous_item("rf_bladder_bowel", answers).id == "pain_site"


def test_go_back_never_reopens_consent() -> None:
    assert flow.previous_item("pain_site", {"consent": True}) is None
    assert flow.previous_item("consent", {}) is None


def test_section_intros_show_only_when_moving_forward() -> None:
    answers = {"consent": True, "research_consent": True, "pain_site": "low_back"}
    assert flow.asked_after(None, "consent", {})                       # first message
    assert flow.asked_after("pain_site", "rf_saddle_numbness", answers)  # next item
    assert not flow.asked_after("rf_saddle_numbness", "rf_saddle_numbness", answers)  # asked again
    assert not flow.asked_after("rf_bladder_bowel", "rf_saddle_numbness", answers)    # went back


@pytest.mark.parametrize("language", ["en", "de", "es", "fr", "it", "da", "sv", "nl", "pl", "pt", "hr", "nb"])
def test_a_tapped_yes_or_no_button_means_yes_or_no_in_every_language(language: str) -> None:
    """Button codes are not words: "no" is not Polish for no, and Portuguese has neither."""
    from bot.questionnaires.interpret import interpret
    from bot.triage.replies import buttons_for, tapped_value

    item = flow.item("rf_trauma")
    codes = [b["payload"].split('"code":"')[1].rstrip('"}') for b in buttons_for(item, language)]
    assert [interpret(item, tapped_value(item, code), language) for code in codes] == [True, False]


def test_a_section_intro_comes_before_the_first_item_of_the_section_on_each_path() -> None:
    back = {"consent": True, "research_consent": True, "pain_site": "low_back"}
    neck = {"consent": True, "research_consent": True, "pain_site": "neck"}
    assert flow.intros("rf_saddle_numbness", back) == ["red_flags.intro"]
    assert flow.intros("rf_bladder_bowel", back) == []
    assert flow.intros("rf_bladder_bowel", neck) == ["red_flags.intro"]  # the neck path's first flag
    assert flow.intros("sbt_1", back) == ["start_back.intro"]
    assert flow.intros("msk_1", neck) == ["start_msk.intro"]
    assert flow.intros("fn_1", back) == ["function.intro"]
    assert flow.intros("consent", {}) == ["welcome.greeting", "welcome.privacy"]


def test_progress_counts_the_patients_own_path() -> None:
    back = {"consent": True, "pain_site": "low_back"}
    neck = {"consent": True, "pain_site": "neck"}
    back_path = [i.id for i in flow.required_items(back)]
    neck_path = [i.id for i in flow.required_items(neck)]
    assert flow.progress("consent", {}) == (1, len(back_path))  # the first site's path until one is chosen
    assert flow.progress("rf_bladder_bowel", back) == (back_path.index("rf_bladder_bowel") + 1, len(back_path))
    # consent, research consent, pain site, then the neck path's first flag (it skips saddle numbness)
    assert flow.progress("rf_bladder_bowel", neck) == (4, len(neck_path))
    with_outlook = {**back, "outlook_offer": True, "work_status": "working"}
    number, total = flow.progress("age_band", with_outlook)
    assert total == len(flow.required_items(with_outlook)) > len(back_path) and number == back_path.index("outlook_offer") + 2
    assert flow.progress("msk_1", back) is None  # not on this path


def test_the_question_carries_its_progress_in_its_own_message() -> None:
    from bot.triage.replies import question

    (message,) = question(flow.item("pain_site"), "de", progress=(2, 19))
    assert message["text"] == "Frage 2 von 19\nWo haben Sie Schmerzen?"
    assert [b["payload"] for b in message["buttons"]][-1].startswith("/answer")
    (first,) = question(flow.item("consent"), "fr", language_button=True)
    assert first["buttons"][-1] == {"title": "🌐 Autre langue", "payload": "/language"}
