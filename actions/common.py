"""Helpers the actions share: the service, the conversation's language, sending catalog messages."""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict, Iterable, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.i18n.catalog import normalise_language
from bot.questionnaires.flow import TriageFlow
from bot.triage.service import TriageService, answers_from

logger = logging.getLogger(__name__)

FORM = "triage_form"
YES_NO_INTENTS = {"affirm": True, "deny": False}
MIN_INTENT_CONFIDENCE = 0.8


@lru_cache(maxsize=1)
def service() -> TriageService:
    return TriageService()


def flow() -> TriageFlow:
    return service().flow


def language_of(tracker: Tracker) -> str:
    """The conversation's language: its slot, else the channel's hint, else the default."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return normalise_language(tracker.get_slot("language") or metadata.get("language"))


def channel_of(tracker: Tracker) -> Optional[str]:
    return (tracker.get_latest_input_channel() or None)


def answers(tracker: Tracker) -> Dict[str, Any]:
    return answers_from(tracker.slots, flow())


def send(dispatcher: CollectingDispatcher, messages: Iterable[Dict[str, Any]]) -> None:
    for message in messages:
        dispatcher.utter_message(text=message.get("text"), buttons=message.get("buttons") or [])


def button_code(tracker: Tracker) -> Optional[str]:
    """The option code of a tapped button (payload ``/inform{"code": ...}``), if that is what came."""
    latest = tracker.latest_message or {}
    if (latest.get("intent") or {}).get("name") != "inform":
        return None
    return next((e.get("value") for e in latest.get("entities", []) if e.get("entity") == "code"), None)


def yes_no_hint(tracker: Tracker) -> Optional[bool]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    if intent.get("confidence", 0) >= MIN_INTENT_CONFIDENCE:
        return YES_NO_INTENTS.get(intent.get("name"))
    return None


def requested_before_latest_message(tracker: Tracker) -> Optional[str]:
    """Which item was being asked when the patient sent their latest message."""
    requested: Optional[str] = None
    value_at_message: Optional[str] = None
    for event in tracker.events:
        if event.get("event") == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif event.get("event") == "user":
            value_at_message = requested
    return value_at_message
