"""The Telegram channel against the fake Bot API and a stub Rasa: what reaches Rasa, what the user
sees, keyboards, media, failures, ordering and concurrency, webhook mode. Whole triages through the
real Rasa are in tests/e2e/test_telegram.py."""
from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator, List

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.config import Settings
from bot.paths import PROJECT_ROOT
from bot.i18n.catalog import translate
from bot.privacy.pseudonym import is_pseudonym
from bot.privacy.transcripts import TranscriptFilter, export_transcripts
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.models import TelegramChat, TriageSession
from bot.telegram.app import build_application
from bot.telegram.channel import FORGET_NO, FORGET_YES, RESEARCH_NO, RESEARCH_YES
from bot.telegram.config import TelegramSettings
from bot.telegram.webhook import SECRET_HEADER, serving_webhook
from tests.clinic_helpers import LOW_BACK_LOW, triage
from tests.conftest import make_settings
from tests.e2e.servers import free_port
from tests.telegram_fake import TOKEN, FakeBotAPI, TelegramHarness, titles

QUESTION = [{"text": "Is it OK?", "buttons": [
    {"title": "Yes", "payload": '/answer{"code":"yes"}'}, {"title": "No", "payload": '/answer{"code":"no"}'}]}]


class StubRasa:
    """Rasa's REST channel and tracker endpoint: echoes, or answers from ``replies``; a message
    in ``gates`` waits until its event is set; records what it was sent."""

    def __init__(self) -> None:
        self.received: List[Dict[str, Any]] = []
        self.replies: Dict[str, List[Dict[str, Any]]] = {"question": QUESTION}
        self.gates: Dict[str, asyncio.Event] = {}
        self.delays: Dict[str, float] = {}
        self.slots: Dict[str, Dict[str, Any]] = {}
        self.down = False
        self.port = 0

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.down:
            return web.json_response({"error": "down"}, status=500)
        self.received.append(body)
        message = body["message"]
        if message in self.gates:
            await self.gates[message].wait()
        if message in self.delays:  # simulated latency, so replies of different chats overlap
            await asyncio.sleep(self.delays[message])
        return web.json_response(self.replies.get(message, [{"recipient_id": body["sender"], "text": f"echo {message}"}]))

    async def tracker(self, request: web.Request) -> web.Response:
        if request.query.get("token") != "test-rasa-token":
            return web.json_response({}, status=401)
        return web.json_response({"sender_id": request.match_info["sender"], "slots": self.slots.get(request.match_info["sender"], {})})

    async def start(self) -> int:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    def messages_from(self, sender: str) -> List[str]:
        return [r["message"] for r in self.received if r["sender"] == sender]


@pytest.fixture(scope="module")
def rasa() -> StubRasa:
    return StubRasa()


@pytest.fixture(scope="module")
def harness(rasa: StubRasa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TelegramHarness]:
    data_dir = tmp_path_factory.mktemp("telegram")
    config = make_settings(f"sqlite:///{data_dir / 'backtalk.db'}", data_dir)
    upgrade(config.database_url)

    async def prepare() -> Settings:
        port = await rasa.start()
        return Settings(**{**config.__dict__, "rasa_url": f"http://127.0.0.1:{port}"})

    running = TelegramHarness(config, poll_timeout=2).start(prepare)
    yield running
    running.stop()


def new_chat_id() -> int:
    return 7_000_000_000 + secrets.randbelow(1_000_000_000)


def pseudonym_of(harness: TelegramHarness, chat_id: int) -> str:
    """The chat's key in BackTalk's tables."""
    from bot.telegram.chats import telegram_pseudonym

    return telegram_pseudonym(chat_id, harness.config.pseudonym_key)


def sender_of(harness: TelegramHarness, chat_id: int) -> str:
    """The chat's conversation id at Rasa."""
    from bot.telegram.chats import telegram_sender

    return telegram_sender(chat_id, harness.config.pseudonym_key)


