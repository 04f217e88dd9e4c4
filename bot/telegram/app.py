"""Building and running the Telegram application: `backtalk telegram` / `python -m bot.telegram`
(started by `make run` when TELEGRAM_BOT_TOKEN is set). Long polling unless TELEGRAM_WEBHOOK_URL is set."""
from __future__ import annotations

import asyncio
import logging
import sys
from contextlib import asynccontextmanager
from typing import AsyncIterator

from telegram import Update
from telegram.error import InvalidToken
from telegram.ext import Application

from bot.logsafe import protect_logs
from bot.config import ConfigError, Settings, settings as load_settings
from bot.lifeline import watch_supervisor
from bot.telegram.channel import TelegramChannel
from bot.telegram.chats import ChatDirectory
from bot.telegram.config import TelegramSettings, telegram_settings
from bot.rasa_client import RasaClient

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
CHANNEL_KEY = "backtalk_channel"


def file_url_for(base_url: str) -> str:
    """Bot API servers serve files under /file/bot<token>/ next to /bot<token>/."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def build_application(config: Settings, telegram: TelegramSettings) -> Application:
    # PTB logs the Bot API URL, which holds the token (at DEBUG; httpx every request URL at INFO)
    protect_logs([telegram.token])
    rasa = RasaClient(config.rasa_url, config.rasa_auth_token)
    directory = ChatDirectory(config.database_url, config.pseudonym_key, config.encryption_key)
    channel = TelegramChannel(config, rasa, directory)
    builder = (
        Application.builder()
        .token(telegram.token)
        # updates of different chats at once; one chat's in order (TelegramChannel's per-chat locks)
        .concurrent_updates(True)
        # no JobQueue: Rasa pins apscheduler<3.10, below what PTB's job queue needs (DESIGN.md §6)
        .job_queue(None)
        .post_init(channel.start)
        .post_shutdown(channel.close)
    )
    if telegram.base_url:
        builder = builder.base_url(telegram.base_url).base_file_url(file_url_for(telegram.base_url))
    application = builder.build()
    channel.register(application)
    application.bot_data[CHANNEL_KEY] = channel
    return application


def channel_of(application: Application) -> TelegramChannel:
    return application.bot_data[CHANNEL_KEY]


@asynccontextmanager
async def polling(application: Application, poll_timeout: float = 10) -> AsyncIterator[Application]:
    """Long polling inside a running event loop (what run_polling does, without owning the loop)."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1)
    await application.start()
    try:
        yield application
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


def main() -> int:
    watch_supervisor()  # ends with `backtalk run` (bot/lifeline.py)
    try:
        config = load_settings()
        telegram = telegram_settings(config)
    except ConfigError as error:
        print(f"backtalk telegram: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    protect_logs([telegram.token, config.rasa_auth_token, config.pseudonym_key, config.encryption_key])
    application = build_application(config, telegram)
    try:
        if telegram.mode == "webhook":
            from bot.telegram.webhook import run_webhook

            logger.info("Telegram: webhook mode, %s (listening on %s:%d%s)", telegram.webhook_url,
                        telegram.webhook_listen, telegram.webhook_port, telegram.webhook_path)
            asyncio.run(run_webhook(application, telegram))
        else:
            logger.info("Telegram: long polling")
            # bootstrap_retries=-1: keep trying while Telegram is unreachable at start-up
            application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1)
    except InvalidToken:
        print("backtalk telegram: Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather", file=sys.stderr)
        return 2
    return 0
