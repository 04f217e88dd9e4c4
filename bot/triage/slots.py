"""What every Rasa slot may hold, derived from the questionnaire data and the scoring rules.

A patient (or anyone posting to the REST channel) can type ``/answer{"risk_group": "low"}``: Rasa
parses it as an intent at confidence 1.0 with entities. No slot has a ``from_entity`` mapping, so
entities set nothing by themselves; the item slots are filled from text only while the form asks that
item, and every value is checked by the form's validator. This table is the last word: the action
server drops any slot event whose value is not allowed here (actions/__main__.py), whichever action
or channel produced it, and tests check every slot of domain.yml has an entry.

``None`` (a cleared slot) is always allowed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, get_args

from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.questionnaires.flow import RISK_TOOLS, TriageFlow
from bot.triage.summary import SUMMARY_STEP
from bot.reference_code import is_reference_code
from bot.scoring import start_back, start_msk

RISK_GROUPS: Tuple[str, ...] = get_args(start_back.RiskGroup)  # STarT MSK uses the same groups
# the highest total of either instrument: STarT Back one point per item, STarT MSK from its data
MAX_RISK_SCORE = max(len(start_back.ITEMS), start_msk.MAX_SCORE)


@dataclass(frozen=True)
class SlotRule:
    """What one slot may hold: ``describe`` for people (docs, test ids), ``accepts`` for code."""

    describe: str
    accepts: Callable[[Any], bool]

    def allows(self, value: Any) -> bool:
        return value is None or self.accepts(value)


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def slot_rules(flow: TriageFlow, stages: Tuple[str, ...]) -> Dict[str, SlotRule]:
    """Every slot's rule. ``stages`` are the ``stage`` slot's categorical values from domain.yml."""
    rules: Dict[str, SlotRule] = {}
    for item in flow.items:
        if item.kind == "boolean":
            describe = "true or false"
        elif item.kind == "integer":
            describe = f"an integer {item.minimum}-{item.maximum}"
        else:
            describe = "one of " + ", ".join(o.code for o in item.options)
        rules[item.id] = SlotRule(describe, item.is_valid_value)
    red_flags = tuple(i.id for i in flow.items if i.questionnaire == "red_flags")
    steps = (*(i.id for i in flow.items), SUMMARY_STEP)
    rules.update({
        "requested_slot": SlotRule("an item id or the summary step", lambda v: v in steps),
        SUMMARY_STEP: SlotRule("true (the patient confirmed the summary of their answers)", lambda v: v is True),
        "language": SlotRule("a supported language code", lambda v: v in SUPPORTED_LANGUAGES),
        "stage": SlotRule("one of " + ", ".join(stages), lambda v: v in stages),
        "risk_tool": SlotRule("one of " + ", ".join(RISK_TOOLS), lambda v: v in RISK_TOOLS),
        "risk_score": SlotRule(f"an integer 0-{MAX_RISK_SCORE}", lambda v: _is_int(v, 0, MAX_RISK_SCORE)),
        "risk_group": SlotRule("one of " + ", ".join(RISK_GROUPS), lambda v: v in RISK_GROUPS),
        "red_flag": SlotRule("a red flag item id", lambda v: v in red_flags),
        "reference_code": SlotRule("BT-XXXX-XXXX", lambda v: isinstance(v, str) and is_reference_code(v)),
        "followup_id": SlotRule("a positive integer (a stored check-in)", lambda v: _is_int(v, 1, 2**63 - 1)),
    })
    return rules


def refused_slot_events(events: Any, rules: Mapping[str, SlotRule]) -> Tuple[list, list]:
    """(events to keep, slot events refused): a slot event is refused when its slot is unknown or
    its value is not allowed. Events that set no slot pass unchanged."""
    kept, refused = [], []
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("event") == "slot":
            rule: Optional[SlotRule] = rules.get(str(event.get("name")))
            if rule is None or not rule.allows(event.get("value")):
                refused.append(event)
                continue
        kept.append(event)
    return kept, refused
