"""bot.web: requests are checked at the door, ids are pseudonymised, replies are cleaned; the widget's
script, strings, CORS and rate limit. (The widget in a real browser: tests/e2e/test_widget.py.)"""
from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import ConfigError, settings_from
from bot.i18n.catalog import SUPPORTED_LANGUAGES, translate
from bot.privacy.pseudonym import is_pseudonym
from bot.web.app import WebOptions, create_app
from bot.web.chat_api import BadRequest, clean_reply, parse_chat_request
from bot.web.limits import AddressLimits, ConversationCap, RateLimit, RateLimiter
from bot.web.widget import WIDGET_MSGIDS, WIDGET_SOURCE, parse_allowed_origins
from tests.conftest import make_settings

CLINIC = "https://clinic.example"


class FakeRasa:
    """A stand-in for Rasa's REST channel (and the tracker API) that records what it was sent."""

    def __init__(self, reply: List[Dict[str, Any]], status: int = 200, language: str = "en") -> None:
        self.reply, self.status, self.received = reply, status, []
        self.language, self.tracker_requests = language, []

    async def webhook(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.json_response(self.reply, status=self.status)

    async def tracker(self, request: web.Request) -> web.Response:
        self.tracker_requests.append((request.match_info["sender"], dict(request.query),
                                      request.headers.get("Authorization")))
        return web.json_response({"slots": {"language": self.language}})


def run_with_web(fake: FakeRasa, tmp_path: Path, test: Callable[[TestClient], Awaitable[None]],
                 options: Optional[WebOptions] = None) -> None:
    async def main() -> None:
        rasa_app = web.Application()
        rasa_app.router.add_post("/webhooks/rest/webhook", fake.webhook)
        rasa_app.router.add_get("/conversations/{sender}/tracker", fake.tracker)
        async with TestServer(rasa_app) as rasa_server:
            config = make_settings("sqlite://", tmp_path)
            config = type(config)(**{**config.__dict__, "rasa_url": str(rasa_server.make_url("")).rstrip("/")})
            async with TestClient(TestServer(create_app(config, options or WebOptions()))) as client:
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


def test_the_pages_clinic_code_travels_with_every_message(tmp_path: Path) -> None:
    """<script src=".../widget.js" data-clinic="north">: the triage goes to that clinic."""
    fake = FakeRasa([{"recipient_id": "x", "text": "Hello"}])

    async def test(client: TestClient) -> None:
        response = await client.post("/api/chat", json={"conversation_id": "abcdef123456", "message": "hi",
                                                        "language": "de", "clinic": "north-physio_2"})
        assert response.status == 200

    run_with_web(fake, tmp_path, test)
    (sent,) = fake.received
    assert sent["metadata"] == {"channel": "web", "language": "de", "clinic": "north-physio_2"}


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'{"conversation_id": "short", "message": "hi"}', 400),
        (b'{"conversation_id": "abcdef123456", "message": ""}', 400),
        (b'{"conversation_id": "abcdef123456", "message": "' + b"a" * 2001 + b'"}', 413),
        (b'{"conversation_id": "abcdef123456", "message": "' + b"a" * 70000 + b'"}', 413),
        (b'{"conversation_id": "abcdef123456", "message": "hi", "clinic": "../admin"}', 400),
        (b'{"conversation_id": "abcdef123456", "message": "hi", "clinic": 7}', 400),
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


def test_the_chat_page_is_a_demo_embedding_the_widget_with_one_script_tag(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        response = await client.get("/chat")
        page = await response.text()
        assert response.status == 200 and "BackTalk demo" in page
        assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/widget.js" defer>']
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]

    run_with_web(FakeRasa([]), tmp_path, test)


