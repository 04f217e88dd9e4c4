"""The web application: /widget.js (the embeddable chat widget), /chat (a demo page embedding it),
/api/chat, which forwards to Rasa's REST channel, /api/widget-strings/{lang}, and the clinic
workspace under /clinic (bot/clinic/web.py).

The browser's conversation id is pseudonymised here, before it reaches Rasa or any database: Rasa sees
``channel_sender("web", id)``, BackTalk's tables its one-way pseudonym (bot/privacy/pseudonym.py).
Requests are checked at the door: size (413), JSON (400), the page's origin (403; WIDGET_ALLOWED_ORIGINS
lists the pages on other origins allowed to embed the widget) and rate limits (429): per client address
(messages, and different conversations per hour) and per conversation (bot/web/limits.py).
Replies are JSON with known fields only; the widget renders them as text, never as HTML.
"""
from __future__ import annotations

import asyncio
import html
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from aiohttp import web
from sqlalchemy import select

from bot.clinic.web import add_clinic_routes
from bot.config import Settings, settings as load_settings, settings_or_exit
from bot.guide.web import add_guide_routes
from bot.i18n.catalog import DEFAULT_LANGUAGE, normalise_language, supported_language, translate
from bot.i18n.languages import named_language
from bot.lifeline import watch_supervisor
from bot.logsafe import protect_logs
from bot.privacy.consent import set_research_consent
from bot.privacy.pseudonym import channel_sender, pseudonymise
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.store.db import session_scope
from bot.store.models import Document, TriageSession
from bot.store.repository import DocumentRepository
from bot.telegram.forget import erase_chat
from bot.triage.documents import DocumentUnavailable, content_of
from bot.web.chat_api import BadRequest, clean_reply, parse_chat_request, parse_conversation_id
from bot.web.files import FileLinks
from bot.web.headers import security_headers_middleware
from bot.web.limits import AddressLimits, ConversationCap, RateLimit, RateLimiter, retry_after_header
from bot.web.widget import cors_headers, origin_allowed, parse_allowed_origins, valid_language_tag, widget_script, widget_strings

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
CONFIG_KEY = web.AppKey("config", Settings)
RASA_KEY = web.AppKey("rasa", RasaClient)
LIMITER_KEY = web.AppKey("limiter", RateLimiter)
ADDRESS_LIMITER_KEY = web.AppKey("address_limiter", RateLimiter)
CONVERSATION_CAP_KEY = web.AppKey("conversation_cap", ConversationCap)
SCRIPT_KEY = web.AppKey("widget_script", bytes)

@dataclass(frozen=True)
class WebOptions:
    """bot.web's own settings (see README, "Web widget")."""

    allowed_origins: FrozenSet[str] = frozenset()
    rate_limit: RateLimit = RateLimit()
    address_limits: AddressLimits = AddressLimits()

    @classmethod
    def from_settings(cls, config: Settings) -> "WebOptions":
        return cls(parse_allowed_origins(config.widget_allowed_origins), RateLimit.from_settings(config),
                   AddressLimits.from_settings(config))


OPTIONS_KEY = web.AppKey("web_options", WebOptions)


async def chat_page(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "chat.html")  # its CSP: bot/web/headers.py


