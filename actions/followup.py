"""Follow-ups: the "may BackTalk check in later?" answer, opening a check-in (Telegram /followup or
the web return link), answering it, pausing it, and stopping all check-ins. Thin adapters to
bot.followup.service."""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import button_code, language_of, latest_intent, send, service, typed_text
from bot.followup.service import FollowUpService, offer as followup_offer
from bot.i18n.answers import parse_yes_no
from bot.i18n.catalog import translate

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def followups() -> FollowUpService:
    return FollowUpService(service().config)


def entity(tracker: Tracker, name: str) -> Optional[str]:
    latest = tracker.latest_message or {}
    return next((str(e.get("value")) for e in latest.get("entities", []) if e.get("entity") == name), None)


class ActionFollowupConsent(Action):
    """The patient tapped yes or no to "may BackTalk check in later?" after the result."""

    def name(self) -> Text:
        return "action_followup_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        code = button_code(tracker, intent="followup_consent")
        agreed = code == "yes" if code is not None else parse_yes_no(typed_text(tracker) or "", language)
        if agreed is None:  # typed, and neither yes nor no: ask again
            send(dispatcher, [followup_offer(language)])
            return []
        send(dispatcher, followups().consent(tracker.sender_id, agreed, language))
        return []


class ActionFollowupOpen(Action):
    """Open the patient's check-in: by the return code the widget passes, else by this conversation."""

    def name(self) -> Text:
        return "action_followup_open"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        turn = followups().open(tracker.sender_id, entity(tracker, "token"), tracker.get_slot("language"))
        send(dispatcher, turn.messages)
        if turn.followup_id is None:
            return []
        return [SlotSet("followup_id", turn.followup_id), SlotSet("stage", "followup"),
                SlotSet("language", turn.language)]


class ActionFollowupAnswer(Action):
    """A message during a check-in: "why?" explains the question, anything else answers it."""

    def name(self) -> Text:
        return "action_followup_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        followup_id = tracker.get_slot("followup_id")
        if latest_intent(tracker) == "ask_why":
            turn = followups().explain(followup_id, language)
        else:
            tapped = button_code(tracker)
            value: Any = tapped if tapped is not None else typed_text(tracker)
            turn = followups().answer(followup_id, value, language, tapped=tapped is not None)
        send(dispatcher, turn.messages)
        if turn.followup_id is None:
            return [SlotSet("followup_id", None), SlotSet("stage", "done")]
        return []


class ActionFollowupPause(Action):
    """"Stop" during a check-in: the answers so far are kept; /followup or the link carries on."""

    def name(self) -> Text:
        return "action_followup_pause"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=translate(language_of(tracker), "followup.paused"))
        return [SlotSet("followup_id", None), SlotSet("stage", "done")]


class ActionStopFollowups(Action):
    """"No more messages": ask to confirm (buttons), then stop every check-in of this conversation."""

    def name(self) -> Text:
        return "action_stop_followups"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        answer = button_code(tracker, intent="stop_followups")
        send(dispatcher, followups().stop(tracker.sender_id, tracker.get_slot("followup_id"), answer, language))
        if answer == "yes" and tracker.get_slot("stage") == "followup":  # a triage in progress goes on
            return [SlotSet("followup_id", None), SlotSet("stage", "done")]
        return []