def test_typed_text_goes_to_rasa_under_a_pseudonym_with_the_language_hint(harness: TelegramHarness, rasa: StubRasa) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id, "de-AT")
    assert user.say("Mir tut der Rücken weh") == ["echo Mir tut der Rücken weh"]
    (sent,) = [r for r in rasa.received if r["message"] == "Mir tut der Rücken weh"]
    assert is_pseudonym(sent["sender"]) and str(chat_id) not in sent["sender"]
    assert sent["sender"] == sender_of(harness, chat_id)
    assert sent["metadata"] == {"channel": "telegram", "language": "de-AT"}
    actions = [c for c in harness.fake.calls if c.chat_id == chat_id and c.method in ("sendChatAction", "sendMessage")]
    assert actions[0].method == "sendChatAction" and actions[0].params["action"] == "typing"


def test_text_is_never_read_as_formatting(harness: TelegramHarness) -> None:
    typed = "*bold?* _no_ <b>html?</b> [x](http://example.org) `code` \\ 😀"
    user = harness.chat(new_chat_id())
    assert user.say(typed) == [f"echo {typed}"]
    for call in harness.fake.calls:
        assert "parse_mode" not in call.params, call


def test_a_tap_answers_marks_the_choice_and_an_old_button_cannot_answer_later(harness: TelegramHarness, rasa: StubRasa) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id)
    user.say("question")
    (question,) = [m for m in harness.fake.keyboard_messages(chat_id)]
    assert titles(question) == {"Yes": '/answer{"code":"yes"}', "No": '/answer{"code":"no"}'}
    mark = len(harness.fake.calls)
    assert user.tap("Yes") == ['echo /answer{"code":"yes"}']
    calls = harness.fake.calls[mark:]
    assert [c.method for c in calls if c.method == "answerCallbackQuery"] == ["answerCallbackQuery"]
    edited = user.message(question["message_id"])
    assert edited["text"] == "Is it OK?\n\n✓ Yes" and "reply_markup" not in edited
    assert rasa.messages_from(sender_of(harness, chat_id))[-1] == '/answer{"code":"yes"}'
    # the old message is tapped again (a second tap, or a stale client): refused, nothing reaches Rasa
    before = len(rasa.received)
    mark = len(harness.fake.calls)
    assert user.press(question["message_id"], '/answer{"code":"no"}') == []
    (answer,) = [c for c in harness.fake.calls[mark:] if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == translate("en", "telegram.button_old")
    assert len(rasa.received) == before


def test_only_data_from_the_tapped_keyboard_reaches_rasa(harness: TelegramHarness, rasa: StubRasa) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id)
    user.say("question")
    (question,) = harness.fake.keyboard_messages(chat_id)
    before = len(rasa.received)
    assert user.press(question["message_id"], "/start_over") == []  # a modified client's own data
    assert len(rasa.received) == before
    assert harness.fake.keyboard_messages(chat_id) == []  # and that keyboard is withdrawn


def test_typing_an_answer_removes_the_keyboard_of_the_question(harness: TelegramHarness, rasa: StubRasa) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id)
    user.say("question")
    (question,) = harness.fake.keyboard_messages(chat_id)
    user.say("yes")
    assert harness.fake.keyboard_messages(chat_id) == []
    assert user.message(question["message_id"])["text"] == "Is it OK?"
    before = len(rasa.received)
    user.press(question["message_id"], '/answer{"code":"no"}')
    assert len(rasa.received) == before


def test_two_keyboards_in_one_reply_both_answer_until_one_is_used(harness: TelegramHarness, rasa: StubRasa) -> None:
    rasa.replies["/language"] = [
        {"text": "Choose", "buttons": [{"title": "English", "payload": '/language{"code":"en"}'},
                                       {"title": "Deutsch", "payload": '/language{"code":"de"}'}]},
        *QUESTION,
    ]
    chat_id = new_chat_id()
    user = harness.chat(chat_id)
    user.say("/language")
    assert len(harness.fake.keyboard_messages(chat_id)) == 2
    assert user.tap("Deutsch") == ['echo /language{"code":"de"}']
    assert harness.fake.keyboard_messages(chat_id) == []  # the other one went too
    with session_scope(harness.config.database_url) as db:
        assert db.get(TelegramChat, pseudonym_of(harness, chat_id)).language_code == "de"
    assert user.say("/help") == [translate("de", "telegram.help")]  # our own texts follow the choice


