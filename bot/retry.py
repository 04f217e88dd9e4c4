"""Trying an async call again: the one retry policy every part of BackTalk uses (tenacity underneath).

Callers name exactly which errors a retry can fix (``on``), the subclasses of those it cannot
(``unless``: Telegram's BadRequest is a NetworkError, but resending a bad request cannot help), and
how many attempts there are (``None``: until it works, for start-up waits). Between attempts the wait
doubles from ``first_delay`` up to ``max_delay``, unless the error itself says how long to wait
(``asked_wait``, e.g. Telegram's flood control), and a wait asked for beyond ``max_asked_wait`` is
not waited for: the error is raised at once. After the last attempt the last error is raised as it
is, so callers handle one kind of failure whether or not it was retried. ``sleep`` is injectable so
that tests run the policy without waiting.
"""
from __future__ import annotations

import asyncio
import logging
import math
from typing import Awaitable, Callable, Optional, Tuple, Type, TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, stop_never
from tenacity.retry import retry_base

logger = logging.getLogger(__name__)
T = TypeVar("T")

Errors = Tuple[Type[BaseException], ...]


class _Retryable(retry_base):
    def __init__(self, on: Errors, unless: Errors, asked_wait: Optional[Callable[[BaseException], Optional[float]]],
                 max_asked_wait: float) -> None:
        self.on, self.unless, self.asked_wait, self.max_asked_wait = on, unless, asked_wait, max_asked_wait

    def __call__(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is None or not isinstance(error, self.on) or isinstance(error, self.unless):
            return False
        asked = self.asked_wait(error) if self.asked_wait is not None else None
        return asked is None or asked <= self.max_asked_wait


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    on: Errors,
    unless: Errors = (),
    attempts: Optional[int] = 5,
    first_delay: float = 0.5,
    max_delay: float = 8.0,
    asked_wait: Optional[Callable[[BaseException], Optional[float]]] = None,
    max_asked_wait: float = math.inf,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """``await call()``, again after an error of ``on`` (not of ``unless``), at most ``attempts`` times."""
    if attempts is not None and attempts < 1:
        raise ValueError("attempts must be at least 1")

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        asked = asked_wait(error) if asked_wait is not None and error is not None else None
        if asked is not None:
            return asked
        return min(first_delay * 2 ** (state.attempt_number - 1), max_delay)

    def log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning("%s: %s, retrying in %.1f s (attempt %d/%s)", what, error or "failed", seconds,
                       state.attempt_number, attempts if attempts is not None else "unbounded")

    controller = AsyncRetrying(
        sleep=sleep,  # type: ignore[arg-type]
        stop=stop_after_attempt(attempts) if attempts is not None else stop_never,
        wait=wait,
        retry=_Retryable(on, unless, asked_wait, max_asked_wait),
        before_sleep=log,
        reraise=True,
    )

    async def attempt() -> T:
        # tenacity awaits only what it recognises as a coroutine function, and a lambda that returns
        # a coroutine (``lambda: bot.send_message(...)``) is not one
        return await call()

    return await controller(attempt)
