"""Scoring by the STarT MSK rules, read from data/questionnaires/start_msk.yml.

Published facts (Dunn KM et al. Eur J Pain 2021;25:2120-2131, doi 10.1002/ejp.1821): ten items, a
total of 0-12, risk groups low 0-4, medium 5-8, high 9-12. The points per answer live in the data
file next to the items (``scoring``) because the licensed scoring sheet, not this code, is their
authority: the file says ``scoring_verified: false`` until a licensed clinic has checked them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Mapping, Tuple

import yaml

from bot.paths import QUESTIONNAIRE_DIR
from bot.questionnaires.loader import load_questionnaire
from bot.questionnaires.model import Item
from bot.scoring.start_back import IncompleteAnswers, RiskGroup

MAX_SCORE = 12


@dataclass(frozen=True)
class StartMskResult:
    total: int
    group: RiskGroup


@lru_cache(maxsize=None)
def _instrument() -> Tuple[Tuple[Item, ...], Dict[str, Tuple[int, int]]]:
    path = QUESTIONNAIRE_DIR / "start_msk.yml"
    items = load_questionnaire(path).items
    raw_bands = yaml.safe_load(path.read_text(encoding="utf-8"))["bands"]
    bands = {group: tuple(int(n) for n in str(span).split("-")) for group, span in raw_bands.items()}
    return items, bands  # type: ignore[return-value]


def items() -> Tuple[Item, ...]:
    return _instrument()[0]


def risk_group(total: int) -> RiskGroup:
    """Dunn et al. 2021 bands: low 0-4, medium 5-8, high 9-12."""
    for group, (low, high) in _instrument()[1].items():
        if low <= total <= high:
            return group  # type: ignore[return-value]
    raise ValueError(f"STarT MSK total {total} is outside 0-{MAX_SCORE}")


def score(answers: Mapping[str, Any]) -> StartMskResult:
    """Score the ten items (derived ones included); raises IncompleteAnswers if any is missing."""
    missing = [i.id for i in items() if answers.get(i.id) is None]
    if missing:
        raise IncompleteAnswers(f"unanswered: {', '.join(missing)}")
    try:
        total = sum(item.points(answers[item.id]) for item in items())
    except KeyError as error:
        raise IncompleteAnswers(str(error)) from error
    return StartMskResult(total=total, group=risk_group(total))