async def widget_js(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[SCRIPT_KEY],
        content_type="text/javascript",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


def _cors(request: web.Request) -> Dict[str, str]:
    return dict(cors_headers(request.headers.get("Origin"), request.app[OPTIONS_KEY].allowed_origins, request.host))


def _origin_refused(request: web.Request) -> Optional[web.Response]:
    if origin_allowed(request.headers.get("Origin"), request.host, request.app[OPTIONS_KEY].allowed_origins):
        return None
    return _error(403, "this page's origin may not use the chat; see WIDGET_ALLOWED_ORIGINS", {"Vary": "Origin"})


async def preflight(request: web.Request) -> web.Response:
    refused = _origin_refused(request)  # (a Response is a mapping: test it against None, not for truth)
    return refused if refused is not None else web.Response(status=204, headers=_cors(request))


async def widget_strings_api(request: web.Request) -> web.Response:
    refused = _origin_refused(request)
    if refused is not None:
        return refused
    tag = request.match_info["lang"]
    if not valid_language_tag(tag):
        return _error(400, "lang must be a language tag such as 'en' or 'de-CH'", _cors(request))
    language, strings = widget_strings(tag)
    return web.json_response(
        {"language": language, "strings": strings},
        headers={**_cors(request), "Cache-Control": "public, max-age=300", "Content-Language": language},
    )


async def to_chat(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _error(status: int, reason: str, headers: Optional[Dict[str, str]] = None) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers)


def _rate_limited(request: web.Request, conversation_id: str, cors: Dict[str, str]) -> Optional[web.Response]:
    """429 with Retry-After and the reason when the client's address sends too much, uses too many
    different conversations this hour, or this conversation sends too much; else None. (The address
    is used in memory only, never logged or stored.)"""
    address = request.app[OPTIONS_KEY].address_limits.client_address(request.remote, request.headers)
    address_limiter, cap = request.app.get(ADDRESS_LIMITER_KEY), request.app.get(CONVERSATION_CAP_KEY)
    checks: Tuple[Tuple[Callable[[], Optional[float]], str], ...] = (
        (lambda: address_limiter.take(address) if address_limiter is not None else None,
         "too many messages from your network, please wait a moment"),
        (lambda: cap.take(address, conversation_id) if cap is not None else None,
         "too many new conversations from your network this hour; please continue your conversation or try later"),
        (lambda: request.app[LIMITER_KEY].take(conversation_id),
         "too many messages in this conversation, please wait a moment"),
    )
    for take, reason in checks:
        wait = take()
        if wait is not None:
            logger.info("429: %s", reason)
            return _error(429, reason, {**cors, "Retry-After": retry_after_header(wait)})
    return None


async def chat_api(request: web.Request) -> web.Response:
    refused = _origin_refused(request)
    if refused is not None:
        return refused
    cors = _cors(request)
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "request body too large", cors)
    except ValueError:
        return _error(400, "the body is not valid JSON", cors)
    try:
        chat = parse_chat_request(body)
    except BadRequest as bad:
        return _error(bad.status, bad.reason, cors)
    refused = _rate_limited(request, chat.conversation_id, cors)
    if refused is not None:
        return refused
    sender = channel_sender("web", chat.conversation_id, request.app[CONFIG_KEY].pseudonym_key)
    rasa = request.app[RASA_KEY]
    try:
        messages = await rasa.send(sender, chat.message, chat.language, channel="web", clinic=chat.clinic)
    except RasaUnavailable as error:
        logger.error("%s", error)
        if error.status is not None:  # Rasa answered, but with an error
            return _error(502, "the assistant is not available, please try again shortly", cors)
        return _error(503, "the assistant is starting or unavailable, please try again shortly", cors)
    reply: Dict[str, Any] = {"messages": clean_reply(messages)}
    if not reply["messages"]:
        # Every message gets an answer; none means an action failed (the action server is down) and
        # Rasa dropped that turn, so the patient is asked to send it again rather than left waiting.
        logger.error("Rasa answered nothing; the action server may be down")
        language = supported_language(await rasa.slot(sender, "language")) or normalise_language(chat.language)
        reply["messages"] = [{"text": translate(language, "chat.no_reply")}]
    if _may_choose_language(chat.message):
        language = supported_language(await rasa.slot(sender, "language"))
        if language:
            reply["language"] = language
    return web.json_response(reply, headers=cors)


async def _privacy_request(request: web.Request) -> Tuple[Optional[str], Dict[str, Any], web.Response | None]:
    """The checks /api/chat makes (origin, size, JSON, rate limit) for the widget's privacy requests:
    (the conversation's Rasa sender, the body, None) or (None, {}, the refusal)."""
    refused = _origin_refused(request)
    if refused is not None:
        return None, {}, refused
    cors = _cors(request)
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return None, {}, _error(413, "request body too large", cors)
    except ValueError:
        return None, {}, _error(400, "the body is not valid JSON", cors)
    try:
        conversation_id = parse_conversation_id(body)
    except BadRequest as bad:
        return None, {}, _error(bad.status, bad.reason, cors)
    refused = _rate_limited(request, conversation_id, cors)
    if refused is not None:
        return None, {}, refused
    return channel_sender("web", conversation_id, request.app[CONFIG_KEY].pseudonym_key), body, None


