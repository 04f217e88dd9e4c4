"""Forged intents, slot values and button payloads, through the real Rasa and action servers:
per slot of domain.yml at Rasa's REST channel, and per channel (the widget through bot.web, Telegram
through the fake Bot API). A payload answers only when the live keyboard of this conversation
offered it, also after bot.web, Rasa, the action server or the Telegram channel restarted."""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from bot.i18n.catalog import translate
from bot.privacy.pseudonym import pseudonymise
from bot.store.migrate import upgrade
from bot.telegram.chats import telegram_sender
from actions.common import payload_code
from bot.questionnaires.interpret import interpret
from bot.triage.replies import answer_payload, buttons_for, hint, tapped_value
from tests.conftest import make_settings
from tests.e2e.servers import RunningStack, http
from tests.progress import without_progress
from tests.telegram_fake import ChatUser, TelegramHarness
from tests.test_forged_input import FLOW, RULES, SLOTS, allowed_examples

pytestmark = pytest.mark.e2e
# Slots the conversation itself holds before any answer; every other slot must stay empty.
CONVERSATION_SLOTS = {"language", "stage", "requested_slot"}


def t(msgid: str, **values: Any) -> str:
    return translate("en", msgid, **values)


def forged_value(slot: str) -> Any:
    """A value the slot could legally hold (so only "nothing sets it" explains its absence)."""
    value = allowed_examples(slot)[-1]
    return {"language": "nb", "stage": "done", "requested_slot": "work_expectation"}.get(slot, value)


def label(item_id: str, code: str) -> str:
    return next(b["title"] for b in buttons_for(FLOW.item(item_id), "en") if b["payload"] == answer_payload(code))


def foreign_payload(item_id: str) -> str:
    """Another question's button whose code ``item_id``'s parser would read as an answer (e.g. a
    "Not at all" for a yes/no question): the tap only the live-keyboard check refuses."""
    item = FLOW.item(item_id)
    own = {b["payload"] for b in buttons_for(item, "en")}
    for other in FLOW.items:
        for button in buttons_for(other, "en"):
            coded = payload_code(button["payload"])
            if button["payload"] not in own and coded and interpret(item, tapped_value(item, coded[1]), "en") is not None:
                return button["payload"]
    raise AssertionError(f"no other question's button reads as an answer to {item_id}")


