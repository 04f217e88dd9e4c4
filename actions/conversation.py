"""Everything around the form: why, go back, stop and resume, start over, the result, the fallback."""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Mapping, Text, Tuple

from babel.numbers import format_decimal
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    answers,
    button_code,
    flow,
    language_of,
    latest_intent,
    live_keyboard,
    result_delivery,
    send,
    send_language_picker,
    sent_code,
    service,
    typed_text,
)
from actions.followup import ActionFollowupConsent
from bot.followup.service import offer as followup_offer
from bot.i18n.answers import parse_yes_no
from bot.i18n.catalog import supported_language, translate
from bot.i18n.languages import named_language
from bot.triage import replies, summary
from bot.triage.summary import SUMMARY_STEP
from bot.triage.service import TriageOutcome

logger = logging.getLogger(__name__)

RESULT_SLOTS = ("risk_tool", "risk_score", "risk_group", "red_flag", "reference_code")
# The result (database writes, XGBoost, the graph, the PDF: 0.5-0.9 s of blocking work) runs here, off
# the action server's one event loop, so other patients' turns go on meanwhile. Two threads for two
# cores; the graph keeps its figures per thread (bot/prediction/graph.py), so they never share one.
RESULT_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="triage-result")


def _result(sender_id: str, so_far: Mapping[str, Any], language: str) -> Tuple[TriageOutcome, List[Dict[str, Any]]]:
    """Score and store the triage, then compose what the patient receives: blocking work."""
    outcome = service().finish(sender_id, so_far, language)
    messages = [*replies.outcome_messages(outcome, language), *result_delivery().deliver(outcome, so_far, language)]
    return outcome, messages


class ActionSetLanguage(Action):
    """An explicit language choice (a button, "/language", "auf Deutsch"): every answer is kept and
    the current item is asked again in the new language; an unknown language gets the buttons."""

    def name(self) -> Text:
        return "action_set_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        # Any supported code, offered or not: choosing a language answers nothing, and typed words
        # ("auf Deutsch bitte") may choose one at any time too.
        chosen = supported_language(sent_code(tracker, intent="language")) or (
            None if text.startswith("/") else named_language(text)
        )
        if chosen is None:
            send_language_picker(dispatcher)
            return []
        return [SlotSet("language", chosen)]


class ActionExplainItem(Action):
    """"Why do you ask?": a short reason; the form then asks the same item again."""

    def name(self) -> Text:
        return "action_explain_item"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        requested = tracker.get_slot("requested_slot")
        if requested and flow().is_item(requested):
            send(dispatcher, [replies.explanation(flow().item(requested), language_of(tracker))])
        return []


class ActionGoBack(Action):
    """"Go back": clear the previous item so the form asks it again and its answer is replaced."""

    def name(self) -> Text:
        return "action_go_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        current = tracker.get_slot("requested_slot")
        if current == SUMMARY_STEP:  # at the summary, "go back" is the last question
            given = summary.changeable(flow(), answers(tracker))
            previous = given[-1] if given else None
        else:
            previous = flow().previous_item(current, answers(tracker)) if current else None
        if previous is None:
            dispatcher.utter_message(text=translate(language, "go_back.first"))
            return []
        dispatcher.utter_message(text=translate(language, "go_back.previous"))
        return [SlotSet(previous.id, None), SlotSet("requested_slot", previous.id)]


class ActionChangeAnswer(Action):
    """"Change my answer about sleep", "go back to the pain question", or the summary's "Change
    something": the named (or tapped) answer is cleared so the form asks it next; every other
    answer stays, so afterwards the form goes on where the patient was (the next open question,
    or the summary). Unnamed or ambiguous: buttons to choose from; not yet asked: said so."""

    def name(self) -> Text:
        return "action_change_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        request = summary.resolve_change(flow(), answers(tracker), language,
                                         chosen=button_code(tracker, intent=summary.CHANGE_INTENT),
                                         text=typed_text(tracker), current=tracker.get_slot("requested_slot"))
        if request.item is not None:
            return [SlotSet(request.item.id, None), SlotSet("requested_slot", request.item.id)]
        if request.offer:
            send(dispatcher, [summary.chooser(request.offer, language)])
        elif request.message:
            dispatcher.utter_message(text=translate(language, request.message))
        return []


class ActionPause(Action):
    """"Stop": leave the form, keep every answer, and offer to resume on the next message."""

    def name(self) -> Text:
        return "action_pause"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=translate(language_of(tracker), "stop.paused"))
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("stage", "paused")]


class ActionResumeOrOffer(Action):
    """A message while paused: a plain "yes" resumes at once; anything else offers to carry on."""

    def name(self) -> Text:
        return "action_resume_or_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        text = str((tracker.latest_message or {}).get("text") or "")
        if latest_intent(tracker) == "answer" and parse_yes_no(text, language) is True:
            return [SlotSet("stage", "new")]
        dispatcher.utter_message(
            text=translate(language, "resume.offer"),
            buttons=[
                {"title": translate(language, "resume.button"), "payload": "/resume"},
                {"title": translate(language, "start_over.button"), "payload": "/start_over"},
            ],
        )
        return [SlotSet("stage", "paused")]


