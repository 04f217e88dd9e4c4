"""A fake Telegram Bot API on 127.0.0.1, and a harness that runs BackTalk's Telegram application
against it in a background event loop, so tests can drive whole conversations synchronously.

The fake implements the methods python-telegram-bot calls for BackTalk (getMe, deleteWebhook,
setWebhook, setMyCommands, getUpdates as a real long poll, sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, sendChatAction, sendPhoto, sendDocument), records every
call, and can answer the next call of a method with Telegram's 429 "retry after" or drop its
connection without an answer. Tests wait for what they expect with conditions and timeouts, never
by sleeping: a delivered update is "done" when the bot has asked for the next updates (so PTB
queued it) and PTB's update queue has processed it.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Tuple, TypeVar

from aiohttp import web

from bot.config import Settings
from bot.telegram.app import build_application, polling
from bot.telegram.config import TelegramSettings
from tests.progress import without_progress

T = TypeVar("T")
TOKEN = "123456789:TEST-backtalk-fake-bot-token"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "BackTalk", "username": "backtalk_test_bot"}
# fields PTB sends as plain strings; every other field is JSON
STRING_FIELDS = {"text", "caption", "url", "secret_token", "action", "language_code", "callback_query_id", "photo", "document"}
RETRY_AFTER = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}
FORBIDDEN = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
WAIT = 120.0  # seconds: a generous bound; tests finish as soon as the condition holds


@dataclass
class Call:
    method: str
    params: Dict[str, Any]
    outcome: str = "ok"  # ok | retry_after | dropped | forbidden | error
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> Optional[int]:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


class FakeBotAPI:
    def __init__(self) -> None:
        self.calls: List[Call] = []
        self.pending: List[Dict[str, Any]] = []  # updates not yet confirmed by an offset
        self.confirmed = 0  # every update id below this was confirmed
        self.messages: Dict[Tuple[int, int], Dict[str, Any]] = {}
        self.files: Dict[str, bytes] = {}  # served at /files/<name>, like a local bot.web
        self.faults: Dict[str, Deque[str]] = defaultdict(deque)
        self._update_ids = itertools.count(1)
        self._message_ids: Dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._changed: Optional[asyncio.Condition] = None
        self.closing = False
        self._runner: Optional[web.AppRunner] = None
        self.port = 0

    # -- server --------------------------------------------------------------------------

    async def start(self) -> "FakeBotAPI":
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(r"/bot{token}/{method}", self._handle)
        app.router.add_get(r"/files/{name}", self._file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        assert self._changed is not None
        async with self._changed:  # release a long poll still waiting
            self.closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def file_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{name}"

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[name], content_type="application/octet-stream")

    # -- faults --------------------------------------------------------------------------

    def fail_next(self, method: str, fault: str) -> None:
        """Answer the next ``method`` call with 429 ("retry_after"), 403 ("forbidden": the user blocked
        the bot) or drop its connection without an answer ("drop")."""
        assert fault in ("retry_after", "drop", "forbidden")
        self.faults[method].append(fault)

    def _fault(self, method: str) -> Optional[str]:
        return self.faults[method].popleft() if self.faults[method] else None

    # -- recording and waiting -----------------------------------------------------------

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def put_update(self, update: Dict[str, Any]) -> None:
        assert self._changed is not None
        async with self._changed:
            self.pending.append(update)
            self._changed.notify_all()

    # -- the Bot API ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = await self._params(request)
        if method == "getUpdates":
            return await self._get_updates(request, params)
        fault = self._fault(method)
        if fault == "retry_after":
            await self._record(Call(method, params, "retry_after"))
            return web.json_response(RETRY_AFTER, status=429)
        if fault == "drop":
            await self._record(Call(method, params, "dropped"))
            return self._drop(request)
        if fault == "forbidden":
            await self._record(Call(method, params, "forbidden"))
            return web.json_response(FORBIDDEN, status=403)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            await self._record(Call(method, params, "error"))
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        result = handler(params)
        await self._record(Call(method, params))
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()  # the client sees the connection close with no answer
        raise asyncio.CancelledError()

    @staticmethod
    async def _params(request: web.Request) -> Dict[str, Any]:
        params: Dict[str, Any] = {}
        if not request.can_read_body:
            return params
        if request.content_type == "application/json":
            return dict(await request.json())
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "content": value.file.read()}
            elif key in STRING_FIELDS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        for key, value in list(params.items()):  # an upload is named by "attach://<name>"
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in params:
                params[key] = params.pop(value[9:])
        return params

    async def _get_updates(self, request: web.Request, params: Dict[str, Any]) -> web.StreamResponse:
        assert self._changed is not None
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        async with self._changed:
            if offset:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
                self.confirmed = max(self.confirmed, offset)
            self._changed.notify_all()
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.pending) or self.closing), timeout)
            except asyncio.TimeoutError:
                pass
            updates = self.pending[:limit]
        fault = self._fault("getUpdates") if updates else None
        if fault == "drop":  # the updates stay pending: the bot must ask again and get them
            await self._record(Call("getUpdates", params, "dropped"))
            return self._drop(request)
        if fault == "retry_after":
            await self._record(Call("getUpdates", params, "retry_after"))
            return web.json_response(RETRY_AFTER, status=429)
        await self._record(Call("getUpdates", params))
        return web.json_response({"ok": True, "result": updates})

    def _message(self, chat_id: int, **content: Any) -> Dict[str, Any]:
        message_id = next(self._message_ids[chat_id])
        message = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                   "from": BOT_USER, **{k: v for k, v in content.items() if v is not None}}
        self.messages[(chat_id, message_id)] = message
        return message

    def _getMe(self, _params: Dict[str, Any]) -> Any:
        return BOT_USER

    def _deleteWebhook(self, _params: Dict[str, Any]) -> Any:
        return True

    _setWebhook = _setMyCommands = _answerCallbackQuery = _sendChatAction = _deleteWebhook

    def _sendMessage(self, params: Dict[str, Any]) -> Any:
        return self._message(int(params["chat_id"]), text=params["text"], reply_markup=params.get("reply_markup"))

    def _sendPhoto(self, params: Dict[str, Any]) -> Any:
        photo = [{"file_id": "photo-1", "file_unique_id": "photo-1", "width": 1, "height": 1}]
        return self._message(int(params["chat_id"]), photo=photo, caption=params.get("caption"))

    def _sendDocument(self, params: Dict[str, Any]) -> Any:
        return self._message(int(params["chat_id"]), document={"file_id": "doc-1", "file_unique_id": "doc-1"},
                             caption=params.get("caption"))

    def _edit(self, params: Dict[str, Any], **changes: Any) -> Any:
        message = self.messages[(int(params["chat_id"]), int(params["message_id"]))]
        message.update(changes)
        if message.get("reply_markup") is None:
            message.pop("reply_markup", None)
        return message

    def _editMessageText(self, params: Dict[str, Any]) -> Any:
        return self._edit(params, text=params["text"], reply_markup=params.get("reply_markup"))

    def _editMessageReplyMarkup(self, params: Dict[str, Any]) -> Any:
        return self._edit(params, reply_markup=params.get("reply_markup"))

    # -- updates a user's Telegram app would cause ---------------------------------------

    @staticmethod
    def user(chat_id: int, language_code: Optional[str]) -> Dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": "Pat"}
        if language_code:
            user["language_code"] = language_code
        return user

    def text_update(self, chat_id: int, text: str, language_code: Optional[str] = "en") -> Dict[str, Any]:
        message: Dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]), "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Pat"},
            "from": self.user(chat_id, language_code), "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": message}

    def location_update(self, chat_id: int, language_code: Optional[str] = "en") -> Dict[str, Any]:
        message = {
            "message_id": next(self._message_ids[chat_id]), "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Pat"},
            "from": self.user(chat_id, language_code), "location": {"latitude": 51.5, "longitude": -0.1},
        }
        return {"update_id": next(self._update_ids), "message": message}

    def tap_update(self, chat_id: int, message_id: int, data: str, language_code: Optional[str] = "en") -> Dict[str, Any]:
        update_id = next(self._update_ids)
        return {"update_id": update_id, "callback_query": {
            "id": f"cq{update_id}", "from": self.user(chat_id, language_code), "chat_instance": f"ci{chat_id}",
            "message": json.loads(json.dumps(self.messages[(chat_id, message_id)])), "data": data,
        }}

    # -- reading what was sent -------------------------------------------------------------

    def sent(self, chat_id: int, since: int = 0, methods: Tuple[str, ...] = ("sendMessage", "sendPhoto", "sendDocument")) -> List[Call]:
        return [c for c in self.calls[since:] if c.method in methods and c.outcome == "ok" and c.chat_id == chat_id]

    def keyboard_messages(self, chat_id: int) -> List[Dict[str, Any]]:
        """Messages of the chat that show a keyboard now, oldest first."""
        return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id and m.get("reply_markup")]


def titles(message: Dict[str, Any]) -> Dict[str, str]:
    """title -> callback_data of a message's inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b["callback_data"] for row in rows for b in row}


