"""The comprehension benchmark as a floor (benchmarks/comprehension.py, tests/eval/answers/): no red
flag and no agree/disagree answer is ever read wrongly, and the share read correctly does not drop."""
from __future__ import annotations

from functools import lru_cache

from benchmarks.comprehension import LANGUAGES, load
from benchmarks.comprehension import measure as measure_once

measure = lru_cache(maxsize=1)(measure_once)

# Measured 2026-12 (see docs/conversation.md): 390 of 396 read correctly with the parsers (384 before);
# kept at 95% while the evaluation set grows; raise it when a larger set settles.
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