def test_local_images_and_documents_are_uploaded_public_ones_passed_as_urls(harness: TelegramHarness, rasa: StubRasa) -> None:
    pdf = b"%PDF-1.4 care plan " + secrets.token_bytes(2048)
    harness.fake.files["careplan.pdf"] = pdf
    harness.fake.files["spine.png"] = b"\x89PNG fake"
    rasa.replies["plan"] = [
        {"text": "Your care plan:"},
        {"custom": {"document": harness.fake.file_url("careplan.pdf")}},
        {"image": harness.fake.file_url("spine.png")},
        {"image": "https://backtalk.example.org/static/stretch.png"},
    ]
    user = harness.chat(new_chat_id())
    user.say("plan")
    assert [c.method for c in user.replies] == ["sendMessage", "sendDocument", "sendPhoto", "sendPhoto"]
    document = user.replies[1].params["document"]
    assert document["filename"] == "careplan.pdf"
    assert hashlib.sha256(document["content"]).digest() == hashlib.sha256(pdf).digest()
    assert user.replies[2].params["photo"]["content"] == b"\x89PNG fake"
    assert user.replies[3].params["photo"] == "https://backtalk.example.org/static/stretch.png"


def test_rasa_down_gets_a_kind_message_in_the_users_language(harness: TelegramHarness, rasa: StubRasa) -> None:
    rasa.down = True
    try:
        assert harness.chat(new_chat_id(), "pl").say("cześć") == [translate("pl", "telegram.trouble")]
    finally:
        rasa.down = False


def test_rasa_unreachable_gets_the_same_message(tmp_path: Path) -> None:
    config = make_settings(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    upgrade(config.database_url)
    config = Settings(**{**config.__dict__, "rasa_url": f"http://127.0.0.1:{free_port()}"})
    running = TelegramHarness(config, poll_timeout=1).start()
    try:
        channel = running.application.bot_data["backtalk_channel"]
        channel.rasa.attempts, channel.rasa.first_delay = 2, 0.01
        assert running.chat(new_chat_id(), "fr").say("bonjour") == [translate("fr", "telegram.trouble")]
    finally:
        running.stop()


def test_commands_and_other_messages(harness: TelegramHarness, rasa: StubRasa) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id, "es")
    assert user.say("/help") == [translate("es", "telegram.help")]
    assert user.say("/whatever") == [translate("es", "telegram.help")]
    assert user.send(harness.fake.location_update(chat_id, "es")) == [translate("es", "telegram.text_only")]
    assert rasa.messages_from(sender_of(harness, chat_id)) == []  # none of these went to Rasa
    user.say("/stop")
    user.say("/language")
    user.say("/start not a valid code!")
    assert rasa.messages_from(sender_of(harness, chat_id)) == ["stop", "/language", "hi"]
    with session_scope(harness.config.database_url) as db:
        assert db.get(TelegramChat, pseudonym_of(harness, chat_id)).clinic_code is None
    assert user.say("/start clinic_7") == ["echo hi"]
    with session_scope(harness.config.database_url) as db:
        assert db.get(TelegramChat, pseudonym_of(harness, chat_id)).clinic_code == "clinic_7"


def test_the_command_menu_is_published_in_every_language(harness: TelegramHarness) -> None:
    menus = {c.params.get("language_code"): c.params["commands"] for c in harness.fake.calls if c.method == "setMyCommands"}
    assert set(menus) == {None, "en", "de", "es", "fr", "it", "da", "sv", "nl", "pl", "pt", "hr", "nb"}
    assert [c["command"] for c in menus["de"]] == ["start", "language", "help", "stop", "forget", "followup", "nomore",
                                                  "research"]
    assert menus["de"][4]["description"] == translate("de", "telegram.command.forget")