async def forget_api(request: web.Request) -> web.Response:
    """The widget's "forget me": what Telegram's /forget erases (triages with their answers, care plans
    and documents, and Rasa's events), answered with the counts."""
    sender, _body, refused = await _privacy_request(request)
    if refused is not None:
        return refused
    assert sender is not None
    config = request.app[CONFIG_KEY]
    erased = await asyncio.to_thread(erase_chat, config.database_url, pseudonymise(sender, config.pseudonym_key), sender)
    return web.json_response({"triages": erased.triages, "events": erased.events}, headers=_cors(request))


async def research_consent_api(request: web.Request) -> web.Response:
    """The widget's research answer changed later: {"conversation_id", "allow": true|false}."""
    sender, body, refused = await _privacy_request(request)
    if refused is not None:
        return refused
    assert sender is not None
    if not isinstance(body.get("allow"), bool):
        return _error(400, "allow must be true or false", _cors(request))
    config = request.app[CONFIG_KEY]
    updated = await asyncio.to_thread(set_research_consent, config.database_url,
                                      pseudonymise(sender, config.pseudonym_key), body["allow"])
    return web.json_response({"allow": body["allow"], "triages": updated}, headers=_cors(request))


def _may_choose_language(message: str) -> bool:
    """Whether the message may have changed the conversation's language (a language button,
    "/language", "auf Deutsch bitte"): then the widget is told, so its own labels can follow."""
    return message.startswith("/language") or named_language(message) is not None


FILE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _load_document(database_url: str, token: str, expired: bool) -> Optional[Tuple[bytes, str, str]]:
    """The file's bytes, type and name (a care-plan PDF is rendered on its first request, never for an
    expired link: then the bytes are empty); None if unknown. Raises DocumentUnavailable when the PDF
    cannot be rendered."""
    with session_scope(database_url) as db:
        document = DocumentRepository(db).get(token)
        if document is None:
            return None
        return (b"" if expired else content_of(document)), document.media_type, document.filename


def _file_links(request: web.Request) -> FileLinks:
    config = request.app[CONFIG_KEY]
    return FileLinks(config.pseudonym_key, config.public_url, config.file_link_days)


def _gone(request: web.Request) -> web.Response:
    """410 for an expired link: a short page in the reader's language for a browser, JSON otherwise."""
    reason = "this link has expired; open the chat again for a fresh one"
    if "text/html" not in request.headers.get("Accept", ""):
        return _error(410, reason)
    tags = [part.split(";")[0] for part in request.headers.get("Accept-Language", "").split(",")]
    language = next((code for code in map(supported_language, tags) if code), DEFAULT_LANGUAGE)
    title = html.escape(translate(language, "files.expired.title"))
    body = html.escape(translate(language, "files.expired.body", days=request.app[CONFIG_KEY].file_link_days))
    page = (f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
            f"<body><h1>{title}</h1><p>{body}</p></body></html>")
    return web.Response(text=page, status=410, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "Content-Language": language})


async def file_download(request: web.Request) -> web.Response:
    """A care-plan PDF or outlook graph by its signed, expiring link (bot/web/files.py)."""
    token = request.match_info["token"]
    if not FILE_TOKEN.match(token):
        return _error(400, "malformed file token")
    validity = _file_links(request).check(token, request.query.get("expires"), request.query.get("sig"))
    if validity == "invalid":
        return _error(403, "this link is not valid (it was changed); use the link as you received it")
    try:
        found = await asyncio.get_running_loop().run_in_executor(
            None, _load_document, request.app[CONFIG_KEY].database_url, token, validity == "expired")
    except DocumentUnavailable:
        return _error(503, "this file cannot be made just now; the care plan is in the chat and on its web page")
    if found is None:
        return _error(404, "no such file")
    if validity == "expired":
        return _gone(request)
    content, media_type, filename = found
    headers = {
        "Content-Disposition": f'inline; filename="{filename}"',
        "Cache-Control": "private, max-age=3600",
        "Cross-Origin-Resource-Policy": "cross-origin",  # the widget may be embedded on a clinic's site
    }
    # (a stored care-plan page gets a sandboxing policy: bot/web/headers.py)
    return web.Response(body=content, content_type=media_type, headers=headers,
                        charset="utf-8" if media_type.startswith("text/") else None)