class ActionResume(Action):
    """Back into the triage; the form asks the first unanswered item."""

    def name(self) -> Text:
        return "action_resume"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return [SlotSet("stage", "new")]


class ActionConfirmStartOver(Action):
    """"Start over" (typed, a button, or Rasa's ``/restart``) asks first, with buttons, and says what
    would be lost: nothing is cleared on one message, which a classifier might have misread."""

    def name(self) -> Text:
        return "action_confirm_start_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        code = tracker.get_slot("reference_code")
        given = [i for i in flow().answered_on_path(answers(tracker)) if i.id not in summary.NOT_CHANGEABLE and not i.derived_from]
        if code:
            text = translate(language, "start_over.confirm_after_result", reference_code=code)
        elif given:
            text = translate(language, "start_over.confirm", count=format_decimal(len(given), locale=language))
        else:
            text = translate(language, "start_over.confirm_empty")
        dispatcher.utter_message(text=text, buttons=[
            {"title": translate(language, "start_over.yes"), "payload": replies.answer_payload("yes")},
            {"title": translate(language, "start_over.no"), "payload": replies.answer_payload("no")},
        ])
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("stage", "confirming")]


class ActionRestart(ActionConfirmStartOver):
    """Rasa's built-in ``/restart`` would wipe the tracker on one typed line; here it asks first."""

    def name(self) -> Text:
        return "action_restart"


class ActionBack(Action):
    """Rasa's built-in ``/back`` would silently undo the last turn; typed, it is noise like any other
    slash text: nothing happens here, and the form (or the fallback) asks the question again."""

    def name(self) -> Text:
        return "action_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return []


class ActionStartOver(Action):
    """The reply to "start over?": only a yes (the button, or a typed yes) clears the answers and
    starts a new triage (consent, research consent and language stay unless consent was declined); anything else
    keeps everything and goes back to where the patient was."""

    def name(self) -> Text:
        return "action_start_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        if not self.confirmed(tracker, language):
            dispatcher.utter_message(text=translate(language, "start_over.kept"))
            if tracker.get_slot("reference_code"):
                return [SlotSet("stage", "done")]
            return [SlotSet("stage", "declined" if tracker.get_slot("consent") is False else "new")]
        service().start_over(tracker.sender_id)
        # Consent and research consent are the patient's standing choices, not answers of this
        # triage: they stay (a declined consent does not, so the next triage asks again).
        keep_consent = tracker.get_slot("consent") is True
        cleared = [
            SlotSet(item.id, None)
            for item in flow().items
            if not (item.id in summary.NOT_CHANGEABLE and keep_consent)
        ]
        if keep_consent:
            dispatcher.utter_message(text=translate(language, "start_over.done"))
        return [
            *cleared,
            *(SlotSet(name, None) for name in RESULT_SLOTS),
            SlotSet(SUMMARY_STEP, None),
            SlotSet("requested_slot", None),
            SlotSet("stage", "new"),
        ]

    @staticmethod
    def confirmed(tracker: Tracker, language: str) -> bool:
        if latest_intent(tracker) != "answer":
            return False
        tapped = button_code(tracker)
        if tapped is not None:
            return tapped == "yes"
        # typed words only: a payload that was not on the live keyboard is no "yes"
        return parse_yes_no(typed_text(tracker) or "", language) is True


class ActionTriageResult(Action):
    """The form is complete: score it (or report the red flag), store it, tell the patient."""

    def name(self) -> Text:
        return "action_triage_result"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        so_far = answers(tracker)
        outcome, messages = await asyncio.get_running_loop().run_in_executor(
            RESULT_POOL, _result, tracker.sender_id, so_far, language)
        send(dispatcher, messages)
        if outcome.kind == "risk":  # not after a red flag: the urgent advice must stand alone
            send(dispatcher, [followup_offer(language)])
        if outcome.kind == "declined":
            return [SlotSet("stage", "declined")]
        events: List[EventType] = [
            SlotSet("stage", "done"),
            SlotSet("reference_code", outcome.reference_code),
            SlotSet("red_flag", outcome.red_flag),
        ]
        if outcome.kind == "risk":
            events += [
                SlotSet("risk_tool", outcome.risk_tool),
                SlotSet("risk_score", outcome.risk_score),
                SlotSet("risk_group", outcome.risk_group),
            ]
        return events


class ActionAfterEnd(Action):
    """Any message after the triage ended: remind of the code, or of how to begin."""

    def name(self) -> Text:
        return "action_after_end"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        language = language_of(tracker)
        offered = any(intent == "followup_consent" for intent, _ in live_keyboard(tracker))
        if offered and parse_yes_no(typed_text(tracker) or "", language) is not None:
            # Just asked "may BackTalk check in later?": a typed "yes" or "no" answers that
            # question (a tap arrives as its own intent); anything else gets the reminder below.
            return await ActionFollowupConsent().run(dispatcher, tracker, domain)
        code = tracker.get_slot("reference_code")
        if code:
            dispatcher.utter_message(text=translate(language, "done.again", reference_code=code))
        else:
            dispatcher.utter_message(text=translate(language, "declined.again"))
        return []


class ActionFallback(Action):
    """Nothing else fits (e.g. "go back" before anything was asked): say what works."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=translate(language_of(tracker), "fallback.default"))
        return []