def test_forget_asks_first_and_can_be_declined_or_find_nothing(harness: TelegramHarness) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id, "it")
    assert user.say("/forget") == [translate("it", "telegram.forget.ask")]
    (ask,) = harness.fake.keyboard_messages(chat_id)
    assert titles(ask) == {translate("it", "telegram.forget.yes"): FORGET_YES, translate("it", "telegram.forget.no"): FORGET_NO}
    assert user.tap(translate("it", "telegram.forget.no")) == [translate("it", "telegram.forget.kept")]
    user.say("/forget")
    assert user.tap(translate("it", "telegram.forget.yes")) == [translate("it", "telegram.forget.nothing")]


def test_forget_erases_the_mapping_and_says_so(harness: TelegramHarness) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id)
    user.say("/start clinic42")
    user.say("/forget")
    assert user.tap(translate("en", "telegram.forget.yes")) == [translate("en", "telegram.forget.done", triages="0", events="0")]
    with session_scope(harness.config.database_url) as db:
        assert db.get(TelegramChat, pseudonym_of(harness, chat_id)) is None


def test_research_shows_the_answer_and_a_tap_changes_every_triage_and_the_export(harness: TelegramHarness) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id, "de")
    assert user.say("/research") == [translate("de", "telegram.research.nothing")]
    for _ in range(2):
        triage(harness.config, {**LOW_BACK_LOW, "research_consent": True}, clinic=None,
               sender=sender_of(harness, chat_id), language="de")

    def exported() -> int:
        return export_transcripts(harness.config.database_url, io.StringIO(), None, TranscriptFilter(),
                                  username="test").conversations

    assert exported() == 1
    assert user.say("/research") == [translate("de", "telegram.research.allowed_now")]
    (ask,) = harness.fake.keyboard_messages(chat_id)
    assert titles(ask) == {translate("de", "telegram.research.allow"): RESEARCH_YES,
                           translate("de", "telegram.research.withdraw"): RESEARCH_NO}
    assert user.tap(translate("de", "telegram.research.withdraw")) == [translate("de", "telegram.research.withdrawn")]
    with session_scope(harness.config.database_url) as db:
        answers = list(db.execute(select(TriageSession.research_consent).where(TriageSession.pseudonym == pseudonym_of(harness, chat_id))).scalars())
    assert answers == [False, False] and exported() == 0
    assert user.say("/research") == [translate("de", "telegram.research.withheld_now")]
    assert user.tap(translate("de", "telegram.research.allow")) == [translate("de", "telegram.research.allowed")]
    assert exported() == 1


def test_a_flood_wait_and_dropped_connections_are_survived(harness: TelegramHarness) -> None:
    user = harness.chat(new_chat_id())
    harness.fake.fail_next("sendMessage", "retry_after")
    assert user.say("one") == ["echo one"]
    harness.fake.fail_next("sendMessage", "drop")
    assert user.say("two") == ["echo two"]
    harness.fake.fail_next("getUpdates", "drop")
    assert user.say("three") == ["echo three"]
    outcomes = [(c.method, c.outcome) for c in harness.fake.calls if c.outcome != "ok"]
    assert ("sendMessage", "retry_after") in outcomes and ("sendMessage", "dropped") in outcomes
    assert ("getUpdates", "dropped") in outcomes
    assert [c.params["text"] for c in harness.fake.sent(user.chat_id)] == ["echo one", "echo two", "echo three"]


def test_a_chat_that_blocked_the_bot_does_not_stop_the_others(harness: TelegramHarness) -> None:
    blocked, other = harness.chat(new_chat_id()), harness.chat(new_chat_id())
    harness.fake.fail_next("sendMessage", "forbidden")
    assert blocked.say("hello") == []
    assert other.say("hello") == ["echo hello"]
    assert blocked.say("again") == ["echo again"]


