"""The comprehension benchmark as a floor (benchmarks/comprehension.py, tests/eval/answers/): no red
flag and no agree/disagree answer is ever read wrongly, and the share read correctly does not drop."""
from __future__ import annotations

from functools import lru_cache

from benchmarks.comprehension import LANGUAGES, load
from benchmarks.comprehension import measure as measure_once

measure = lru_cache(maxsize=1)(measure_once)

# Measured 2026-12 (see docs/conversation.md): 384 of 396 read correctly; raise it when it improves.
FLOOR_CORRECT = 0.95


def test_every_language_has_answers_for_every_kind_of_question() -> None:
    for language in LANGUAGES:
        items = {item for item, _, _ in load(language)}
        assert {"consent", "pain_site", "episode_duration", "sbt_1", "sbt_9", "pain_now"} <= items, language
        assert any(item.startswith("rf_") for item in items), language


def test_red_flags_and_agree_disagree_are_never_read_wrongly() -> None:
    tallies = measure()
    wrong = {key: tally.wrong_examples for key, tally in tallies.items()
             if key[1] in ("red flag", "agree/disagree") and tally.wrong}
    assert wrong == {}


def test_the_share_read_correctly_keeps_its_floor() -> None:
    tallies = measure().values()
    correct, total = sum(t.correct for t in tallies), sum(t.total for t in tallies)
    assert correct / total >= FLOOR_CORRECT, f"{correct}/{total}"


# The evaluation set itself must be valid before any figure from it means anything (issue #13):
# every line names a real item of the triage and expects one of that item's own answers, or "ask".
MIN_ANSWERS_PER_LANGUAGE = 150
MIN_RED_FLAG_ANSWERS = 20
MIN_AGREE_DISAGREE_ANSWERS = 25


def _allowed(item_id: str, raw: object) -> bool:
    from benchmarks.comprehension import ASK
    from bot.questionnaires.flow import TriageFlow

    item = TriageFlow().item(item_id)
    if raw == ASK:
        return True
    if item.kind == "boolean":
        return isinstance(raw, bool)
    if item.kind == "integer":
        return isinstance(raw, int) and not isinstance(raw, bool) and item.minimum <= raw <= item.maximum
    return isinstance(raw, str) and raw in {option.code for option in item.options}


def test_every_line_of_the_evaluation_set_is_a_real_item_and_a_real_answer() -> None:
    from bot.questionnaires.flow import TriageFlow

    flow = TriageFlow()
    bad = []
    for language in LANGUAGES:
        for row in load(language):
            if len(row) != 3 or not isinstance(row[1], str) or not row[1].strip():
                bad.append(f"{language}: malformed {row!r}")
            elif not flow.is_item(row[0]):
                bad.append(f"{language}: no item {row[0]!r}")
            elif flow.item(row[0]).derived_from is not None:
                bad.append(f"{language}: {row[0]} is never asked (it follows from another answer)")
            elif not _allowed(row[0], row[2]):
                bad.append(f"{language}: {row!r} expects no answer {row[0]} has")
    assert bad == []


def test_every_language_has_enough_answers_and_no_line_twice() -> None:
    for language in LANGUAGES:
        rows = load(language)
        assert len(rows) >= MIN_ANSWERS_PER_LANGUAGE, f"{language}: {len(rows)}"
        keys = [(item, " ".join(text.lower().split())) for item, text, _ in rows]
        assert len(keys) == len(set(keys)), f"{language}: {[k for k in keys if keys.count(k) > 1]}"


def test_every_language_covers_every_red_flag_and_every_question_type() -> None:
    from bot.questionnaires.flow import TriageFlow

    flow = TriageFlow()
    red_flags = {item.id for item in flow.items if item.questionnaire == "red_flags"}
    needed = {"consent", "research_consent", "pain_site", "episode_duration", "sbt_9", "pain_now",
              "age_band", "previous_episodes", "work_status", "outlook_offer"}
    for language in LANGUAGES:
        rows = load(language)
        items = {item for item, _, _ in rows}
        assert red_flags <= items, f"{language}: {red_flags - items}"
        assert needed <= items, f"{language}: {needed - items}"
        assert any(item.startswith("fn_") for item in items), language
        assert any(item.startswith("msk_") for item in items), language
        flags = [item for item, _, _ in rows if item in red_flags]
        agree = [item for item, _, _ in rows
                 if {o.code for o in flow.item(item).options} == {"agree", "disagree"}]
        assert len(flags) >= MIN_RED_FLAG_ANSWERS, f"{language}: {len(flags)} red-flag answers"
        assert len(agree) >= MIN_AGREE_DISAGREE_ANSWERS, f"{language}: {len(agree)} agree/disagree answers"
        assert any(raw == "ask" for item, _, raw in rows if item in red_flags), language
