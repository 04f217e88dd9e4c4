"""STarT Back scoring rules (facts, implemented exactly).

Source: Hill JC, Dunn KM, Lewis M, et al. A primary care back pain screening tool: identifying
patient subgroups for initial treatment. Arthritis Rheum 2008;59(5):632-641; scoring guide at
keele.ac.uk/sbst/usingscoringthesbst/.

- Items 1-8: "agree" scores 1, "disagree" 0.
- Item 9 (bothersomeness): "very much" or "extremely" score 1, the other three levels 0.
- Total score 0-9; psychosocial subscale = items 5-9 (0-5).
- Total 0-3 -> low risk; total >= 4 and subscale <= 3 -> medium; subscale >= 4 -> high.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

RiskGroup = Literal["low", "medium", "high"]

ITEMS = tuple(f"sbt_{n}" for n in range(1, 10))
SUBSCALE_ITEMS = tuple(f"sbt_{n}" for n in range(5, 10))
BOTHERSOME_SCORING = {"not_at_all": 0, "slightly": 0, "moderately": 0, "very_much": 1, "extremely": 1}
AGREE_SCORING = {"agree": 1, "disagree": 0}


class IncompleteAnswers(ValueError):
    """Scoring needs every item answered with a known code; a guess would mislead a clinician."""


@dataclass(frozen=True)
class StartBackResult:
    total: int
    subscale: int
    group: RiskGroup


def item_score(item_id: str, code: str) -> int:
    table = BOTHERSOME_SCORING if item_id == "sbt_9" else AGREE_SCORING
    if code not in table:
        raise IncompleteAnswers(f"{item_id}: unknown answer code {code!r}")
    return table[code]


def risk_group(total: int, subscale: int) -> RiskGroup:
    """Hill et al. 2008 cut-offs."""
    if total <= 3:
        return "low"
    if subscale >= 4:
        return "high"
    return "medium"


def score(answers: Mapping[str, str]) -> StartBackResult:
    """Score the nine items; raises IncompleteAnswers if any is missing or unknown."""
    missing = [i for i in ITEMS if answers.get(i) is None]
    if missing:
        raise IncompleteAnswers(f"unanswered: {', '.join(missing)}")
    scores = {i: item_score(i, answers[i]) for i in ITEMS}
    total = sum(scores.values())
    subscale = sum(scores[i] for i in SUBSCALE_ITEMS)
    return StartBackResult(total=total, subscale=subscale, group=risk_group(total, subscale))
