"""Webhook mode: Telegram POSTs updates to TELEGRAM_WEBHOOK_URL (behind a reverse proxy that
terminates TLS and forwards to TELEGRAM_WEBHOOK_LISTEN:TELEGRAM_WEBHOOK_PORT). Every request must
carry the secret token given to setWebhook in X-Telegram-Bot-Api-Secret-Token; others get 403.

python-telegram-bot's own run_webhook needs tornado (the `webhooks` extra), which the pinned
environment does not include; this is PTB's "custom webhook" pattern on aiohttp, which it does
(docs/decisions/0005-telegram-webhook-on-aiohttp.md)."""
from __future__ import annotations

import asyncio
import hmac
import signal
from contextlib import asynccontextmanager, suppress
from typing import AsyncIterator

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.retry import retrying
from bot.telegram.config import TelegramSettings

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
APPLICATION_KEY = web.AppKey("application", Application)
SECRET_KEY = web.AppKey("secret", str)


async def receive(request: web.Request) -> web.Response:
    secret = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), request.app[SECRET_KEY].encode()):
        return web.Response(status=403)
    application = request.app[APPLICATION_KEY]
    try:
        update = Update.de_json(await request.json(), application.bot)
    except (ValueError, TypeError, KeyError):
        return web.Response(status=400)
    await application.update_queue.put(update)
    return web.Response()


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def webhook_app(application: Application, telegram: TelegramSettings) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[APPLICATION_KEY] = application
    app[SECRET_KEY] = telegram.webhook_secret or ""
    app.router.add_post(telegram.webhook_path, receive)
    app.router.add_get("/healthz", health)
    return app


async def _initialize(application: Application) -> None:
    """Like run_polling's bootstrap: wait for Telegram rather than exit while it is unreachable."""
    await retrying(application.initialize, what="Telegram unreachable", on=(NetworkError,), unless=(InvalidToken,),
                   attempts=None, first_delay=1.0, max_delay=60.0)


@asynccontextmanager
async def serving_webhook(application: Application, telegram: TelegramSettings) -> AsyncIterator[web.AppRunner]:
    from bot.telegram.app import ALLOWED_UPDATES

    # A real check, not an assert: `python -O` drops asserts, and without the secret anyone could post updates.
    if not (telegram.webhook_url and telegram.webhook_secret):
        raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET")
    await _initialize(application)
    if application.post_init:
        await application.post_init(application)
    await application.start()
    runner = web.AppRunner(webhook_app(application, telegram), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, telegram.webhook_listen, telegram.webhook_port).start()
    await application.bot.set_webhook(
        url=telegram.webhook_url, secret_token=telegram.webhook_secret, allowed_updates=ALLOWED_UPDATES
    )
    try:
        yield runner
    finally:
        await runner.cleanup()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


async def run_webhook(application: Application, telegram: TelegramSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with serving_webhook(application, telegram):
        await stop.wait()