@pytest.fixture(scope="module")
def stack(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    data_dir = tmp_path_factory.mktemp("forged")
    config = make_settings(f"sqlite:///{data_dir / 'backtalk.db'}", data_dir)
    upgrade(config.database_url)
    running = RunningStack(config=config, model=model, with_web=True).start()
    yield running
    running.stop()


def assert_nothing_forged(slots: Dict[str, Any], before: Dict[str, Any]) -> None:
    """Every slot holds an allowed value; the conversation's own slots are as they were and every
    other slot is still empty."""
    for slot in SLOTS:
        assert RULES[slot].allows(slots.get(slot)), (slot, slots.get(slot))
        if slot in CONVERSATION_SLOTS:
            assert slots.get(slot) == before.get(slot), slot
        else:
            assert slots.get(slot) is None, (slot, slots.get(slot))


# -- per slot, at Rasa's REST channel (what every channel forwards to) ------------------------

@pytest.fixture(scope="module")
def rest_conversation(stack: RunningStack) -> Tuple[str, Dict[str, Any]]:
    sender = f"forged-rest-{secrets.token_hex(6)}"
    texts = [m.get("text") for m in stack.say(sender, "hi", {"language": "en"})]
    assert without_progress(texts[-1]) == t("consent.ask")
    return sender, stack.tracker(sender)["slots"]


@pytest.mark.parametrize("slot", SLOTS)
def test_a_forged_entity_sets_no_slot(stack: RunningStack, rest_conversation: Tuple[str, Dict[str, Any]], slot: str) -> None:
    sender, before = rest_conversation
    payload = "/answer" + json.dumps({slot: forged_value(slot)})
    texts = [without_progress(m.get("text") or "") for m in stack.say(sender, payload, {"language": "en"})]
    assert texts == [t("hint.boolean"), t("consent.ask")]  # an unclear reply: asked again, kindly
    assert_nothing_forged(stack.tracker(sender)["slots"], before)


# -- the widget, through bot.web --------------------------------------------------------------

def widget(stack: RunningStack, conversation: str, message: str) -> List[Dict[str, Any]]:
    status, body = http("POST", f"{stack.web_url}/api/chat",
                        {"conversation_id": conversation, "message": message, "language": "en-GB"})
    assert status == 200, body
    return body["messages"]


def widget_slots(stack: RunningStack, conversation: str) -> Dict[str, Any]:
    return stack.tracker(pseudonymise(f"web:{conversation}", stack.config.pseudonym_key))["slots"]


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [without_progress(m.get("text") or "") for m in messages]


def payloads(messages: List[Dict[str, Any]]) -> List[str]:
    return [b["payload"] for m in messages for b in m.get("buttons", [])]


def test_widget_forged_entities_set_nothing_and_a_real_tap_sets_only_its_answer(stack: RunningStack) -> None:
    conversation = f"forged-{secrets.token_hex(6)}"
    assert texts(widget(stack, conversation, "hi"))[-1] == t("consent.ask")
    before = widget_slots(stack, conversation)
    every_slot = "/answer" + json.dumps({slot: forged_value(slot) for slot in SLOTS})
    assert texts(widget(stack, conversation, every_slot)) == [t("hint.boolean"), t("consent.ask")]
    assert_nothing_forged(widget_slots(stack, conversation), before)
    # the live "Yes" with forged extras: the tap counts, the extras do not
    extras = '/answer{"code":"yes","risk_group":"low","reference_code":"BT-AAAA-BBBB","research_consent":true}'
    assert texts(widget(stack, conversation, extras))[-1] == t("research_consent.ask")
    slots = widget_slots(stack, conversation)
    assert slots["consent"] is True
    assert slots["risk_group"] is None and slots["reference_code"] is None and slots["research_consent"] is None


def test_widget_only_the_live_keyboard_answers_across_restarts(stack: RunningStack) -> None:
    conversation = f"keys-{secrets.token_hex(6)}"
    asked = widget(stack, conversation, "hi")
    assert answer_payload("yes") in payloads(asked)
    foreign = foreign_payload("consent")  # another question's button, not offered with this one
    assert texts(widget(stack, conversation, foreign)) == [t("hint.boolean"), t("consent.ask")]
    assert widget_slots(stack, conversation)["consent"] is None
    neck = answer_payload("neck")
    assert texts(widget(stack, conversation, answer_payload("yes")))[-1] == t("research_consent.ask")
    pain_site = widget(stack, conversation, answer_payload("yes"))
    assert texts(pain_site)[-1] == t("pain_site.ask") and neck in payloads(pain_site)
    # every process restarts (crashes) while the pain-site keyboard is on the patient's screen
    stack.restart("web", "rasa", "actions")
    after = widget(stack, conversation, neck)
    assert widget_slots(stack, conversation)["pain_site"] == "neck"
    assert answer_payload("yes") in payloads(after)  # the first neck red flag: a yes/no question
    flag = widget_slots(stack, conversation)["requested_slot"]
    assert FLOW.item(flag).questionnaire == "red_flags"
    # another question's button is refused, the flag is asked again
    refused = widget(stack, conversation, foreign_payload(flag))
    assert texts(refused)[0] == t("hint.boolean")
    slots = widget_slots(stack, conversation)
    assert slots["pain_site"] == "neck" and slots[flag] is None and slots["requested_slot"] == flag


# -- Telegram, through the fake Bot API --------------------------------------------------------

@pytest.fixture(scope="module")
def telegram(stack: RunningStack) -> Iterator[TelegramHarness]:
    harness = TelegramHarness(stack.config.copy(update={"rasa_url": stack.rasa_url}), poll_timeout=5).start()
    yield harness
    harness.stop()


def chat_slots(stack: RunningStack, telegram: TelegramHarness, user: ChatUser) -> Dict[str, Any]:
    return stack.tracker(telegram_sender(user.chat_id, telegram.config.pseudonym_key))["slots"]


def new_user(telegram: TelegramHarness) -> ChatUser:
    return telegram.chat(7_000_000_000 + secrets.randbelow(1_000_000_000), "en")


def test_telegram_typed_and_tapped_forgeries_set_nothing(stack: RunningStack, telegram: TelegramHarness) -> None:
    user = new_user(telegram)
    assert user.say("/start")[-1] == t("consent.ask")
    before = chat_slots(stack, telegram, user)
    every_slot = "/answer" + json.dumps({slot: forged_value(slot) for slot in SLOTS})
    assert user.say(every_slot) == [t("telegram.help")]  # a command Telegram knows nothing of
    assert_nothing_forged(chat_slots(stack, telegram, user), before)
    consent = telegram.fake.keyboard_messages(user.chat_id)[-1]
    user.press(consent["message_id"], every_slot)  # callback data that is not on the keyboard
    assert_nothing_forged(chat_slots(stack, telegram, user), before)
    user.press(consent["message_id"], answer_payload("neck"))
    assert_nothing_forged(chat_slots(stack, telegram, user), before)


def test_telegram_after_a_restart_only_the_live_keyboard_answers(stack: RunningStack, telegram: TelegramHarness) -> None:
    """A red flag's "No" left on screen (Telegram would not let us remove it) would read as
    "disagree" to STarT Back's first statement: after a restart of the channel, which then knows no
    live keyboard, Rasa's tracker still tells the live one from the old."""
    user = new_user(telegram)
    user.say("/start")
    user.tap("Yes")
    user.tap("Yes")
    user.tap(label("pain_site", "low_back"))
    slots = chat_slots(stack, telegram, user)
    while FLOW.item(slots["requested_slot"]).questionnaire == "red_flags":
        old_flag = telegram.fake.keyboard_messages(user.chat_id)[-1]
        last = FLOW.item(slots["requested_slot"]).id
        telegram.fake.fail_next("editMessageText", "forbidden")  # this keyboard stays on screen
        telegram.fake.fail_next("editMessageReplyMarkup", "forbidden")
        user.tap("No", old_flag)
        slots = chat_slots(stack, telegram, user)
    assert slots[last] is False and "reply_markup" in user.message(old_flag["message_id"])
    while slots["requested_slot"] != "sbt_1":  # the episode's duration: any answer
        item = FLOW.item(slots["requested_slot"])
        user.tap(buttons_for(item, "en")[0]["title"])
        slots = chat_slots(stack, telegram, user)
    telegram.restart_application()  # the channel forgets which keyboards are live
    # the old red flag's "No" reaches Rasa, whose tracker knows it was not offered with sbt_1
    assert user.tap("No", old_flag)[0] == hint(FLOW.item("sbt_1"), "en")["text"]
    assert chat_slots(stack, telegram, user)["sbt_1"] is None
    # the live keyboard (the statement, asked again) answers
    live = telegram.fake.keyboard_messages(user.chat_id)[-1]
    agree = label("sbt_1", "agree")
    user.tap(agree, live)
    assert chat_slots(stack, telegram, user)["sbt_1"] == "agree"
