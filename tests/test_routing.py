"""Each conversation stays on one Rasa process (bot/routing.py), whichever channel or restart asks."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from typing import List

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.rasa_client import RasaClient
from bot.routing import rasa_urls, route

URLS = ["http://rasa-1:5005", "http://rasa-2:5005", "http://rasa-3:5005", "http://rasa-4:5005"]


def test_the_setting_lists_one_or_several_urls() -> None:
    assert rasa_urls("http://127.0.0.1:5005/") == ["http://127.0.0.1:5005"]
    assert rasa_urls(" http://a:1, http://b:2/ ,") == ["http://a:1", "http://b:2"]
    with pytest.raises(ValueError):
        rasa_urls(" , ")


def test_a_sender_always_goes_to_the_same_url_in_another_process_too() -> None:
    senders = [f"pseudonym-{i}" for i in range(400)]
    here = [route(s, URLS) for s in senders]
    # a fresh interpreter has another str hash seed: the route must not depend on it
    script = "import sys; from bot.routing import route; print('\\n'.join(route(s, sys.argv[1:]) for s in "
    script += f"{senders!r}))"
    there = subprocess.run([sys.executable, "-c", script, *URLS], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123"}, cwd=".").stdout.split()
    assert here == there
    counts = Counter(here)
    assert set(counts) == set(URLS) and min(counts.values()) > 60  # spread over all four (100 each if even)


def test_one_url_takes_everything() -> None:
    assert {route(f"s{i}", URLS[:1]) for i in range(50)} == {URLS[0]}


def test_the_client_sends_each_conversation_to_its_rasa() -> None:
    received: List[List[str]] = [[], []]

    def rasa(index: int) -> web.Application:
        async def webhook(request: web.Request) -> web.Response:
            received[index].append((await request.json())["sender"])
            return web.json_response([{"text": f"from {index}"}])

        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", webhook)
        return app

    async def main() -> None:
        async with TestServer(rasa(0)) as first, TestServer(rasa(1)) as second:
            urls = [str(first.make_url("")).rstrip("/"), str(second.make_url("")).rstrip("/")]
            client = RasaClient(",".join(urls))
            try:
                for i in range(40):
                    sender = f"sender-{i}"
                    replies = await client.send(sender, "hi", "en")
                    assert replies == [{"text": f"from {urls.index(route(sender, urls))}"}]
            finally:
                await client.close()

    asyncio.run(main())
    assert received[0] and received[1]
    assert not set(received[0]) & set(received[1])
