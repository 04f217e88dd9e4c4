"""Retrying Bot API calls (bot.retry's policy): Telegram's flood control (RetryAfter: wait as long as
it says) and network trouble (exponential backoff), both a bounded number of times. Errors that a
retry cannot fix (BadRequest, Forbidden: the user blocked the bot) are raised at once."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Awaitable, Callable, Optional, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.retry import retrying

T = TypeVar("T")

ATTEMPTS = 5
FIRST_DELAY = 0.5  # seconds; doubles per attempt
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 120.0  # wait at most this long for flood control; beyond, give up


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after  # int in PTB 22, timedelta later
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    what: str,
    attempts: int = ATTEMPTS,
    first_delay: float = FIRST_DELAY,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """``await call()``, again after RetryAfter or a network error, at most ``attempts`` times."""
    return await retrying(
        call, what=what, attempts=attempts, first_delay=first_delay, max_delay=MAX_DELAY, sleep=sleep,
        on=(RetryAfter, NetworkError),  # NetworkError includes TimedOut
        unless=(BadRequest,),  # a NetworkError subclass, but the request itself is wrong
        asked_wait=_flood_wait, max_asked_wait=MAX_RETRY_AFTER,
    )


def _flood_wait(error: BaseException) -> Optional[float]:
    return retry_after_seconds(error) if isinstance(error, RetryAfter) else None