class TelegramHarness:
    """The fake Bot API and BackTalk's Telegram application in one background event loop."""

    def __init__(self, config: Settings, poll_timeout: float = 5) -> None:
        self.config = config
        self.poll_timeout = poll_timeout
        self.fake = FakeBotAPI()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-harness", daemon=True)
        self.application: Any = None
        self._polling: Any = None

    def run(self, coroutine: Awaitable[T], timeout: float = WAIT) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)  # type: ignore[arg-type]

    def start(self, prepare: Optional[Callable[[], Awaitable[Settings]]] = None) -> "TelegramHarness":
        """Start the loop, run ``prepare`` in it (e.g. start a stub Rasa; it returns the settings to
        use), then the fake Bot API and the application, long polling."""
        self.thread.start()
        if prepare is not None:
            self.config = self.run(prepare())
        self.run(self._start())
        return self

    async def _start(self) -> None:
        await self.fake.start()
        await self._start_application()

    async def _start_application(self) -> None:
        self.application = build_application(self.config, TelegramSettings(token=TOKEN, base_url=self.fake.base_url))
        self._polling = polling(self.application, poll_timeout=self.poll_timeout)
        await self._polling.__aenter__()

    def restart_application(self) -> None:
        """Stop BackTalk's Telegram application and start a new one against the same fake Bot API,
        as a restarted channel process would: everything it kept in memory is gone."""
        async def _restart() -> None:
            await self._polling.__aexit__(None, None, None)
            await self._start_application()

        self.run(_restart())

    def stop(self) -> None:
        async def _stop() -> None:
            try:
                if self._polling is not None:
                    await self._polling.__aexit__(None, None, None)
            finally:
                await self.fake.stop()
                # whatever else still runs in this loop (servers a test started, their handlers)
                others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in others:
                    task.cancel()
                await asyncio.gather(*others, return_exceptions=True)

        try:
            self.run(_stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)

    async def deliver_async(self, updates: List[Dict[str, Any]], timeout: float = WAIT) -> None:
        for update in updates:
            await self.fake.put_update(update)
        last = max(u["update_id"] for u in updates)
        await self.fake.wait_for(lambda: self.fake.confirmed > last, timeout)  # PTB queued them
        await asyncio.wait_for(self.application.update_queue.join(), timeout)  # and processed them

    def deliver(self, *updates: Dict[str, Any], timeout: float = WAIT) -> None:
        self.run(self.deliver_async(list(updates), timeout), timeout + 5)

    def chat(self, chat_id: int, language_code: Optional[str] = "en") -> "ChatUser":
        return ChatUser(self, chat_id, language_code)


