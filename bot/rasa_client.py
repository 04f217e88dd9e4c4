"""Talking to Rasa over HTTP only (DESIGN.md §3), for every channel (bot.web, bot.telegram): the REST
channel for messages, the token-protected HTTP API to read a conversation's slots. The token travels
in a header (``Authorization: Token …``, accepted by rasa_server/), never in a URL that proxies log."""
from __future__ import annotations

import asyncio
import math
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.retry import retrying
from bot.routing import rasa_urls, route

MESSAGE_TIMEOUT = aiohttp.ClientTimeout(total=60)
TRACKER_TIMEOUT = aiohttp.ClientTimeout(total=5)
# Statuses that mean "not ready / not reached", so the message was not processed and can be resent.
RETRY_STATUSES = {502, 503, 504}
ATTEMPTS = 4
FIRST_DELAY = 0.5


def auth_headers(token: str) -> Dict[str, str]:
    """How a request to Rasa's HTTP API carries RASA_AUTH_TOKEN (rasa_server.__main__.AUTH_SCHEME)."""
    return {"Authorization": f"Token {token}"}


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached (``status`` None) or answered with an error status."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class _NotProcessed(RasaUnavailable):
    """Rasa surely did not process the message (not reached, or 502/503/504): safe to send again."""


class RasaClient:
    def __init__(
        self,
        base_url: str,
        auth_token: Optional[str] = None,
        attempts: int = ATTEMPTS,
        first_delay: float = FIRST_DELAY,
    ) -> None:
        # several URLs (comma-separated) when several Rasa processes run: see bot/routing.py
        self.base_urls = rasa_urls(base_url)
        self.auth_token = auth_token
        self.attempts = attempts
        self.first_delay = first_delay
        self._session: Optional[aiohttp.ClientSession] = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, sender: str, message: str, language: Optional[str], channel: str = "telegram",
                   clinic: Optional[str] = None) -> List[Dict[str, Any]]:
        """Rasa's replies to ``message`` from ``sender`` (a pseudonym); ``clinic`` is the clinic code
        the page named (the triage goes to that clinic).

        Retried only when the message surely did not reach Rasa (connection refused, 502/503/504):
        resending after a timeout could answer the same question twice."""
        metadata: Dict[str, Any] = {"channel": channel}
        if language:
            metadata["language"] = language
        if clinic:
            metadata["clinic"] = clinic
        payload = {"sender": sender, "message": message, "metadata": metadata}

        async def attempt() -> List[Dict[str, Any]]:
            try:
                async with self.session.post(
                    f"{route(sender, self.base_urls)}/webhooks/rest/webhook", json=payload, timeout=MESSAGE_TIMEOUT
                ) as response:
                    if response.status == 200:
                        replies = await response.json(content_type=None)
                        if not isinstance(replies, list):
                            raise RasaUnavailable(f"unexpected reply {type(replies).__name__}", response.status)
                        return [r for r in replies if isinstance(r, dict)]
                    if response.status in RETRY_STATUSES:
                        raise _NotProcessed(f"Rasa answered {response.status}", response.status)
                    raise RasaUnavailable(f"Rasa answered {response.status}", response.status)
            except aiohttp.ClientConnectorError as error:
                raise _NotProcessed(f"Rasa unreachable: {error}") from error
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                raise RasaUnavailable(f"Rasa failed: {error!r}") from error

        return await retrying(attempt, what="Rasa", on=(_NotProcessed,), attempts=self.attempts,
                              first_delay=self.first_delay, max_delay=math.inf)

    async def slot(self, sender: str, name: str) -> Any:
        """A slot of the conversation (None when Rasa can't tell): the tracker without its events."""
        if not self.auth_token:
            return None
        url = f"{route(sender, self.base_urls)}/conversations/{quote(sender, safe='')}/tracker"
        try:
            async with self.session.get(
                url, params={"include_events": "NONE"}, headers=auth_headers(self.auth_token), timeout=TRACKER_TIMEOUT
            ) as response:
                if response.status != 200:
                    return None
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None
        return ((body or {}).get("slots") or {}).get(name)
