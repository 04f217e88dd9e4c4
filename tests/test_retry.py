"""bot/retry.py, the one retry policy: which errors are retried, how long it waits, when it gives up.
Waits are recorded by an injected ``sleep``: nothing here really sleeps."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, List, Optional

import pytest

from bot.retry import retrying


class Transient(Exception):
    pass


class Hopeless(Transient):
    """A subclass of a retried error that a retry cannot fix."""


class Other(Exception):
    pass


class Flaky:
    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def run(call: Flaky, **options: Any) -> List[float]:
    """Run ``retrying`` on ``call``; the waits it asked for. Raises what it raises."""
    slept: List[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = asyncio.run(retrying(call, what="test", on=(Transient,), sleep=sleep, **options))
    assert result == "done"
    return slept


def test_retries_the_listed_errors_with_doubling_waits_up_to_the_cap() -> None:
    call = Flaky(*[Transient(str(i)) for i in range(5)])
    assert run(call, attempts=6, first_delay=0.5, max_delay=3.0) == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert call.calls == 6


def test_a_lambda_returning_a_coroutine_is_awaited() -> None:
    call = Flaky(Transient())
    assert run(lambda: call(), first_delay=0.1) == [0.1]  # type: ignore[arg-type]
    assert call.calls == 2


@pytest.mark.parametrize("error", [Other("not listed"), Hopeless("listed, but excluded")])
def test_other_errors_are_raised_at_once(error: Exception) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        run(call, unless=(Hopeless,))
    assert call.calls == 1


def test_gives_up_after_the_bound_with_the_last_error() -> None:
    call = Flaky(Transient("first"), Transient("second"), Transient("third"), Transient("never reached"))
    with pytest.raises(Transient, match="^third$"):
        run(call, attempts=3)
    assert call.calls == 3


def test_one_attempt_means_no_retry_and_zero_is_refused() -> None:
    call = Flaky(Transient("once"))
    with pytest.raises(Transient):
        run(call, attempts=1)
    assert call.calls == 1
    with pytest.raises(ValueError):
        run(Flaky(), attempts=0)


def test_unbounded_attempts_go_on_until_it_works() -> None:
    call = Flaky(*[Transient()] * 30)
    waits = run(call, attempts=None, first_delay=1.0, max_delay=60.0)
    assert call.calls == 31 and waits[:7] == [1, 2, 4, 8, 16, 32, 60] and max(waits) == 60


def wait_of(error: BaseException) -> Optional[float]:
    return float(error.args[0]) if isinstance(error, Transient) and error.args else None


def test_a_wait_the_error_asks_for_is_honoured_within_its_limit() -> None:
    call = Flaky(Transient(7), Transient(), Transient(3))
    assert run(call, asked_wait=wait_of, max_asked_wait=10, first_delay=0.5) == [7.0, 1.0, 3.0]
    too_long = Flaky(Transient(11))
    with pytest.raises(Transient):
        run(too_long, asked_wait=wait_of, max_asked_wait=10)
    assert too_long.calls == 1


def test_each_retry_is_logged_with_the_error_and_the_wait(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.retry"):
        run(Flaky(Transient("reset by peer")), attempts=3, first_delay=0.25)
    assert [r.getMessage() for r in caplog.records] == ["test: reset by peer, retrying in 0.2 s (attempt 1/3)"]
