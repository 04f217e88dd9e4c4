"""bot.web: requests are checked at the door, ids are pseudonymised, replies are cleaned."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.privacy.pseudonym import is_pseudonym
from bot.web.app import create_app
from bot.web.chat_api import BadRequest, clean_reply, parse_chat_request
from tests.conftest import make_settings


class FakeRasa:
    """A stand-in for Rasa's REST channel that records what it was sent."""

    def __init__(self, reply: List[Dict[str, Any]], status: int = 200) -> None:
        self.reply, self.status, self.received = reply, status, []

    async def webhook(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.json_response(self.reply, status=self.status)


def run_with_web(fake: FakeRasa, tmp_path: Path, test: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        rasa_app = web.Application()
        rasa_app.router.add_post("/webhooks/rest/webhook", fake.webhook)
        async with TestServer(rasa_app) as rasa_server:
            config = make_settings("sqlite://", tmp_path)
            config = type(config)(**{**config.__dict__, "rasa_url": str(rasa_server.make_url("")).rstrip("/")})
            async with TestClient(TestServer(create_app(config))) as client:
                await test(client)

    asyncio.run(main())


def test_a_message_is_forwarded_with_a_pseudonym_and_the_language_hint(tmp_path: Path) -> None:
    fake = FakeRasa([{"recipient_id": "x", "text": "Hello", "buttons": [{"title": "Yes", "payload": "/inform"}]}])

    async def test(client: TestClient) -> None:
        response = await client.post("/api/chat", json={"conversation_id": "abcdef123456", "message": " hi ", "language": "en-GB"})
        assert response.status == 200
        assert await response.json() == {"messages": [{"text": "Hello", "buttons": [{"title": "Yes", "payload": "/inform"}]}]}

    run_with_web(fake, tmp_path, test)
    (sent,) = fake.received
    assert is_pseudonym(sent["sender"]) and "abcdef123456" not in sent["sender"]
    assert sent["message"] == "hi"
    assert sent["metadata"] == {"channel": "web", "language": "en-GB"}


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'{"conversation_id": "short", "message": "hi"}', 400),
        (b'{"conversation_id": "abcdef123456", "message": ""}', 400),
        (b'{"conversation_id": "abcdef123456", "message": "' + b"a" * 2001 + b'"}', 413),
        (b'{"conversation_id": "abcdef123456", "message": "' + b"a" * 70000 + b'"}', 413),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(tmp_path: Path, body: bytes, status: int) -> None:
    fake = FakeRasa([])

    async def test(client: TestClient) -> None:
        response = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
        assert response.status == status
        assert (await response.json())["error"]

    run_with_web(fake, tmp_path, test)
    assert fake.received == []


def test_rasa_failing_gives_a_clear_502(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        response = await client.post("/api/chat", json={"conversation_id": "abcdef123456", "message": "hi"})
        assert response.status == 502 and "not available" in (await response.json())["error"]

    run_with_web(FakeRasa([], status=500), tmp_path, test)


def test_the_chat_page_is_served(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        response = await client.get("/chat")
        page = await response.text()
        assert response.status == 200 and "/api/chat" in page and ".innerHTML" not in page

    run_with_web(FakeRasa([]), tmp_path, test)


def test_clean_reply_keeps_only_renderable_fields() -> None:
    dirty = [{"recipient_id": "p", "text": "<b>hi</b>", "buttons": [{"title": 1, "payload": "/x", "x": 1}], "extra": 1}, "junk", {}]
    assert clean_reply(dirty) == [{"text": "<b>hi</b>", "buttons": [{"title": "1", "payload": "/x"}]}]


def test_parse_chat_request_rejects_a_bad_language() -> None:
    with pytest.raises(BadRequest) as error:
        parse_chat_request({"conversation_id": "abcdef123456", "message": "hi", "language": ["en"]})
    assert error.value.status == 400
