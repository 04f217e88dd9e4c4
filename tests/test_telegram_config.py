"""Settings and run mode, the retry policy, per-chat ordering, and how `make run` / `backtalk` start it."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import stack
from bot.config import SECRET_NAMES, ConfigError, settings_from
from bot.telegram.app import file_url_for
from bot.telegram.config import telegram_settings
from bot.telegram.locks import ChatLocks
from bot.telegram.retry import with_retries
from tests.conftest import make_settings

TOKEN = {"TELEGRAM_BOT_TOKEN": "123:abc"}


def test_long_polling_is_the_default() -> None:
    config = telegram_settings(settings_from(TOKEN))
    assert config.mode == "polling" and config.webhook_url is None


def test_a_webhook_url_switches_to_webhook_mode_with_its_secret() -> None:
    config = telegram_settings(settings_from({**TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg/hook",
                                "TELEGRAM_WEBHOOK_SECRET": "s3cret_Token-1"}))
    assert config.mode == "webhook"
    assert (config.webhook_port, config.webhook_path, config.webhook_listen) == (8443, "/tg/hook", "127.0.0.1")
    assert config.webhook_secret == "s3cret_Token-1"
    config = telegram_settings(settings_from({**TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.org",
                                "TELEGRAM_WEBHOOK_SECRET": "x", "TELEGRAM_WEBHOOK_PORT": "9000",
                                "TELEGRAM_WEBHOOK_PATH": "incoming", "TELEGRAM_WEBHOOK_LISTEN": "0.0.0.0"}))
    assert (config.webhook_port, config.webhook_path, config.webhook_listen) == (9000, "/incoming", "0.0.0.0")


@pytest.mark.parametrize("env", [
    {},  # no token
    {**TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/hook"},  # no secret
    {**TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/hook", "TELEGRAM_WEBHOOK_SECRET": "has space"},
    {**TOKEN, "TELEGRAM_WEBHOOK_URL": "http://bot.example.org/hook", "TELEGRAM_WEBHOOK_SECRET": "ok"},  # not https
    {**TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/hook", "TELEGRAM_WEBHOOK_SECRET": "ok",
     "TELEGRAM_WEBHOOK_PORT": "many"},
])
def test_incomplete_settings_are_refused(env) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        telegram_settings(settings_from(env))


def test_file_url_follows_the_api_url() -> None:
    assert file_url_for("http://127.0.0.1:9/bot") == "http://127.0.0.1:9/file/bot"


def test_the_encryption_key_is_a_generated_secret() -> None:
    assert "BACKTALK_ENCRYPTION_KEY" in SECRET_NAMES


def test_make_run_starts_telegram_only_with_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = make_settings("sqlite://", tmp_path)
    assert "telegram" not in [s.name for s in stack.services(config, tmp_path / "endpoints.yml")]
    config = config.copy(update={"telegram_bot_token": "123:abc"})
    (service,) = [s for s in stack.services(config, tmp_path / "endpoints.yml") if s.name == "telegram"]
    assert service.command[1:] == ["-m", "bot.telegram"]


def test_backtalk_telegram_refuses_to_start_without_a_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from bot.cli import main

    for name in SECRET_NAMES:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    assert main(["telegram"]) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


# -- retries ---------------------------------------------------------------------------------------

class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


def retry(call: Flaky, **kwargs) -> tuple[str, List[float]]:  # type: ignore[no-untyped-def]
    slept: List[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return asyncio.run(with_retries(call, "test", sleep=sleep, **kwargs)), slept


def test_retry_after_waits_as_long_as_telegram_says() -> None:
    call = Flaky(RetryAfter(3), RetryAfter(1))
    assert retry(call) == ("sent", [3.0, 1.0])


def test_network_errors_back_off_exponentially_and_give_up() -> None:
    call = Flaky(NetworkError("reset"), TimedOut(), NetworkError("reset"))
    assert retry(call, first_delay=0.5) == ("sent", [0.5, 1.0, 2.0])
    call = Flaky(*[NetworkError("down")] * 10)
    with pytest.raises(NetworkError):
        retry(call, attempts=4)
    assert call.calls == 4


@pytest.mark.parametrize("error", [BadRequest("Message text is empty"), Forbidden("bot was blocked by the user")])
def test_errors_a_retry_cannot_fix_are_raised_at_once(error: Exception) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        retry(call)
    assert call.calls == 1


def test_a_flood_wait_beyond_the_limit_is_not_waited_for() -> None:
    call = Flaky(RetryAfter(3600))
    with pytest.raises(RetryAfter):
        retry(call)


# -- per-chat ordering --------------------------------------------------------------------------

def test_chats_run_concurrently_but_each_chat_in_order() -> None:
    async def main() -> List[str]:
        locks = ChatLocks()
        log: List[str] = []
        release_a = asyncio.Event()

        async def handle(chat: str, n: int, wait: asyncio.Event | None = None) -> None:
            async with locks.hold(chat):
                log.append(f"{chat}{n} start")
                if wait is not None:
                    await wait.wait()
                log.append(f"{chat}{n} end")

        tasks = [asyncio.create_task(handle("a", 1, release_a)), asyncio.create_task(handle("a", 2)),
                 asyncio.create_task(handle("b", 1)), asyncio.create_task(handle("a", 3)), asyncio.create_task(handle("b", 2))]
        for _ in range(1000):  # let the other tasks run (no time passes): chat b finishes while a is blocked
            if "b2 end" in log:
                break
            await asyncio.sleep(0)
        assert "b2 end" in log and "a1 end" not in log
        assert len(locks) == 1
        release_a.set()
        await asyncio.gather(*tasks)
        assert len(locks) == 0  # nothing left behind
        return log

    log = asyncio.run(main())
    assert log.index("b2 end") < log.index("a1 end")
    assert [e for e in log if e.startswith("a")] == ["a1 start", "a1 end", "a2 start", "a2 end", "a3 start", "a3 end"]
