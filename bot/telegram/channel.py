"""The Telegram conversation: commands, typed text and button taps, forwarded to Rasa.

| Telegram | what happens |
|---|---|
| `/start [clinic code]` | the deep-link payload (validated) is stored with the chat; "hi" goes to Rasa |
| `/language` | "/language" goes to Rasa, which answers with the twelve language buttons |
| `/stop` | "stop" goes to Rasa (the triage pauses; the next message offers to carry on) |
| `/help` | a help text from the catalogs |
| `/forget` | asks to confirm; then erases BackTalk's rows, Rasa's events and the chat mapping, and says what went |
| `/followup` | "/followup" goes to Rasa: the open check-in's next question (the scheduler's message names it) |
| `/nomore` | "/stop_followups" goes to Rasa, which asks to confirm and then stops every check-in |
| typed text | goes to Rasa as it is, with the user's `language_code` as the language hint |
| a tap | answered, its keyboard replaced by "✓ title", the payload goes to Rasa |

Every update of a chat is handled under that chat's lock (in order); chats run concurrently. A
failure is logged and answered with a kind "trouble" message; it never stops the application.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from functools import wraps
from typing import Any, Awaitable, Callable, Optional

from babel.numbers import format_decimal
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.config import Settings
from bot.i18n.catalog import SUPPORTED_LANGUAGES, mark, normalise_language, supported_language, translate
from bot.privacy.consent import has_triage, research_consent, set_research_consent
from bot.telegram.chats import ChatDirectory, valid_clinic_code
from bot.telegram.forget import erase_chat
from bot.telegram.locks import ChatLocks
from bot.telegram.outbox import Outbox
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.telegram.render import TextOut, buttons_in, render
from bot.telegram.retry import with_retries

logger = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]

# Our own buttons; Rasa's payloads all start with "/", so these can't be mistaken for one.
FORGET_YES = "bt:forget:yes"
FORGET_NO = "bt:forget:no"
RESEARCH_YES = "bt:research:yes"
RESEARCH_NO = "bt:research:no"
RESEARCH_CHOICES = {RESEARCH_YES: True, RESEARCH_NO: False}
LANGUAGE_PAYLOAD_PREFIX = "/language"
# What the bot's command menu shows, in the user's Telegram language.
COMMANDS = (
    ("start", mark("telegram.command.start")),
    ("language", mark("telegram.command.language")),
    ("help", mark("telegram.command.help")),
    ("stop", mark("telegram.command.stop")),
    ("forget", mark("telegram.command.forget")),
    ("followup", mark("telegram.command.followup")),
    ("nomore", mark("telegram.command.nomore")),
    ("research", mark("telegram.command.research")),
)
KNOWN_CHATS = 10_000


def chosen_language(payload: str) -> Optional[str]:
    """The language a tapped language button chose (payload ``/language{"code":"de"}``)."""
    if not payload.startswith(LANGUAGE_PAYLOAD_PREFIX + "{"):
        return None
    try:
        return supported_language(json.loads(payload[len(LANGUAGE_PAYLOAD_PREFIX):]).get("code"))
    except (ValueError, AttributeError):
        return None


class _Bounded(OrderedDict):  # type: ignore[type-arg]
    """A dict that forgets its least recently set entries beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class TelegramChannel:
    def __init__(self, config: Settings, rasa: RasaClient, directory: ChatDirectory) -> None:
        self.config = config
        self.rasa = rasa
        self.directory = directory
        self.locks = ChatLocks()
        self.outbox: Optional[Outbox] = None
        self._stored: _Bounded = _Bounded(KNOWN_CHATS)  # chat id -> True once its mapping row exists
        self._chosen: _Bounded = _Bounded(KNOWN_CHATS)  # chat id -> language chosen by button

    # -- life cycle (Application.post_init / post_shutdown) ------------------------------------

    async def start(self, application: Application) -> None:
        self.outbox = Outbox(application.bot)
        await self.publish_commands(application)

    async def close(self, _application: Optional[Application] = None) -> None:
        await self.rasa.close()
        if self.outbox is not None:
            await self.outbox.close()

    async def publish_commands(self, application: Application) -> None:
        """The command menu in every language (Telegram picks it by the user's app language)."""
        for language in (None, *SUPPORTED_LANGUAGES):
            commands = [BotCommand(name, translate(language or "en", msgid)) for name, msgid in COMMANDS]
            try:
                await with_retries(
                    lambda: application.bot.set_my_commands(commands, language_code=language),
                    "setMyCommands",
                    attempts=3,
                )
            except TelegramError as error:  # a missing menu is no reason not to chat
                logger.warning("could not set the command menu (%s): %s", language or "default", error)

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE
        for name, handler in (
            ("start", self.on_start),
            ("language", self.on_language),
            ("help", self.on_help),
            ("stop", self.on_stop),
            ("forget", self.on_forget),
            ("followup", self.on_followup),
            ("nomore", self.on_no_more),
            ("research", self.on_research),
        ):
            application.add_handler(CommandHandler(name, self._serialised(handler), filters=private))
        application.add_handler(MessageHandler(private & filters.COMMAND, self._serialised(self.on_help)))
        application.add_handler(
            MessageHandler(private & filters.UpdateType.MESSAGE & filters.TEXT, self._serialised(self.on_text))
        )
        application.add_handler(
            MessageHandler(private & filters.UpdateType.MESSAGE, self._serialised(self.on_not_text))
        )
        application.add_handler(CallbackQueryHandler(self._serialised(self.on_button)))
        application.add_error_handler(self.on_error)

    # -- ordering and failures -------------------------------------------------------------

    def _serialised(self, handler: Handler) -> Handler:
        @wraps(handler)
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat
            if chat is None or chat.type != ChatType.PRIVATE:
                return
            # No await before taking the lock: updates reach it in the order they arrived.
            async with self.locks.hold(chat.id):
                try:
                    await handler(update, context)
                except Forbidden as error:  # the user blocked the bot: nobody to tell
                    logger.info("chat %s unreachable: %s", self._tag(chat.id), error)
                except Exception:
                    logger.exception("handling an update of chat %s failed", self._tag(chat.id))
                    await self._trouble(update)

        return run

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("error outside a chat handler: %s", context.error, exc_info=context.error)

    async def _trouble(self, update: Update) -> None:
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        try:
            if update.callback_query is not None:
                await self._answer(update)
            await self._say(chat_id, translate(self._hinted_language(update), "telegram.trouble"))
        except Exception as error:  # noqa: BLE001 - we tried; the log has the first error
            logger.error("could not tell chat %s about the trouble: %s", self._tag(chat_id), error)

    def _tag(self, chat_id: int) -> str:
        """Chats appear in logs by a prefix of their pseudonym, never by chat id."""
        return self.directory.pseudonym(chat_id)[:12]

    # -- language of our own messages -----------------------------------------------------------

    def _hinted_language(self, update: Update) -> str:
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        user = update.effective_user
        return self._chosen.get(chat_id) or normalise_language(user.language_code if user else None)

    async def _language(self, update: Update) -> str:
        """The conversation's language: chosen by button, else Rasa's `language` slot (if the chat
        has talked to Rasa), else Telegram's language_code hint."""
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        if chat_id in self._chosen:
            return self._chosen[chat_id]
        if await self._has_mapping(chat_id):
            slot = supported_language(await self.rasa.slot(self.directory.sender(chat_id), "language"))
            if slot:
                return slot
        return self._hinted_language(update)

    async def _has_mapping(self, chat_id: int) -> bool:
        if chat_id in self._stored:
            return True
        record = await asyncio.to_thread(self.directory.get, self.directory.pseudonym(chat_id))
        if record is not None:
            self._stored[chat_id] = True
        return record is not None

    # -- talking to Rasa -------------------------------------------------------------------------

    async def _remember(self, update: Update, clinic_code: Optional[str] = None, language: Optional[str] = None) -> str:
        """The chat's pseudonym, with its mapping row created or updated when something changed."""
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        if chat_id in self._stored and clinic_code is None and language is None:
            return self.directory.pseudonym(chat_id)
        user = update.effective_user
        pseudonym = await asyncio.to_thread(
            self.directory.remember,
            chat_id,
            user.language_code if user else None,
            clinic_code,
            language,
        )
        self._stored[chat_id] = True
        return pseudonym

    async def _converse(self, update: Update, text: str, clinic_code: Optional[str] = None, language: Optional[str] = None) -> None:
        assert self.outbox is not None
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        await self._remember(update, clinic_code, language)
        user = update.effective_user
        try:
            async with self.outbox.typing(chat_id):
                replies = await self.rasa.send(self.directory.sender(chat_id), text, user.language_code if user else None)
        except RasaUnavailable as error:
            logger.error("chat %s: %s", self._tag(chat_id), error)
            await self._say(chat_id, translate(self._hinted_language(update), "telegram.trouble"))
            return
        if not replies:  # an action failed and Rasa dropped the turn (see bot.web's /api/chat)
            logger.error("chat %s: Rasa answered nothing; the action server may be down", self._tag(chat_id))
            await self._say(chat_id, translate(await self._language(update), "chat.no_reply"))
            return
        await self.outbox.deliver(chat_id, render(replies))

    async def _say(self, chat_id: int, text: str, keyboard: Optional[InlineKeyboardMarkup] = None) -> None:
        assert self.outbox is not None
        await self.outbox.text(chat_id, text, keyboard)

    # -- handlers ----------------------------------------------------------------------------------

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._retire(update)
        payload = " ".join(context.args) if context.args else None  # a deep link carries one word
        clinic_code = valid_clinic_code(payload)
        if payload and clinic_code is None:
            logger.info("chat %s: ignoring an invalid deep-link payload", self._tag(update.effective_chat.id))  # type: ignore[union-attr]
        await self._converse(update, "hi", clinic_code=clinic_code)

    async def on_language(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._retire(update)
        await self._converse(update, "/language")

    async def on_stop(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._retire(update)
        await self._converse(update, "stop")

    async def on_followup(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._retire(update)
        await self._converse(update, "/followup")

    async def on_no_more(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._retire(update)
        await self._converse(update, "/stop_followups")

    async def on_help(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update.effective_chat.id, translate(await self._language(update), "telegram.help"))  # type: ignore[union-attr]

    async def on_not_text(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update.effective_chat.id, translate(await self._language(update), "telegram.text_only"))  # type: ignore[union-attr]

    async def on_text(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._retire(update)
        await self._converse(update, update.effective_message.text or "")  # type: ignore[union-attr]

    async def on_forget(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._retire(update)
        language = await self._language(update)
        keyboard = InlineKeyboardMarkup([[
            InlineKeyboardButton(translate(language, "telegram.forget.yes"), callback_data=FORGET_YES),
            InlineKeyboardButton(translate(language, "telegram.forget.no"), callback_data=FORGET_NO),
        ]])
        assert self.outbox is not None
        await self.outbox.deliver(update.effective_chat.id, [TextOut(translate(language, "telegram.forget.ask"), keyboard)])  # type: ignore[union-attr]

    async def on_research(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """The chat's research answer now, and buttons to change it (no Rasa turn: the answer lives on
        the stored triages, bot/privacy/consent.py)."""
        await self._retire(update)
        language = await self._language(update)
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        pseudonym = self.directory.pseudonym(chat_id)
        stored = await asyncio.to_thread(has_triage, self.config.database_url, pseudonym)
        if not stored:
            await self._say(chat_id, translate(language, "telegram.research.nothing"))
            return
        allowed = await asyncio.to_thread(research_consent, self.config.database_url, pseudonym)
        keyboard = InlineKeyboardMarkup([[
            InlineKeyboardButton(translate(language, "telegram.research.allow"), callback_data=RESEARCH_YES),
            InlineKeyboardButton(translate(language, "telegram.research.withdraw"), callback_data=RESEARCH_NO),
        ]])
        now = mark("telegram.research.allowed_now") if allowed else mark("telegram.research.withheld_now")
        assert self.outbox is not None
        await self.outbox.deliver(chat_id, [TextOut(translate(language, now), keyboard)])

    async def on_button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert self.outbox is not None
        query = update.callback_query
        assert query is not None
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        message = query.message
        data = query.data or ""
        # The tapped message comes from Telegram's servers, the data from the client: only data that
        # is on that message's keyboard counts (typed "/intent{...}" never reaches Rasa either).
        shown = message if isinstance(message, Message) else None  # None: too old to be shown
        title = buttons_in(shown.reply_markup if shown else None).get(data)
        if message is None or title is None or self.outbox.live.is_stale(chat_id, message.message_id):
            # an old question's button: it must not answer the question asked now
            await self._answer(update, translate(await self._language(update), "telegram.button_old"))
            if message is not None:
                await self.outbox.remove_keyboard(chat_id, message.message_id)
            return
        await self._answer(update)
        await self.outbox.retire(chat_id, keep=message.message_id)
        await self.outbox.mark_chosen(chat_id, shown, message.message_id, title)
        if data == FORGET_YES:
            await self._erase(update)
        elif data == FORGET_NO:
            await self._say(chat_id, translate(await self._language(update), "telegram.forget.kept"))
        elif data in RESEARCH_CHOICES:
            allow = RESEARCH_CHOICES[data]
            await asyncio.to_thread(set_research_consent, self.config.database_url,
                                    self.directory.pseudonym(chat_id), allow)
            done = mark("telegram.research.allowed") if allow else mark("telegram.research.withdrawn")
            await self._say(chat_id, translate(await self._language(update), done))
        elif data.startswith("/"):
            language = chosen_language(data)
            if language:
                self._chosen[chat_id] = language
            await self._converse(update, data, language=language)
        else:  # a payload too long for Telegram went as its title: Rasa understands it as typed
            await self._converse(update, data)

    async def _retire(self, update: Update) -> None:
        assert self.outbox is not None
        await self.outbox.retire(update.effective_chat.id)  # type: ignore[union-attr]

    async def _answer(self, update: Update, text: Optional[str] = None) -> None:
        """Stop the button's spinner (best effort: Telegram forgets a query after a while)."""
        query = update.callback_query
        if query is None:
            return
        try:
            await with_retries(lambda: query.answer(text=text), "answerCallbackQuery", attempts=2)
        except TelegramError as error:
            logger.info("could not answer a button tap: %s", error)

    async def _erase(self, update: Update) -> None:
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        language = await self._language(update)  # before the tracker that knows it is gone
        erased = await asyncio.to_thread(erase_chat, self.config.database_url, self.directory.pseudonym(chat_id),
                                         self.directory.sender(chat_id))
        self._stored.pop(chat_id, None)
        self._chosen.pop(chat_id, None)
        logger.info("chat %s: erased %s", self._tag(chat_id), erased)
        if erased.anything:
            text = translate(
                language,
                "telegram.forget.done",
                triages=format_decimal(erased.triages, locale=language),
                events=format_decimal(erased.events, locale=language),
            )
        else:
            text = translate(language, "telegram.forget.nothing")
        await self._say(chat_id, text)
