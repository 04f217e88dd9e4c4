"""STarT Back scoring against worked examples at every cut-off (Hill et al. 2008)."""
from __future__ import annotations

from typing import Dict

import pytest
from hypothesis import given, strategies as st

from bot.scoring.start_back import IncompleteAnswers, risk_group, score

LEVELS = ["not_at_all", "slightly", "moderately", "very_much", "extremely"]


def answers(agree: set[int], bother: str = "not_at_all") -> Dict[str, str]:
    result = {f"sbt_{n}": ("agree" if n in agree else "disagree") for n in range(1, 9)}
    result["sbt_9"] = bother
    return result


@pytest.mark.parametrize(
    "agree, bother, total, subscale, group",
    [
        (set(), "not_at_all", 0, 0, "low"),
        ({1, 2, 3}, "moderately", 3, 0, "low"),            # total 3: the top of low
        ({1, 2, 3, 4}, "slightly", 4, 0, "medium"),         # total 4: medium
        ({1, 2, 5}, "very_much", 4, 2, "medium"),           # item 9 counts towards the total
        ({5, 6, 7}, "moderately", 3, 3, "low"),             # subscale 3 but total 3: low
        ({1, 5, 6, 7}, "slightly", 4, 3, "medium"),         # subscale 3, total 4: medium
        ({5, 6, 7, 8}, "not_at_all", 4, 4, "high"),         # subscale 4: high
        ({5, 6, 7}, "extremely", 4, 4, "high"),             # "extremely" scores 1
        ({1, 2, 3, 4, 5, 6, 7, 8}, "extremely", 9, 5, "high"),
        ({1, 2, 3, 4, 5, 6, 7}, "moderately", 7, 3, "medium"),  # high total, low subscale
    ],
)
def test_worked_examples(agree: set[int], bother: str, total: int, subscale: int, group: str) -> None:
    result = score(answers(agree, bother))
    assert (result.total, result.subscale, result.group) == (total, subscale, group)


@pytest.mark.parametrize("bother, points", zip(LEVELS, [0, 0, 0, 1, 1]))
def test_item_9_levels(bother: str, points: int) -> None:
    assert score(answers(set(), bother)).total == points


def test_missing_or_unknown_answers_are_refused() -> None:
    incomplete = answers({1})
    del incomplete["sbt_4"]
    with pytest.raises(IncompleteAnswers):
        score(incomplete)
    with pytest.raises(IncompleteAnswers):
        score({**answers({1}), "sbt_2": "maybe"})


@pytest.mark.parametrize(
    "total, subscale, group",
    [(0, 0, "low"), (3, 3, "low"), (4, 0, "medium"), (4, 3, "medium"), (4, 4, "high"), (9, 5, "high")],
)
def test_cut_offs(total: int, subscale: int, group: str) -> None:
    assert risk_group(total, subscale) == group


RANK = {"low": 0, "medium": 1, "high": 2}
answer_sets = st.fixed_dictionaries(
    {**{f"sbt_{n}": st.sampled_from(["agree", "disagree"]) for n in range(1, 9)}, "sbt_9": st.sampled_from(LEVELS)}
)


@given(answer_sets, st.integers(min_value=1, max_value=9))
def test_risk_never_drops_when_an_answer_moves_towards_agree(base: Dict[str, str], item: int) -> None:
    worse = dict(base)
    if item == 9:
        worse["sbt_9"] = LEVELS[min(LEVELS.index(base["sbt_9"]) + 1, len(LEVELS) - 1)]
    else:
        worse[f"sbt_{item}"] = "agree"
    before, after = score(base), score(worse)
    assert after.total >= before.total
    assert RANK[after.group] >= RANK[before.group]