def test_a_slow_chat_does_not_hold_up_another(harness: TelegramHarness, rasa: StubRasa) -> None:
    slow, fast = new_chat_id(), new_chat_id()
    fake = harness.fake

    async def scenario() -> None:
        gate = rasa.gates["slow question"] = asyncio.Event()
        for update in (fake.text_update(slow, "slow question"), fake.text_update(slow, "after the slow one"),
                       fake.text_update(fast, "quick")):
            await fake.put_update(update)
        # The fast chat is answered while the slow chat's first message is held inside Rasa
        # (both handlers run concurrently, so wait for both facts rather than assume an order).
        await fake.wait_for(lambda: [c.params["text"] for c in fake.sent(fast)] == ["echo quick"]
                            and rasa.messages_from(sender_of(harness, slow)) == ["slow question"], 30)
        assert fake.sent(slow) == []  # still waiting for Rasa, and its next message waits behind it
        assert rasa.messages_from(sender_of(harness, slow)) == ["slow question"]
        gate.set()
        await fake.wait_for(lambda: len(fake.sent(slow)) == 2, 30)

    harness.run(scenario())
    assert [c.params["text"] for c in fake.sent(slow)] == ["echo slow question", "echo after the slow one"]


def test_interleaved_chats_each_keep_their_order(harness: TelegramHarness, rasa: StubRasa) -> None:
    chats = [new_chat_id() for _ in range(3)]
    updates = []
    for n in range(6):
        for i, chat_id in enumerate(chats):
            text = f"c{i} m{n}"
            rasa.delays[text] = (n * 7 + i * 3) % 5 / 100  # replies would finish out of order if unserialised
            updates.append(harness.fake.text_update(chat_id, text))
    harness.deliver(*updates)
    for i, chat_id in enumerate(chats):
        assert [c.params["text"] for c in harness.fake.sent(chat_id)] == [f"echo c{i} m{n}" for n in range(6)]
        assert rasa.messages_from(sender_of(harness, chat_id)) == [f"c{i} m{n}" for n in range(6)]


def test_webhook_mode_checks_the_secret_and_processes_updates(harness: TelegramHarness, rasa: StubRasa, tmp_path: Path) -> None:
    config = make_settings(f"sqlite:///{tmp_path / 'w.db'}", tmp_path)
    upgrade(config.database_url)
    config = Settings(**{**config.__dict__, "rasa_url": f"http://127.0.0.1:{rasa.port}"})
    fake = FakeBotAPI()
    port = free_port()
    chat_id = new_chat_id()
    telegram = TelegramSettings(token=TOKEN, webhook_url="https://bot.example.org/tg", webhook_secret="the-secret",
                                webhook_port=port, webhook_path="/tg")

    async def scenario() -> List[int]:
        await fake.start()
        application = build_application(config, replace(telegram, base_url=fake.base_url))
        statuses = []
        try:
            async with serving_webhook(application, replace(telegram, base_url=fake.base_url)):
                async with aiohttp.ClientSession() as http:
                    url = f"http://127.0.0.1:{port}/tg"
                    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: "the-secret"}):
                        async with http.post(url, json=fake.text_update(chat_id, "via webhook"), headers=headers) as response:
                            statuses.append(response.status)
                    async with http.post(url, data=b"{not json", headers={SECRET_HEADER: "the-secret"}) as response:
                        statuses.append(response.status)
                await fake.wait_for(lambda: bool(fake.sent(chat_id)), 30)
        finally:
            await fake.stop()
        return statuses

    assert harness.run(scenario()) == [403, 403, 200, 400]  # in the harness's loop, next to the stub Rasa
    (hook,) = [c for c in fake.calls if c.method == "setWebhook"]
    assert hook.params["url"] == "https://bot.example.org/tg" and hook.params["secret_token"] == "the-secret"
    assert [c.params["text"] for c in fake.sent(chat_id)] == ["echo via webhook"]
    assert not any(c.method == "getUpdates" for c in fake.calls)


