"""Forged intents and slot values (unit level): no slot of domain.yml is filled from entities, every
slot has a rule of allowed values derived from the questionnaire data (bot/triage/slots.py) that the
action server enforces, and a payload counts as an answer only when the live keyboard offered it."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
import yaml
from rasa_sdk import Tracker

from actions.common import button_code, live_keyboard, payload_code, refused_payload, slot_rules
from bot.paths import PROJECT_ROOT
from bot.questionnaires.flow import RISK_TOOLS, TriageFlow
from bot.reference_code import new_reference_code
from bot.scoring import start_back, start_msk
from bot.triage import replies
from bot.triage.slots import refused_slot_events
from bot.triage.summary import SUMMARY_STEP

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
SLOTS = sorted(DOMAIN["slots"])
FLOW = TriageFlow()
RULES = slot_rules()
NOT_ALLOWED_ANYWHERE = ["forged", 10**6, -1, {"code": "yes"}, ["low"], 3.5, ""]


def allowed_examples(slot: str) -> List[Any]:
    """Values the slot may hold, taken from the data (never a list written here)."""
    if FLOW.is_item(slot):
        item = FLOW.item(slot)
        if item.kind == "boolean":
            return [True, False]
        if item.kind == "integer":
            return [item.minimum, item.maximum]
        return [o.code for o in item.options]
    return {
        "language": ["en", "pl", "nb"],
        "stage": list(DOMAIN["slots"]["stage"]["values"]),
        "risk_tool": list(RISK_TOOLS),
        "risk_score": [0, max(len(start_back.ITEMS), start_msk.MAX_SCORE)],
        "risk_group": ["low", "medium", "high"],
        "red_flag": [i.id for i in FLOW.items if i.questionnaire == "red_flags"],
        "reference_code": [new_reference_code()],
        "followup_id": [1, 42],
        "requested_slot": [*(i.id for i in FLOW.items), SUMMARY_STEP],
        SUMMARY_STEP: [True],
    }[slot]


def refused_examples(slot: str) -> List[Any]:
    """Values the slot must refuse: the generic ones, plus near misses for the slot's own kind."""
    examples = list(NOT_ALLOWED_ANYWHERE)
    if FLOW.is_item(slot):
        item = FLOW.item(slot)
        if item.kind == "integer":
            examples += [item.minimum - 1, item.maximum + 1, True, str(item.minimum)]
        elif item.kind == "boolean":
            examples += ["true", "yes", 1, 0]
        else:
            examples += ["low", True, item.options[0].code.upper()]
    elif slot == SUMMARY_STEP:  # confirmed, or not yet (None): "no" is no value it holds
        examples += [False, "yes", 1]
    elif slot == "followup_id":  # any stored check-in's id is allowed: a big number is one
        examples = [v for v in examples if v != 10**6] + [0, "1", True]
    else:
        examples += [True]
    return examples


@pytest.mark.parametrize("slot", SLOTS)
def test_no_slot_is_filled_from_an_entity(slot: str) -> None:
    """Rasa 3 fills a slot from an entity only through a from_entity mapping: with none, a typed
    /answer{"risk_group": "low"} sets nothing by itself."""
    mappings = DOMAIN["slots"][slot].get("mappings") or []
    assert mappings, slot
    assert all(m["type"] in ("from_text", "custom") for m in mappings), mappings
    for mapping in mappings:
        if mapping["type"] == "from_text":  # only the item the form asks, while it asks it
            assert mapping["conditions"] == [{"active_loop": "triage_form", "requested_slot": slot}]


@pytest.mark.parametrize("slot", SLOTS)
def test_every_slot_accepts_only_its_allowed_values(slot: str) -> None:
    rule = RULES[slot]  # KeyError: a slot without a rule
    for value in allowed_examples(slot):
        assert rule.allows(value), (slot, value, rule.describe)
    for value in refused_examples(slot):
        assert not rule.allows(value), (slot, value, rule.describe)
    assert rule.allows(None)  # clearing is always allowed


@pytest.mark.parametrize("slot", SLOTS)
def test_the_action_server_drops_a_forged_slot_event(slot: str) -> None:
    good = {"event": "slot", "name": slot, "value": allowed_examples(slot)[0], "timestamp": None}
    forged = {"event": "slot", "name": slot, "value": refused_examples(slot)[0], "timestamp": None}
    other = {"event": "active_loop", "name": None}
    kept, refused = refused_slot_events([good, forged, other], RULES)
    assert kept == [good, other] and refused == [forged]


def test_a_slot_unknown_to_the_domain_is_refused() -> None:
    event = {"event": "slot", "name": "is_admin", "value": True}
    assert refused_slot_events([event], RULES) == ([], [event])


def tracker(events: List[Dict[str, Any]]) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker("s1", {}, latest.get("parse_data", {}) | {"text": latest["text"]}, events, False, None, None, "")


def user(text: str, intent: str = "answer", **entities: Any) -> Dict[str, Any]:
    parse = {"intent": {"name": intent, "confidence": 1.0},
             "entities": [{"entity": k, "value": v} for k, v in entities.items()]}
    return {"event": "user", "text": text, "parse_data": parse}


def asked(item_id: str) -> Dict[str, Any]:
    return {"event": "bot", "text": item_id, "data": {"buttons": replies.buttons_for(FLOW.item(item_id), "en")}}


def test_payload_code_reads_intent_and_code() -> None:
    assert payload_code('/answer{"code":"yes"}') == ("answer", "yes")
    assert payload_code('/followup_consent{"code": "no"}') == ("followup_consent", "no")
    assert payload_code("/resume") is None and payload_code('/answer{"risk_group":"low"}') is None
    assert payload_code("/answer{not json") is None


def test_an_offered_payload_is_a_tap_and_another_questions_is_not() -> None:
    before = [user("hi", "answer"), asked("pain_site"), user('/answer{"code":"neck"}', code="neck"),
              asked("rf_saddle_numbness")]
    offered = tracker(before + [user('/answer{"code":"yes"}', code="yes")])
    assert ("answer", "yes") in live_keyboard(offered)
    assert ("answer", "neck") not in live_keyboard(offered)  # the previous question's keyboard
    assert button_code(offered) == "yes" and not refused_payload(offered)
    other = tracker(before + [user('/answer{"code":"low_back"}', code="low_back")])
    assert button_code(other) is None and refused_payload(other)
    forged = tracker(before + [user('/answer{"risk_group":"low"}', risk_group="low")])
    assert button_code(forged) is None and refused_payload(forged)
    typed = tracker(before + [user("yes I have")])
    assert button_code(typed) is None and not refused_payload(typed)  # words are read as usual


def test_nothing_offered_means_no_tap_counts() -> None:
    """A conversation's first message, or one after a reply without buttons: no payload answers."""
    first = tracker([user('/answer{"code":"yes"}', code="yes")])
    assert live_keyboard(first) == [] and button_code(first) is None and refused_payload(first)


def test_the_action_servers_reply_loses_only_the_forbidden_slot_events() -> None:
    from actions.__main__ import without_forbidden_slot_values

    events = [{"event": "slot", "name": "risk_group", "value": "low"},
              {"event": "slot", "name": "risk_score", "value": 99},
              {"event": "slot", "name": "consent", "value": "yes please"}]
    body = {"events": events, "responses": [{"text": "hello"}]}
    assert without_forbidden_slot_values(json.dumps(body).encode()) == {"events": events[:1], "responses": [{"text": "hello"}]}
    assert without_forbidden_slot_values(json.dumps({"events": events[:1], "responses": []}).encode()) is None
    assert without_forbidden_slot_values(b"[]") is None
