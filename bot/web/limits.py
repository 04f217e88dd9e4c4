"""Rate limits for the widget API: a token bucket per conversation id, one per client address, and a
cap on the different conversations one address may use per hour; in memory.

Each bot.web process keeps its own buckets (a burst spread over several processes gets through
more often; per-process is enough to stop a runaway page or script). Memory stays bounded: a bucket
idle long enough to be full again is forgotten, and beyond ``max_buckets`` the least recently used
ones go first.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Tuple

from bot.config import Settings


@dataclass(frozen=True)
class RateLimit:
    messages: int = 10  # burst size: this many messages at once ...
    seconds: float = 10.0  # ... refilled evenly over this many seconds

    @classmethod
    def from_settings(cls, config: Settings) -> "RateLimit":
        """WEB_RATE_LIMIT_MESSAGES and WEB_RATE_LIMIT_SECONDS (bot/config.py checks their ranges)."""
        return cls(config.web_rate_limit_messages, config.web_rate_limit_seconds)


class RateLimiter:
    def __init__(self, limit: RateLimit, max_buckets: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.max_buckets = max_buckets
        self.clock = clock
        self.rate = limit.messages / limit.seconds  # tokens per second
        # key -> (tokens left, when last updated); ordered from least to most recently used
        self._buckets: "OrderedDict[str, Tuple[float, float]]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> Optional[float]:
        """Take one token for ``key``: None when allowed, else the seconds to wait before retrying."""
        now = self.clock()
        self._evict_idle(now)
        tokens, updated = self._buckets.pop(key, (float(self.limit.messages), now))
        tokens = min(float(self.limit.messages), tokens + (now - updated) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = None
        else:
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) / self.rate
        while len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)
        return wait

    def _evict_idle(self, now: float) -> None:
        """Drop buckets not used for a whole period: they would be full again, like a new one."""
        while self._buckets:
            key, (_tokens, updated) = next(iter(self._buckets.items()))
            if now - updated < self.limit.seconds:
                break
            del self._buckets[key]


def retry_after_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


@dataclass(frozen=True)
class AddressLimits:
    """Limits per client address, which a page cannot choose the way it chooses conversation ids:
    a token bucket of messages (all conversations together) and a cap on how many different
    conversations one address may use within an hour (each new id costs Rasa a tracker). Zero turns
    a limit off. ``proxy_header`` names the header a trusted reverse proxy sets to the client's
    address (e.g. X-Forwarded-For); without it the TCP peer counts, and the header is ignored, so
    a client cannot forge it."""

    messages: int = 120
    seconds: float = 60.0
    conversations_per_hour: int = 60
    proxy_header: Optional[str] = None

    @classmethod
    def from_settings(cls, config: Settings) -> "AddressLimits":
        """WEB_ADDRESS_RATE_LIMIT_MESSAGES / _SECONDS, WEB_NEW_CONVERSATIONS_PER_HOUR and
        WEB_TRUSTED_PROXY_HEADER (bot/config.py checks their ranges)."""
        return cls(config.web_address_rate_limit_messages, config.web_address_rate_limit_seconds,
                   config.web_new_conversations_per_hour, (config.web_trusted_proxy_header or "").strip() or None)

    def client_address(self, peer: Optional[str], headers: Mapping[str, str]) -> str:
        """The client's address: the trusted proxy's header when configured and present (its last
        entry, the one that proxy added), else the TCP peer."""
        if self.proxy_header:
            forwarded = [part.strip() for part in headers.get(self.proxy_header, "").split(",") if part.strip()]
            if forwarded:
                return forwarded[-1]
        return peer or "unknown"


class ConversationCap:
    """At most ``per_hour`` different conversation ids per address within the last hour (an id counts
    from its latest use). In memory per bot.web process, bounded like ``RateLimiter``."""

    WINDOW = 3600.0

    def __init__(self, per_hour: int, max_addresses: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self.max_addresses = max_addresses
        self.clock = clock
        # address -> (conversation id -> last use), both ordered from least to most recently used
        self._seen: "OrderedDict[str, OrderedDict[str, float]]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def take(self, address: str, conversation_id: str) -> Optional[float]:
        """None when ``conversation_id`` may be used from ``address``, else the seconds until one of
        the address's conversations leaves the hour."""
        now = self.clock()
        seen = self._seen.pop(address, None) or OrderedDict()
        while seen and now - next(iter(seen.values())) >= self.WINDOW:
            seen.popitem(last=False)
        wait: Optional[float] = None
        if conversation_id in seen:
            seen.move_to_end(conversation_id)
            seen[conversation_id] = now
        elif len(seen) >= self.per_hour:
            wait = self.WINDOW - (now - next(iter(seen.values())))
        else:
            seen[conversation_id] = now
        if seen:
            self._seen[address] = seen
        while len(self._seen) > self.max_addresses:
            self._seen.popitem(last=False)
        return wait
