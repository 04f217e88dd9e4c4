"""Helpers the actions share: the service, the conversation's language, sending catalog messages."""
from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.i18n.catalog import SUPPORTED_LANGUAGES, normalise_language, supported_language, translate
from bot.i18n.detect import detect_language
from bot.i18n.languages import language_buttons
from bot.questionnaires.flow import TriageFlow
from bot.paths import PROJECT_ROOT
from bot.triage.result import ResultDelivery
from bot.triage.slots import SlotRule, slot_rules as rules_for
from bot.triage.service import TriageService, answers_from
from bot.triage.summary import is_change_payload

logger = logging.getLogger(__name__)



@lru_cache(maxsize=1)
def service() -> TriageService:
    return TriageService()


@lru_cache(maxsize=1)
def result_delivery() -> ResultDelivery:
    return ResultDelivery(service().config, service().flow)


def flow() -> TriageFlow:
    return service().flow


@lru_cache(maxsize=1)
def slot_rules() -> Dict[str, SlotRule]:
    """What each slot may hold (bot/triage/slots.py); the stage values come from domain.yml."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return rules_for(flow(), tuple(domain["slots"]["stage"]["values"]))


def hinted_language(tracker: Tracker) -> Optional[str]:
    """The channel's hint (Telegram language_code, browser navigator.language) if we speak it."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return supported_language(metadata.get("language"))


def language_of(tracker: Tracker) -> str:
    """The conversation's language for rendering: chosen or settled, else hinted, else default."""
    return normalise_language(tracker.get_slot("language") or hinted_language(tracker))


def settle_language(tracker: Tracker) -> Tuple[Optional[str], List[EventType]]:
    """The conversation's language, deciding it once: an explicit choice (already in the slot),
    else the channel's hint, else detection on the patient's free text. None when still unclear."""
    chosen = tracker.get_slot("language")
    if chosen:
        return chosen, []
    text = str((tracker.latest_message or {}).get("text") or "")
    language = hinted_language(tracker)
    if language is None and text and not text.startswith("/"):
        language = detect_language(text, SUPPORTED_LANGUAGES)
    return language, ([SlotSet("language", language)] if language else [])


def send_language_picker(dispatcher: CollectingDispatcher) -> None:
    """Ask for the language in all twelve, each button labelled in its own language."""
    prompt = "\n".join(dict.fromkeys(translate(code, "language.choose") for code in SUPPORTED_LANGUAGES))
    dispatcher.utter_message(text=prompt, buttons=language_buttons())


def clinic_hint(tracker: Tracker) -> Optional[str]:
    """The clinic code a channel passed with the message (the widget's data-clinic attribute)."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    code = metadata.get("clinic")
    return code if isinstance(code, str) and code else None


def typed_text(tracker: Tracker) -> Optional[str]:
    """The patient's message as typed (None for a tapped button, whose payload is no words of theirs)."""
    text = (tracker.latest_message or {}).get("text")
    return text if isinstance(text, str) and text and not text.startswith("/") else None


def channel_of(tracker: Tracker) -> Optional[str]:
    return (tracker.get_latest_input_channel() or None)


def answers(tracker: Tracker) -> Dict[str, Any]:
    return answers_from(tracker.slots, flow())


def send(dispatcher: CollectingDispatcher, messages: Iterable[Dict[str, Any]]) -> None:
    for message in messages:
        dispatcher.utter_message(text=message.get("text"), buttons=message.get("buttons") or [],
                                 image=message.get("image"), json_message=message.get("custom"))


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


_PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$", re.DOTALL)


def payload_code(payload: str) -> Optional[Tuple[str, str]]:
    """(intent, code) of a button payload such as ``/answer{"code":"yes"}``; None without a code."""
    match = _PAYLOAD.match(payload.strip())
    if match is None or not match.group(2):
        return None
    try:
        entities = json.loads(match.group(2))
    except ValueError:
        return None
    code = entities.get("code") if isinstance(entities, dict) else None
    return (match.group(1), str(code)) if code is not None else None


def live_keyboard(tracker: Tracker) -> List[Tuple[str, str]]:
    """(intent, code) of every coded button the bot sent between the patient's previous message and
    their latest one: the keyboard that was live when they tapped.

    Read from the tracker, which Rasa keeps in its tracker store (the project's database), so it is
    the same after bot.web, the Telegram channel, Rasa or the action server restarted; and it is what
    *this* conversation was offered, whatever channel it came through."""
    offered: List[Tuple[str, str]] = []
    seen_latest = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest:
                break
            seen_latest = True
        elif kind == "bot" and seen_latest:
            for button in (event.get("data") or {}).get("buttons") or []:
                coded = payload_code(str(button.get("payload", "")))
                if coded is not None:
                    offered.append(coded)
    return offered


def sent_code(tracker: Tracker, intent: str) -> Optional[str]:
    """The ``code`` entity of the latest message if it came as ``/intent{"code": ...}`` (tapped or typed)."""
    latest = tracker.latest_message or {}
    if latest_intent(tracker) != intent:
        return None
    code = next((e.get("value") for e in latest.get("entities", []) if e.get("entity") == "code"), None)
    return str(code) if code is not None else None


def button_code(tracker: Tracker, intent: str = "answer") -> Optional[str]:
    """The code a tapped button carried (payload ``/answer{"code": ...}``), if that is what came and
    the button was on the live keyboard (:func:`live_keyboard`). A payload for any other button (an
    old question's, another question's, one typed by hand) gives None: it is no answer."""
    code = sent_code(tracker, intent)
    if code is None or (intent, code) not in live_keyboard(tracker):
        return None
    return code


def refused_payload(tracker: Tracker) -> bool:
    """Whether the latest message is a payload (``/intent{...}``) that answers nothing: not a button
    of the live keyboard. Such a message is treated as an unclear reply, never read as words."""
    text = str((tracker.latest_message or {}).get("text") or "")
    if not text.startswith("/") or "{" not in text:
        return False
    intent = latest_intent(tracker) or ""
    return sent_code(tracker, intent) is None or button_code(tracker, intent) is None


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


def answer_buttons_sent_this_turn(tracker: Tracker) -> bool:
    """Whether answer buttons went out since the patient's latest message (a clarifying question
    from the validator, or the buttons to choose which answer to change): the form's ask action
    then adds no second question. (The language chooser's buttons are no answer: the question
    follows it.)"""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        buttons = (event.get("data") or {}).get("buttons") or [] if event.get("event") == "bot" else []
        if any(str(b.get("payload", "")).startswith("/answer") or is_change_payload(str(b.get("payload", "")))
               for b in buttons):
            return True
    return False