def _conversation_files(database_url: str, pseudonym: str) -> List[str]:
    with session_scope(database_url) as db:
        return list(db.execute(select(Document.token).join(TriageSession)
                               .where(TriageSession.pseudonym == pseudonym).order_by(Document.created_at)).scalars())


async def documents_api(request: web.Request) -> web.Response:
    """Fresh links to the files of the widget's conversation ({"conversation_id"} -> {"documents":
    {token: link}}): the widget asks when it resumes, so the links in its transcript keep working."""
    sender, _body, refused = await _privacy_request(request)
    if refused is not None:
        return refused
    assert sender is not None
    config = request.app[CONFIG_KEY]
    tokens = await asyncio.to_thread(_conversation_files, config.database_url,
                                     pseudonymise(sender, config.pseudonym_key))
    links = _file_links(request)
    return web.json_response({"documents": {token: links.url(token) for token in tokens}}, headers=_cors(request))


async def _rasa_client(app: web.Application):  # type: ignore[no-untyped-def]
    # One attempt: the browser retries, and a 502/503 tells the patient at once.
    app[RASA_KEY] = RasaClient(app[CONFIG_KEY].rasa_url, app[CONFIG_KEY].rasa_auth_token, attempts=1)
    yield
    await app[RASA_KEY].close()


def create_app(config: Settings | None = None, options: WebOptions | None = None) -> web.Application:
    # 64 kB is far above any chat message; aiohttp answers 413 beyond it.
    config = config or load_settings()
    app = web.Application(client_max_size=64 * 1024,
                          middlewares=[security_headers_middleware(config.production)])
    app[CONFIG_KEY] = config
    app[OPTIONS_KEY] = options or WebOptions.from_settings(config)
    app[LIMITER_KEY] = RateLimiter(app[OPTIONS_KEY].rate_limit)
    limits = app[OPTIONS_KEY].address_limits
    if limits.messages:
        app[ADDRESS_LIMITER_KEY] = RateLimiter(RateLimit(limits.messages, limits.seconds))
    if limits.conversations_per_hour:
        app[CONVERSATION_CAP_KEY] = ConversationCap(limits.conversations_per_hour)
    app[SCRIPT_KEY] = widget_script()
    app.cleanup_ctx.append(_rasa_client)
    app.router.add_get("/", to_chat)
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/widget.js", widget_js)
    app.router.add_get("/healthz", health)
    app.router.add_get("/files/{token}", file_download)
    app.router.add_post("/api/chat", chat_api)
    app.router.add_options("/api/chat", preflight)
    app.router.add_get("/api/widget-strings/{lang}", widget_strings_api)
    for path, handler in (("/api/forget", forget_api), ("/api/research-consent", research_consent_api),
                          ("/api/documents", documents_api)):
        app.router.add_post(path, handler)
        app.router.add_options(path, preflight)
    app.router.add_options("/api/widget-strings/{lang}", preflight)
    add_clinic_routes(app, app[CONFIG_KEY])
    add_guide_routes(app)  # /guide/<lang>/<section>: the self-management guide (bot/guide/web.py)
    return app


def main() -> None:
    watch_supervisor()  # ends with `backtalk run` (bot/lifeline.py)
    config = settings_or_exit("backtalk web")
    logging.basicConfig(level=config.log_level, format="%(levelname)s %(name)s: %(message)s")
    protect_logs([config.rasa_auth_token, config.pseudonym_key, config.encryption_key])
    web.run_app(
        create_app(config),
        host=config.web_host,
        port=config.web_port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
