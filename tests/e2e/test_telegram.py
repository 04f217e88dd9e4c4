"""Whole Telegram conversations: the Telegram application (in process) between a fake Bot API and the
real Rasa and action servers, on SQLite and on PostgreSQL with the Redis lock store."""
from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest
from sqlalchemy import func, inspect, select, table, text

from bot.i18n.catalog import translate
from bot.questionnaires.loader import load_triage
from bot.store.db import engine_for, session_scope
from bot.store.models import TelegramChat, TriageSession
from bot.telegram.chats import ChatCipher, telegram_pseudonym, telegram_sender
from bot.triage.replies import buttons_for
from tests.progress import without_progress
from tests.summary import change_title, confirm_title, is_summary
from tests.e2e.servers import RunningStack
from tests.telegram_fake import ChatUser, TelegramHarness

pytestmark = pytest.mark.e2e
CODE = re.compile(r"BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
BACK_FLAGS = 6
ITEMS = {item.id: item for item in load_triage()}


def t(msgid: str, language: str = "en", **values: Any) -> str:
    return translate(language, msgid, **values)


def label(item_id: str, code: str, language: str = "en") -> str:
    """The title of an item's button (as the patient sees it) for an option code."""
    payload = f'/answer{{"code":"{code}"}}'
    return next(b["title"] for b in buttons_for(ITEMS[item_id], language) if b["payload"] == payload)


@pytest.fixture(scope="module")
def telegram(stack: RunningStack) -> Iterator[TelegramHarness]:
    harness = TelegramHarness(stack.config.copy(update={"rasa_url": stack.rasa_url}), poll_timeout=5).start()
    yield harness
    harness.stop()


def new_chat(telegram: TelegramHarness, language_code: Optional[str] = "en") -> ChatUser:
    return telegram.chat(6_000_000_000 + secrets.randbelow(1_000_000_000), language_code)


def pseudonym(telegram: TelegramHarness, user: ChatUser) -> str:
    """The chat's key in BackTalk's tables."""
    return telegram_pseudonym(user.chat_id, telegram.config.pseudonym_key)


def sender(telegram: TelegramHarness, user: ChatUser) -> str:
    """The chat's conversation id at Rasa."""
    return telegram_sender(user.chat_id, telegram.config.pseudonym_key)


def stored(telegram: TelegramHarness, user: ChatUser) -> List[TriageSession]:
    with session_scope(telegram.config.database_url) as db:
        return list(db.execute(select(TriageSession).where(TriageSession.pseudonym == pseudonym(telegram, user))).scalars())


def event_count(telegram: TelegramHarness, user: ChatUser) -> int:
    events = table("events")
    with session_scope(telegram.config.database_url) as db:
        return db.execute(select(func.count()).select_from(events).where(text("sender_id = :s")), {"s": sender(telegram, user)}).scalar_one()


def reference_code(texts: List[str]) -> Optional[str]:
    found = [m.group(0) for text_ in texts for m in CODE.finditer(text_)]
    return found[-1] if found else None


def test_a_full_triage_by_tapping_buttons(telegram: TelegramHarness, stack: RunningStack) -> None:
    user = new_chat(telegram)
    assert user.say("/start") == [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask")]
    first = [c.method for c in telegram.fake.calls if c.chat_id == user.chat_id][0]
    assert first == "sendChatAction"  # "typing…" while Rasa works
    consent = telegram.fake.keyboard_messages(user.chat_id)[-1]
    assert user.tap("Yes") == [t("research_consent.ask")]
    assert user.message(consent["message_id"])["text"] == f"{t('consent.ask')}\n\n✓ Yes"
    assert "reply_markup" not in user.message(consent["message_id"])
    research = telegram.fake.keyboard_messages(user.chat_id)[-1]
    assert user.tap("No") == [t("pain_site.ask")]  # no to research changes nothing about the care
    assert user.message(research["message_id"])["text"] == f"{t('research_consent.ask')}\n\n✓ No"
    assert user.tap("Low back") == [t("red_flags.intro"), t("rf_saddle_numbness.ask")]
    for _ in range(BACK_FLAGS):
        user.tap("No")
    assert user.asked == t("episode_duration.ask")
    assert user.tap("1 to 3 months") == [t("start_back.intro"), t("sbt_1.ask")]
    for answer in ["Disagree", "Disagree", "Agree", "Disagree", "Agree", "Agree", "Agree", "Agree"]:
        user.tap(answer)
    assert user.asked == t("sbt_9.ask")
    user.tap("Extremely")
    assert user.asked == t("pain_now.ask")
    assert user.tap("9") == [t("outlook_offer.ask")]
    # The summary before the result, one message with two buttons; "Change something" offers the
    # answers, the changed one is asked, then the summary again; "That's right" gives the result.
    (summary,) = user.tap("No")
    assert is_summary(summary) and t("summary.line", item=t("sbt_9.short"), answer=t("option.extremely")) in summary
    assert user.tap(change_title()) == [t("change.which")]
    assert user.tap(t("sbt_9.short")) == [t("sbt_9.ask")]
    (summary,) = user.tap("Very much")
    assert is_summary(summary) and t("summary.line", item=t("sbt_9.short"), answer=t("option.very_much")) in summary
    user.tap(confirm_title())
    code = reference_code(user.texts)
    assert code and user.texts[0] == t("result.high")
    assert user.texts[3] == t("result.reference_code", reference_code=code)
    assert user.texts[4].startswith(t("careplan.title").upper())
    # each line is followed by its file; then the question whether BackTalk may check in later
    assert user.texts[-3:] == [t("careplan.pdf"), t("careplan.html"), t("followup.offer.ask")]
    assert any(text.startswith(t("careplan.heading.options").upper()) for text in user.texts[5:-3])
    # The care-plan PDF and its web page are fetched from bot.web and uploaded (Telegram's servers
    # cannot reach it), each right after its line.
    uploads = [c for c in user.replies if c.method == "sendDocument"]
    assert [u.params["document"]["filename"] for u in uploads] == [f"care-plan-{code}.pdf", f"care-plan-{code}.html"]
    assert uploads[0].params["document"]["content"].startswith(b"%PDF")
    assert t("careplan.title").encode() in uploads[1].params["document"]["content"]
    methods = [c.method for c in user.replies if c.method in ("sendMessage", "sendDocument")]
    # the PDF's line and file, the web page's line and file, then "may BackTalk check in later?"
    assert methods[-5:] == ["sendMessage", "sendDocument", "sendMessage", "sendDocument", "sendMessage"]
    # every question's keyboard is gone; the only one left is that last question's
    (offer,) = telegram.fake.keyboard_messages(user.chat_id)
    assert offer["text"] == t("followup.offer.ask")
    (row,) = stored(telegram, user)
    assert (row.status, row.risk_group, row.reference_code, row.research_consent) == ("complete", "high", code, False)
    slots = stack.tracker(sender(telegram, user))["slots"]
    assert (slots["risk_score"], slots["risk_group"], slots["reference_code"], slots["sbt_9"]) == (6, "high", code, "very_much")
    assert slots["research_consent"] is False


def test_free_text_answers(telegram: TelegramHarness, stack: RunningStack) -> None:
    user = new_chat(telegram)
    user.say("hi")
    assert user.say("yeah") == [t("research_consent.ask")]
    assert user.say("yes please") == [t("pain_site.ask")]
    assert user.say("my lower back") == [t("red_flags.intro"), t("rf_saddle_numbness.ask")]
    for answer in ["no", "nope", "n", "not really", "no", "No."]:
        user.say(answer)
    assert user.say("about 3 weeks") == [t("start_back.intro"), t("sbt_1.ask")]
    texts = user.say("banana")  # can't be used: a hint, and the same question again
    assert len(texts) == 2 and texts[-1] == t("sbt_1.ask")
    for answer in ["disagree", "i don't agree", "nope", "no", "disagree", "no", "not really", "nah"]:
        user.say(answer)
    assert user.say("a little") == [t("pain_now.ask")]
    assert user.say("two out of ten") == [t("outlook_offer.ask")]
    assert is_summary(user.say("no thanks")[-1])
    user.say("that's right")  # typed, like the summary's button
    code = reference_code(user.texts)
    assert user.texts[:4] == [t("result.low"), t("next_steps.low"), t("result.disclaimer"), t("result.reference_code", reference_code=code)]
    slots = stack.tracker(sender(telegram, user))["slots"]
    assert (slots["risk_group"], slots["pain_now"], slots["language"]) == ("low", 2, "en")
    assert slots["research_consent"] is True
    (row,) = stored(telegram, user)
    assert (row.reference_code, row.research_consent) == (code, True)


def test_a_deep_link_stores_the_clinic_code_and_the_chat_id_only_encrypted(telegram: TelegramHarness, stack: RunningStack) -> None:
    user = new_chat(telegram)
    assert user.say("/start clinic42") == [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask")]
    user.tap("Yes")
    assert user.tap("Yes") == [t("pain_site.ask")]  # research consent
    user.tap("Neck")
    with session_scope(telegram.config.database_url) as db:
        row = db.get(TelegramChat, pseudonym(telegram, user))
        assert row is not None and row.clinic_code == "clinic42" and row.language_code == "en"
        assert ChatCipher(telegram.config.encryption_key).decrypt(row.chat_id_encrypted) == user.chat_id
    raw = str(user.chat_id)
    engine = engine_for(telegram.config.database_url)
    tables = inspect(engine).get_table_names()
    assert {"events", "triage_sessions", "answers", "telegram_chats"} <= set(tables)
    with engine.connect() as connection:
        for name in tables:
            for record in connection.execute(text(f'SELECT * FROM "{name}"')):
                assert raw not in " ".join(map(str, record)), f"the raw chat id is in table {name}"
    if telegram.config.database_url.startswith("sqlite"):
        database = Path(telegram.config.database_url.split("///", 1)[1])
        for path in database.parent.glob(database.name + "*"):  # the file, its WAL and shared memory
            assert raw.encode() not in path.read_bytes(), path
    assert stack.tracker(sender(telegram, user))["slots"]["pain_site"] == "neck"


def test_language_then_deutsch_asks_the_next_question_in_german(telegram: TelegramHarness) -> None:
    user = new_chat(telegram)
    user.say("/start")
    user.tap("Yes")
    assert user.asked == t("research_consent.ask")
    user.say("no")
    texts = user.say("/language")
    assert texts[0].startswith(t("language.choose")) and user.asked == t("pain_site.ask")
    assert user.tap("Deutsch")[-1] == t("pain_site.ask", "de")
    assert user.tap(label("pain_site", "low_back", "de")) == [t("red_flags.intro", "de"), t("rf_saddle_numbness.ask", "de")]
    assert user.tap(label("rf_saddle_numbness", "no", "de"))[-1] == t("rf_bladder_bowel.ask", "de")
    assert user.say("/help") == [t("telegram.help", "de")]


def test_forget_erases_everything_stored_for_the_chat_and_says_what(telegram: TelegramHarness, stack: RunningStack) -> None:
    user = new_chat(telegram)
    other = new_chat(telegram)
    for person in (user, other):
        person.say("/start clinic9")
        person.tap("Yes")
        person.tap("Yes")  # research consent
        person.tap("Low back")
    assert len(stored(telegram, user)) == 1
    events = event_count(telegram, user)
    assert events > 10
    assert user.say("/forget") == [t("telegram.forget.ask")]
    assert user.tap(t("telegram.forget.yes")) == [t("telegram.forget.done", triages="1", events=f"{events:,}")]
    assert stored(telegram, user) == [] and event_count(telegram, user) == 0
    with session_scope(telegram.config.database_url) as db:
        assert db.get(TelegramChat, pseudonym(telegram, user)) is None
        assert db.get(TelegramChat, pseudonym(telegram, other)) is not None
    assert len(stored(telegram, other)) == 1 and event_count(telegram, other) > 10  # nobody else's data
    # Rasa has forgotten the conversation: it starts again from the greeting
    assert user.say("/start") == [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask")]
    assert stack.tracker(sender(telegram, user))["slots"]["consent"] is None


def test_flood_control_and_dropped_connections_are_survived(telegram: TelegramHarness) -> None:
    fake = telegram.fake
    user = new_chat(telegram)
    fake.fail_next("sendMessage", "retry_after")
    assert user.say("/start") == [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask")]
    limited = [c for c in fake.calls if c.outcome == "retry_after" and c.chat_id == user.chat_id]
    assert len(limited) == 1 and limited[0].params["text"] == t("welcome.greeting")
    fake.fail_next("getUpdates", "drop")
    assert user.tap("Yes") == [t("research_consent.ask")]
    assert user.say("no thanks") == [t("pain_site.ask")]
    fake.fail_next("sendMessage", "drop")
    # the first message of the reply is dropped, sent again once, and the order is kept
    assert user.say("low back") == [t("red_flags.intro"), t("rf_saddle_numbness.ask")]
    outcomes = {(c.method, c.outcome) for c in fake.calls}
    assert {("getUpdates", "dropped"), ("sendMessage", "dropped"), ("sendMessage", "retry_after")} <= outcomes


def test_two_chats_interleaved_keep_their_own_order(telegram: TelegramHarness, stack: RunningStack) -> None:
    back, neck = new_chat(telegram), new_chat(telegram)
    fake = telegram.fake
    mark = len(fake.calls)
    telegram.deliver(
        fake.text_update(back.chat_id, "/start"), fake.text_update(neck.chat_id, "/start"),
        fake.text_update(back.chat_id, "yes"), fake.text_update(neck.chat_id, "yes"),
        fake.text_update(back.chat_id, "yes"), fake.text_update(neck.chat_id, "no"),  # research consent
        fake.text_update(back.chat_id, "low back"), fake.text_update(neck.chat_id, "neck"),
        fake.text_update(back.chat_id, "no"), fake.text_update(neck.chat_id, "no"),
    )
    opening = [t("welcome.greeting"), t("welcome.privacy"), t("consent.ask"), t("research_consent.ask"), t("pain_site.ask")]
    for user, site, research in ((back, "low_back", True), (neck, "neck", False)):
        texts = [without_progress(c.params["text"]) for c in fake.sent(user.chat_id, since=mark)]
        slots = stack.tracker(sender(telegram, user))["slots"]
        assert slots["pain_site"] == site and slots["research_consent"] is research
        assert [row.research_consent for row in stored(telegram, user)] == [research]
        (first_flag,) = [k for k, v in slots.items() if k.startswith("rf_") and v is False]
        flags = [t(f"{first_flag}.ask"), t(f"{slots['requested_slot']}.ask")]
        assert texts == opening + [t("red_flags.intro")] + flags  # each path's first flag gets the intro