def test_backtalk_telegram_runs_on_its_own_and_stops_on_sigterm(harness: TelegramHarness, rasa: StubRasa, tmp_path: Path) -> None:
    """The real entry point (`backtalk telegram` = `python -m bot.telegram`): run_polling, signals."""
    config = make_settings(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)
    upgrade(config.database_url)
    fake = FakeBotAPI()
    harness.run(fake.start())
    chat_id = new_chat_id()
    env = {
        **os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url, "TELEGRAM_WEBHOOK_URL": "",
        "RASA_URL": f"http://127.0.0.1:{rasa.port}", "DATABASE_URL": config.database_url,
        "RASA_AUTH_TOKEN": "test-rasa-token", "ACTION_SERVER_TOKEN": "x", "BACKTALK_PSEUDONYM_KEY": "k",
        "BACKTALK_ENCRYPTION_KEY": "e", "BACKTALK_DATA_DIR": str(tmp_path),
    }
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "telegram"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        harness.run(fake.put_update(fake.text_update(chat_id, "from the command line")))
        harness.run(fake.wait_for(lambda: bool(fake.sent(chat_id)), 60))
        assert [c.params["text"] for c in fake.sent(chat_id)] == ["echo from the command line"]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        harness.run(fake.stop())
    assert process.returncode == 0, output[-2000:]
    assert "long polling" in output and TOKEN not in output  # the token never reaches the log


def test_backtalk_telegram_says_so_when_telegram_refuses_the_token(harness: TelegramHarness, tmp_path: Path) -> None:
    fake = FakeBotAPI()
    harness.run(fake.start())
    env = {
        **os.environ, "TELEGRAM_BOT_TOKEN": "999:not-the-token", "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_WEBHOOK_URL": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "RASA_AUTH_TOKEN": "r",
        "ACTION_SERVER_TOKEN": "a", "BACKTALK_PSEUDONYM_KEY": "k", "BACKTALK_ENCRYPTION_KEY": "e",
    }
    try:
        done = subprocess.run([sys.executable, "-m", "bot.telegram"], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    finally:
        harness.run(fake.stop())
    assert done.returncode == 2 and "refused TELEGRAM_BOT_TOKEN" in done.stderr
    assert "not-the-token" not in done.stdout + done.stderr


def test_followup_and_nomore_go_to_rasa_as_their_payloads(harness: TelegramHarness, rasa: StubRasa) -> None:
    chat_id = new_chat_id()
    user = harness.chat(chat_id, "de")
    user.say("/followup")
    user.say("/nomore")
    assert rasa.messages_from(sender_of(harness, chat_id)) == ["/followup", "/stop_followups"]


def test_no_reply_from_rasa_gets_a_kind_message(harness: TelegramHarness, rasa: StubRasa) -> None:
    """An action that failed (action server down) leaves Rasa's reply empty: not silence, but a
    request to send the message again."""
    rasa.replies["nothing back"] = []
    assert harness.chat(new_chat_id(), "it").say("nothing back") == [translate("it", "chat.no_reply")]


def test_help_names_every_command_of_the_menu_in_every_language() -> None:
    """/help is where a patient looks for /followup and /nomore when a check-in message is long gone:
    every command of the bot's menu is listed, in all twelve languages, each once at a line start."""
    from bot.i18n.catalog import SUPPORTED_LANGUAGES
    from bot.telegram.channel import COMMANDS

    assert len(SUPPORTED_LANGUAGES) == 12
    for language in SUPPORTED_LANGUAGES:
        lines = translate(language, "telegram.help").splitlines()
        for command, _ in COMMANDS:
            listed = [line for line in lines if line.startswith(f"/{command} ")]
            assert len(listed) == 1, (language, command)
