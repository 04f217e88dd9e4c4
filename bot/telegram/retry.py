"""Retrying Bot API calls: Telegram's flood control (RetryAfter: wait as long as it says) and network
trouble (exponential backoff), both a bounded number of times. Errors that a retry cannot fix
(BadRequest, Forbidden: the user blocked the bot) are raised at once."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Awaitable, Callable, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter

logger = logging.getLogger(__name__)
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
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as error:
            wait = retry_after_seconds(error)
            if attempt == attempts or wait > MAX_RETRY_AFTER:
                raise
            logger.warning("%s: flood control, retrying in %.0f s (attempt %d/%d)", what, wait, attempt, attempts)
            await sleep(wait)
        except BadRequest:
            raise  # a NetworkError subclass, but the request itself is wrong
        except NetworkError as error:  # includes TimedOut
            if attempt == attempts:
                raise
            logger.warning("%s: %s, retrying in %.1f s (attempt %d/%d)", what, error, delay, attempt, attempts)
            await sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
    raise AssertionError("unreachable")
