"""The web application: /chat (patient page) and /api/chat, which forwards to Rasa's REST channel.

The browser's conversation id is pseudonymised here, before it reaches Rasa or any database.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config import Settings, settings as load_settings
from bot.privacy.pseudonym import pseudonymise
from bot.web.chat_api import BadRequest, clean_reply, parse_chat_request

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
RASA_TIMEOUT = aiohttp.ClientTimeout(total=60)
CONFIG_KEY = web.AppKey("config", Settings)
HTTP_KEY = web.AppKey("http", aiohttp.ClientSession)


async def chat_page(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "chat.html")


async def to_chat(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def chat_api(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "request body too large")
    except ValueError:
        return _error(400, "the body is not valid JSON")
    try:
        chat = parse_chat_request(body)
    except BadRequest as bad:
        return _error(bad.status, bad.reason)
    config = request.app[CONFIG_KEY]
    metadata = {"channel": "web"}
    if chat.language:
        metadata["language"] = chat.language
    payload = {
        "sender": pseudonymise(f"web:{chat.conversation_id}", config.pseudonym_key),
        "message": chat.message,
        "metadata": metadata,
    }
    try:
        async with request.app[HTTP_KEY].post(
            f"{config.rasa_url}/webhooks/rest/webhook", json=payload, timeout=RASA_TIMEOUT
        ) as response:
            if response.status != 200:
                logger.error("Rasa answered %s", response.status)
                return _error(502, "the assistant is not available, please try again shortly")
            messages = await response.json()
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.error("Rasa unreachable: %s", error)
        return _error(503, "the assistant is starting or unavailable, please try again shortly")
    return web.json_response({"messages": clean_reply(messages)})


async def _http_session(app: web.Application):  # type: ignore[no-untyped-def]
    app[HTTP_KEY] = aiohttp.ClientSession()
    yield
    await app[HTTP_KEY].close()


def create_app(config: Settings | None = None) -> web.Application:
    # 64 kB is far above any chat message; aiohttp answers 413 beyond it.
    app = web.Application(client_max_size=64 * 1024)
    app[CONFIG_KEY] = config or load_settings()
    app.cleanup_ctx.append(_http_session)
    app.router.add_get("/", to_chat)
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/healthz", health)
    app.router.add_post("/api/chat", chat_api)
    return app


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s")
    web.run_app(
        create_app(),
        host=os.environ.get("WEB_HOST", "127.0.0.1"),
        port=int(os.environ.get("WEB_PORT", "8000")),
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