class ChatUser:
    """One person in one private chat: types, taps buttons by their title, reads what came back."""

    def __init__(self, harness: TelegramHarness, chat_id: int, language_code: Optional[str]) -> None:
        self.harness, self.chat_id, self.language_code = harness, chat_id, language_code
        self.fake = harness.fake
        self.replies: List[Call] = []

    def _exchange(self, update: Dict[str, Any]) -> List[str]:
        mark = len(self.fake.calls)
        self.harness.deliver(update)
        self.replies = self.fake.sent(self.chat_id, since=mark)
        return self.texts

    def say(self, text: str) -> List[str]:
        return self._exchange(self.fake.text_update(self.chat_id, text, self.language_code))

    def tap(self, title: str, message: Optional[Dict[str, Any]] = None) -> List[str]:
        """Tap the button ``title`` on the newest message showing it (or on ``message``)."""
        if message is None:
            showing = [m for m in self.fake.keyboard_messages(self.chat_id) if title in titles(m)]
            assert showing, f"no button {title!r} on screen; keyboards: {[titles(m) for m in self.fake.keyboard_messages(self.chat_id)]}"
            message = showing[-1]
        data = titles(message)[title] if title in titles(message) else title
        return self._exchange(self.fake.tap_update(self.chat_id, message["message_id"], data, self.language_code))

    def press(self, message_id: int, data: str) -> List[str]:
        """Press a button by its callback data, on any message (even one whose keyboard is gone)."""
        return self._exchange(self.fake.tap_update(self.chat_id, message_id, data, self.language_code))

    def send(self, update: Dict[str, Any]) -> List[str]:
        return self._exchange(update)

    @property
    def texts(self) -> List[str]:
        """What came back, without the "Question k of n" line a question starts with."""
        return [without_progress(c.params.get("text", "")) for c in self.replies if c.method == "sendMessage"]

    @property
    def asked(self) -> str:
        return self.texts[-1]

    def message(self, message_id: int) -> Dict[str, Any]:
        """A message as the chat shows it now (edited or not), without its progress line."""
        shown = dict(self.fake.messages[(self.chat_id, message_id)])
        if "text" in shown:
            shown["text"] = without_progress(shown["text"])
        return shown
