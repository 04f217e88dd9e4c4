"""The triage form: which item comes next, validating each answer, and asking each item."""
from __future__ import annotations

import logging
from functools import partial
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    answers,
    button_code,
    answer_buttons_sent_this_turn,
    channel_of,
    clinic_hint,
    flow,
    language_of,
    latest_intent,
    refused_payload,
    requested_before_latest_message,
    send,
    send_language_picker,
    service,
    settle_language,
    typed_text,
)
from bot.i18n.catalog import translate
from bot.i18n.answers import parse_yes_no
from bot.questionnaires.interpret import candidates
from bot.questionnaires.model import Item
from bot.triage import replies, summary
from bot.triage.summary import SUMMARY_STEP

logger = logging.getLogger(__name__)


class ValidateTriageForm(FormValidationAction):
    """``validate_<item id>`` exists for every questionnaire item (resolved from the data files) and
    returns ``{item: None}`` to have the item asked again."""

    def name(self) -> Text:
        return "validate_triage_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        so_far = answers(tracker)
        steps = [item.id for item in flow().required_items(so_far)]
        return steps + [SUMMARY_STEP] if summary.has_summary(flow(), so_far) else steps

    def __getattr__(self, name: str) -> Any:
        prefix = "validate_"
        if name.startswith(prefix) and flow().is_item(name[len(prefix):]):
            return partial(self.validate_item, flow().item(name[len(prefix):]))
        raise AttributeError(name)

    def validate_item(
        self,
        item: Item,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        if value is None:  # cleared by "go back" or "start over": nothing to check
            return {item.id: None}
        language, _ = settle_language(tracker)
        if language is None:  # no language yet: the form asks again, with the language buttons
            return {item.id: None}
        if tracker.get_slot("language") is None:
            # The patient saw the language chooser, not this question: their message settled the
            # language and is not an answer. The form now asks the question, with nothing refused.
            return {item.id: None, "language": language}
        if requested_before_latest_message(tracker) != item.id:
            # A stored answer the form re-checks when it starts again (after "start over?" → no,
            # or a resumed pause): the latest message answered something else, so it must not be
            # read into this item (a tapped "No, keep my answers" is no "no" to consent).
            return {item.id: value if item.is_valid_value(value) else None}
        if refused_payload(tracker):
            # A payload not on the live keyboard (another question's button, an old one, or typed
            # "/answer{...}" with made-up entities) answers nothing: asked again, kindly.
            send(dispatcher, [replies.hint(item, language)])
            return {item.id: None, "language": language}
        tapped = button_code(tracker)
        try:
            canonical = service().accept_answer(
                tracker.sender_id,
                item,
                replies.tapped_value(item, tapped) if tapped is not None else value,
                language,
                channel=channel_of(tracker),
                pain_site=tracker.get_slot("pain_site"),
                clinic_code=clinic_hint(tracker),
                typed=typed_text(tracker) if tapped is None else None,
                research_consent=research if isinstance(research := tracker.get_slot("research_consent"), bool) else None,
            )
        except Exception:  # storage down: keep the conversation alive and ask again
            logger.exception("could not store the answer to %s", item.id)
            send(dispatcher, [{"text": translate(language, "error.try_again")}])
            return {item.id: None}
        if canonical is None:
            options = candidates(item, value, language) if tapped is None else []
            send(dispatcher, [replies.clarification(item, options, language) if options else replies.hint(item, language)])
            return {item.id: None, "language": language}
        # Items that follow from this answer (STarT MSK's duration item) are set with it.
        derived = flow().derived_by(item.id, canonical, answers(tracker))
        dropped = self.drop_answers_off_the_path(
            tracker, dispatcher, {**answers(tracker), item.id: canonical, **derived}, language)
        return {item.id: canonical, **derived, **dropped, "language": language}

    @staticmethod
    def drop_answers_off_the_path(tracker: Tracker, dispatcher: CollectingDispatcher,
                                  so_far: Dict[str, Any], language: str) -> Dict[str, None]:
        """A changed answer that moves the patient onto another path (another pain site, "no" to
        the outlook) drops the answers no longer on it, and says which; every other answer stays.
        (Not before urgent advice: a red flag's advice comes at once and alone.)"""
        gone = flow().off_path(so_far)
        if not gone:
            return {}
        try:
            service().forget_answers(tracker.sender_id, [i.id for i in gone])
        except Exception:  # storage down: the slots are cleared all the same, finish() never stores them
            logger.exception("could not forget answers %s", [i.id for i in gone])
        told = [i for i in gone if i.derived_from is None]
        if told and flow().red_flag(so_far) is None:
            send(dispatcher, [summary.dropped_message(told, language)])
        return {i.id: None for i in gone}

    def validate_summary_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """"That's right" (the button, or a typed yes) lets the result follow; a typed no offers
        the answers to change; anything else shows the summary again."""
        if value is None:
            return {SUMMARY_STEP: None}
        if requested_before_latest_message(tracker) != SUMMARY_STEP:
            return {SUMMARY_STEP: True if value is True else None}
        language = language_of(tracker)
        tapped = button_code(tracker)
        said = {"yes": True, "no": False}.get(tapped) if tapped is not None else parse_yes_no(str(value), language)
        if said is True:
            return {SUMMARY_STEP: True}
        if said is False:
            send(dispatcher, [summary.chooser(summary.changeable(flow(), answers(tracker)), language)])
        return {SUMMARY_STEP: None}


class AskItem(Action):
    """Asks one item; one subclass per item, named ``action_ask_<item id>`` as Rasa forms expect."""

    item_id: Text = ""

    def name(self) -> Text:
        return f"action_ask_{self.item_id}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        item = flow().item(self.item_id)
        if answer_buttons_sent_this_turn(tracker):  # a clarifying question already offers the answers
            return []
        language, events = settle_language(tracker)
        if language is None:  # no hint and the text was unclear: let the patient choose
            send_language_picker(dispatcher)
            return []
        # Intros belong to moving forward, or to the first question in a newly chosen language.
        so_far = answers(tracker)
        with_intro = latest_intent(tracker) == "language" or flow().asked_after(
            requested_before_latest_message(tracker), item.id, so_far
        )
        intros = flow().intros(item.id, so_far) if with_intro else []
        first = flow().required_items(so_far)[0].id == item.id
        send(dispatcher, replies.question(item, language, intros, language_button=first,
                                          progress=flow().progress(item.id, so_far)))
        return events


class AskSummary(Action):
    """The form's last step: the answers in one message, "That's right" / "Change something"."""

    def name(self) -> Text:
        return f"action_ask_{SUMMARY_STEP}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if answer_buttons_sent_this_turn(tracker):  # the buttons to choose an answer are showing
            return []
        send(dispatcher, [summary.summary(flow(), answers(tracker), language_of(tracker))])
        return []


# Rasa SDK registers every Action subclass it can find: create one asking action per item.
for _item in flow().items:
    type(f"AskItem_{_item.id}", (AskItem,), {"item_id": _item.id, "__module__": __name__})