def test_the_widget_script_is_served_with_the_english_strings_and_never_uses_html(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        response = await client.get("/widget.js")
        script = await response.text()
        assert response.status == 200 and response.content_type == "text/javascript"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert translate("en", "widget.send") in script and "BACKTALK_FALLBACK_STRINGS" not in script
        for unsafe in (".innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert unsafe not in script, unsafe
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.S)  # no request anywhere but bot.web
        assert not re.search(r"https?://", code)

    run_with_web(FakeRasa([]), tmp_path, test)


def relative_luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_widget_colours_have_a_contrast_of_at_least_4_5_to_1() -> None:
    source = WIDGET_SOURCE.read_text(encoding="utf-8")
    colours = dict(re.findall(r"(\w+): \"(#[0-9a-f]{6})\"", source.split("var COLOURS = {", 1)[1].split("};", 1)[0]))
    pairs = re.search(r'var CONTRAST_PAIRS = "([^"]+)"', source).group(1).split()
    assert len(pairs) >= 10 and set(colours) == {c for pair in pairs for c in pair.split("/")}
    for pair in pairs:
        text, background = pair.split("/")
        assert contrast(colours[text], colours[background]) >= 4.5, pair
    assert round(contrast("#ffffff", "#000000"), 1) == 21.0


@pytest.mark.parametrize("tag, served", [("de", "de"), ("de-CH", "de"), ("nn-NO", "nb"), ("pt_BR", "pt"), ("ja-JP", "en")])
def test_widget_strings_come_from_the_catalogs_with_an_english_fallback(tmp_path: Path, tag: str, served: str) -> None:
    async def test(client: TestClient) -> None:
        response = await client.get(f"/api/widget-strings/{tag}")
        body = await response.json()
        assert response.status == 200 and body["language"] == served
        assert body["strings"] == {m.split(".", 1)[1]: translate(served, m) for m in WIDGET_MSGIDS}

    run_with_web(FakeRasa([]), tmp_path, test)


def test_widget_strings_exist_in_every_language() -> None:
    for language in SUPPORTED_LANGUAGES:
        for msgid in WIDGET_MSGIDS:
            assert translate(language, msgid).strip()


def test_widget_strings_refuse_a_malformed_language(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        for tag in ("x", "en-GB-toolongsubtag", "%3Cscript%3E", "1234"):
            response = await client.get(f"/api/widget-strings/{tag}")
            assert response.status == 400 and (await response.json())["error"], tag

    run_with_web(FakeRasa([]), tmp_path, test)


def test_cors_lets_listed_origins_embed_the_widget_and_refuses_others(tmp_path: Path) -> None:
    fake = FakeRasa([{"text": "Hello"}])
    body = {"conversation_id": "abcdef123456", "message": "hi"}

    async def test(client: TestClient) -> None:
        preflight = await client.options("/api/chat", headers={
            "Origin": CLINIC, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == CLINIC
        assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
        response = await client.post("/api/chat", json=body, headers={"Origin": CLINIC})
        assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == CLINIC
        strings = await client.get("/api/widget-strings/de", headers={"Origin": CLINIC})
        assert strings.status == 200 and strings.headers["Access-Control-Allow-Origin"] == CLINIC

        for path in ("/api/chat", "/api/widget-strings/en"):
            refused = await client.options(path, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
            assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
        refused = await client.post("/api/chat", json=body, headers={"Origin": "https://evil.example"})
        assert refused.status == 403 and "WIDGET_ALLOWED_ORIGINS" in (await refused.json())["error"]

        same = await client.post("/api/chat", json=body, headers={"Origin": f"http://{client.host}:{client.port}"})
        assert same.status == 200 and "Access-Control-Allow-Origin" not in same.headers
        assert (await client.post("/api/chat", json=body)).status == 200  # no Origin: curl, a server

    run_with_web(fake, tmp_path, test, WebOptions(allowed_origins=parse_allowed_origins(f"{CLINIC}/, https://other.example")))
    assert len(fake.received) == 3


def test_by_default_only_the_same_origin_may_use_the_api(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        response = await client.post("/api/chat", json={"conversation_id": "abcdef123456", "message": "hi"}, headers={"Origin": CLINIC})
        assert response.status == 403

    run_with_web(FakeRasa([]), tmp_path, test)
    with pytest.raises(ValueError):
        parse_allowed_origins("clinic.example")
    assert parse_allowed_origins("*") == {"*"} and parse_allowed_origins("") == frozenset()


def test_a_burst_from_one_conversation_gets_429_with_retry_after(tmp_path: Path) -> None:
    fake = FakeRasa([{"text": "ok"}])

    async def test(client: TestClient) -> None:
        statuses = []
        for _ in range(4):
            response = await client.post("/api/chat", json={"conversation_id": "burst1234", "message": "hi"})
            statuses.append(response.status)
        assert statuses == [200, 200, 200, 429]
        assert int(response.headers["Retry-After"]) == 20 and "too many" in (await response.json())["error"]
        other = await client.post("/api/chat", json={"conversation_id": "another1234", "message": "hi"})
        assert other.status == 200  # the limit is per conversation

    run_with_web(fake, tmp_path, test, WebOptions(rate_limit=RateLimit(messages=3, seconds=60)))
    assert len(fake.received) == 4


def test_new_conversation_ids_from_one_address_hit_the_address_limit(tmp_path: Path) -> None:
    """A new conversation id per request does not escape the limit: the client's address is limited
    too, and a forged X-Forwarded-For counts for nothing unless a trusted proxy header is configured."""
    fake = FakeRasa([{"text": "ok"}])

    async def test(client: TestClient) -> None:
        statuses = []
        for n in range(4):
            response = await client.post("/api/chat", json={"conversation_id": f"fresh-id-{n:04d}", "message": "hi"},
                                         headers={"X-Forwarded-For": f"203.0.113.{n}"})
            statuses.append(response.status)
        assert statuses == [200, 200, 200, 429]
        assert int(response.headers["Retry-After"]) == 20
        assert (await response.json())["error"] == "too many messages from your network, please wait a moment"
        forget = await client.post("/api/forget", json={"conversation_id": "fresh-id-9999"})
        assert forget.status == 429  # the privacy endpoints share the address's budget

    run_with_web(fake, tmp_path, test, WebOptions(address_limits=AddressLimits(messages=3, seconds=60)))
    assert len(fake.received) == 3


def test_a_trusted_proxy_header_names_the_client_address(tmp_path: Path) -> None:
    fake = FakeRasa([{"text": "ok"}])
    limits = AddressLimits(messages=2, seconds=60, proxy_header="X-Forwarded-For")

    async def test(client: TestClient) -> None:
        async def post(conversation: str, forwarded: str) -> int:
            return (await client.post("/api/chat", json={"conversation_id": conversation, "message": "hi"},
                                      headers={"X-Forwarded-For": forwarded})).status

        # the proxy appends the address it saw: the last entry counts, not what the client wrote first
        assert [await post(f"proxied-{n:04d}", f"198.51.100.{n}, 192.0.2.7") for n in range(3)] == [200, 200, 429]
        assert await post("proxied-9999", "192.0.2.8") == 200  # another patient behind the same proxy

    run_with_web(fake, tmp_path, test, WebOptions(address_limits=limits))


def test_an_address_may_use_only_so_many_conversations_an_hour(tmp_path: Path) -> None:
    fake = FakeRasa([{"text": "ok"}])

    async def test(client: TestClient) -> None:
        for n in range(3):
            assert (await client.post("/api/chat", json={"conversation_id": f"conversation-{n}", "message": "hi"})).status == 200
        refused = await client.post("/api/chat", json={"conversation_id": "conversation-3", "message": "hi"})
        assert refused.status == 429 and 3590 <= int(refused.headers["Retry-After"]) <= 3600
        assert "new conversations" in (await refused.json())["error"]
        again = await client.post("/api/chat", json={"conversation_id": "conversation-1", "message": "next answer"})
        assert again.status == 200  # a conversation already under way goes on

    run_with_web(fake, tmp_path, test, WebOptions(address_limits=AddressLimits(conversations_per_hour=3)))
    assert [m["message"] for m in fake.received] == ["hi", "hi", "hi", "next answer"]


def test_the_conversation_cap_counts_an_hour_from_each_conversations_latest_use() -> None:
    now = [0.0]
    cap = ConversationCap(2, max_addresses=2, clock=lambda: now[0])
    assert [cap.take("a", "one"), cap.take("a", "two"), cap.take("b", "one")] == [None, None, None]
    now[0] = 600.0
    assert cap.take("a", "one") is None  # in use: its hour starts again
    assert cap.take("a", "three") == pytest.approx(3000.0)  # "two" leaves the hour at 3600
    now[0] = 3600.0
    assert cap.take("a", "three") is None and cap.take("a", "four") == pytest.approx(600.0)
    cap.take("c", "x")
    assert len(cap) == 2  # bounded: the least recently used address ("b") went first
    assert AddressLimits.from_settings(settings_from({})) == AddressLimits()
    assert AddressLimits.from_settings(settings_from({
        "WEB_ADDRESS_RATE_LIMIT_MESSAGES": "0", "WEB_NEW_CONVERSATIONS_PER_HOUR": "5",
        "WEB_TRUSTED_PROXY_HEADER": " X-Real-IP "})) == AddressLimits(0, 60.0, 5, "X-Real-IP")
    assert AddressLimits().client_address("192.0.2.1", {"X-Forwarded-For": "10.0.0.1"}) == "192.0.2.1"
    with pytest.raises(ConfigError, match="WEB_NEW_CONVERSATIONS_PER_HOUR"):
        settings_from({"WEB_NEW_CONVERSATIONS_PER_HOUR": "-1"})


def test_the_rate_limiter_refills_and_forgets_idle_conversations() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimit(messages=2, seconds=10), max_buckets=3, clock=lambda: now[0])
    assert [limiter.take("a"), limiter.take("a")] == [None, None]
    assert limiter.take("a") == pytest.approx(5.0)  # one token every 5 s
    now[0] = 5.0
    assert limiter.take("a") is None and limiter.take("a") == pytest.approx(5.0)
    for key in "bcd":
        limiter.take(key)
    assert len(limiter) == 3  # bounded: the least recently used ("a") went first
    now[0] = 100.0
    limiter.take("e")
    assert len(limiter) == 1  # idle buckets were full again, so they are forgotten
    limit = settings_from({"WEB_RATE_LIMIT_MESSAGES": "5", "WEB_RATE_LIMIT_SECONDS": "2.5"})
    assert RateLimit.from_settings(limit) == RateLimit(5, 2.5)
    with pytest.raises(ConfigError, match="WEB_RATE_LIMIT_MESSAGES"):
        settings_from({"WEB_RATE_LIMIT_MESSAGES": "0"})


def test_a_language_choice_is_reported_so_the_widget_labels_follow(tmp_path: Path) -> None:
    fake = FakeRasa([{"text": "Wo haben Sie Schmerzen?"}], language="de")

    async def test(client: TestClient) -> None:
        for message, expected in [('/language{"code":"de"}', "de"), ("auf Deutsch bitte", "de"), ("no", None)]:
            response = await client.post("/api/chat", json={"conversation_id": "abcdef123456", "message": message})
            assert (await response.json()).get("language") == expected, message

    run_with_web(fake, tmp_path, test)
    assert len(fake.tracker_requests) == 2
    sender, query, authorization = fake.tracker_requests[0]
    assert is_pseudonym(sender) and query == {"include_events": "NONE"} and authorization == "Token test-rasa-token"


def test_clean_reply_keeps_only_renderable_fields() -> None:
    dirty = [{"recipient_id": "p", "text": "<b>hi</b>", "buttons": [{"title": 1, "payload": "/x", "x": 1}], "extra": 1}, "junk", {}]
    assert clean_reply(dirty) == [{"text": "<b>hi</b>", "buttons": [{"title": "1", "payload": "/x"}]}]


def test_clean_reply_keeps_only_web_urls_and_joins_an_image_to_its_text() -> None:
    reply = [
        {"recipient_id": "p", "text": "A stretch for the neck"},
        {"recipient_id": "p", "image": "https://bot.example/img/stretch.png"},
        {"recipient_id": "p", "custom": {"document": "/careplan/BT-ABCD-EFGH.pdf", "title": "Your plan", "html": "<b>x</b>"}},
        {"recipient_id": "p", "image": "javascript:alert(1)"},
        {"recipient_id": "p", "custom": {"document": "data:text/html,<script>alert(1)</script>"}},
        {"recipient_id": "p", "custom": {"document": "//evil.example/x\" onclick=\"x"}},
        {"recipient_id": "p", "custom": {"anything": "else"}},
    ]
    assert clean_reply(reply) == [
        {"text": "A stretch for the neck", "image": "https://bot.example/img/stretch.png"},
        {"custom": {"document": "/careplan/BT-ABCD-EFGH.pdf", "title": "Your plan"}},
    ]


def test_parse_chat_request_rejects_a_bad_language() -> None:
    with pytest.raises(BadRequest) as error:
        parse_chat_request({"conversation_id": "abcdef123456", "message": "hi", "language": ["en"]})
    assert error.value.status == 400


def test_no_reply_from_rasa_gets_a_kind_message_in_the_conversations_language(tmp_path: Path) -> None:
    """Rasa answers 200 with no message when an action failed (the action server is down): the
    patient is asked to send it again, in the language the conversation settled on."""
    async def test(client: TestClient) -> None:
        response = await client.post("/api/chat", json={"conversation_id": "abcdef123456", "message": "ja",
                                                        "language": "en"})
        assert response.status == 200
        assert await response.json() == {"messages": [{"text": translate("de", "chat.no_reply")}]}

    run_with_web(FakeRasa([], language="de"), tmp_path, test)
