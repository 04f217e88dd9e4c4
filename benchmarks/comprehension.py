"""How well typed answers are understood: tests/eval/answers/<lang>.yml, per language and question type.

    .venv/bin/python -m benchmarks.comprehension

Each line of the evaluation set is a realistic answer to one item, written separately from the
parser's word lists, and what it means ("ask" where a careful person would ask again). Every answer
goes through the same reading as the conversation (``bot.questionnaires.interpret``, including the
duration parser and its clarifying question) and counts as

- read correctly: the right answer, or asked again (plainly or with a clarifying question) when
  the expected outcome is "ask";
- asked again: no answer taken, the patient is asked again (safe, costs a turn);
- read wrongly: an answer taken that is not what the patient meant. This must stay 0 for red
  flags and agree/disagree items (tests/test_comprehension.py keeps that, and a floor).

No server and no model: the NLU model plays no part in what an answer means (docs/conversation.md).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from bot.paths import PROJECT_ROOT
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.interpret import interpret
from bot.questionnaires.model import Item

EVAL_DIR = PROJECT_ROOT / "tests" / "eval" / "answers"
LANGUAGES = ("en", "de", "es", "fr", "it", "da", "sv", "nl", "pl", "pt", "hr", "nb")
ASK = "ask"


def question_type(item: Item) -> str:
    """The rows of the table: the kinds of question a patient answers in words."""
    if item.questionnaire == "red_flags":
        return "red flag"
    if item.kind == "boolean":
        return "yes/no"
    if item.kind == "integer":
        return "number"
    codes = {o.code for o in item.options}
    if codes == {"agree", "disagree"}:
        return "agree/disagree"
    return {"episode_duration": "duration", "sbt_9": "bothersomeness", "pain_site": "pain site",
            "age_band": "age", "previous_episodes": "frequency"}.get(item.id, "choice")


@dataclass
class Tally:
    correct: int = 0
    asked: int = 0
    wrong: int = 0
    wrong_examples: List[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.correct + self.asked + self.wrong

    def share(self, count: int) -> str:
        return f"{100 * count / self.total:.0f}%" if self.total else "-"


def expected_value(item: Item, raw: Any) -> Any:
    if raw == ASK:
        return ASK
    if item.kind == "boolean":
        return raw is True or str(raw).lower() == "true"
    if item.kind == "integer":
        return int(raw)
    return str(raw)


def load(language: str) -> List[Tuple[str, str, Any]]:
    return [tuple(row) for row in yaml.safe_load((EVAL_DIR / f"{language}.yml").read_text(encoding="utf-8"))]


def measure(flow: TriageFlow = TriageFlow()) -> Dict[Tuple[str, str], Tally]:
    """Tallies per (language, question type)."""
    tallies: Dict[Tuple[str, str], Tally] = defaultdict(Tally)
    for language in LANGUAGES:
        for item_id, text, raw in load(language):
            item = flow.item(item_id)
            expected, got = expected_value(item, raw), interpret(item, text, language)
            tally = tallies[(language, question_type(item))]
            if got is None:
                if expected == ASK:
                    tally.correct += 1
                else:
                    tally.asked += 1
            elif got == expected:
                tally.correct += 1
            else:
                tally.wrong += 1
                tally.wrong_examples.append(f"{language} {item_id}: {text!r} -> {got!r} (meant {raw!r})")
    return tallies


def table(tallies: Dict[Tuple[str, str], Tally]) -> str:
    types = sorted({kind for _, kind in tallies})
    lines = [f"{'language':<9}" + "".join(f"{kind:>22}" for kind in types) + f"{'all':>22}",
             f"{'':<9}" + "".join(f"{'right/again/wrong':>22}" for _ in types) + f"{'right/again/wrong':>22}"]
    for language in LANGUAGES:
        cells = []
        whole = Tally()
        for kind in types:
            tally = tallies.get((language, kind), Tally())
            whole.correct, whole.asked, whole.wrong = (whole.correct + tally.correct, whole.asked + tally.asked,
                                                       whole.wrong + tally.wrong)
            cells.append(f"{tally.correct}/{tally.asked}/{tally.wrong}" if tally.total else "-")
        lines.append(f"{language:<9}" + "".join(f"{c:>22}" for c in cells)
                     + f"{whole.share(whole.correct)}/{whole.share(whole.asked)}/{whole.share(whole.wrong)}".rjust(22))
    return "\n".join(lines)


def main() -> None:
    tallies = measure()
    print(table(tallies))
    wrong = [example for tally in tallies.values() for example in tally.wrong_examples]
    total = sum(t.total for t in tallies.values())
    print(f"\n{total} answers; read correctly {sum(t.correct for t in tallies.values())}, asked again "
          f"{sum(t.asked for t in tallies.values())}, read wrongly {len(wrong)}")
    for example in wrong:
        print("  wrong:", example)


if __name__ == "__main__":
    main()
