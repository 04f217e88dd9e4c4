"""A per-conversation rate limit for /api/chat: a token bucket per conversation id, in memory.

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
from typing import Callable, Optional, Tuple

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
