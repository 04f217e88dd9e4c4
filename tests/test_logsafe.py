"""bot/logsafe.py: every log record, from any logger, has the process's secrets masked at creation."""
from __future__ import annotations

import logging

import pytest

from bot.logsafe import MASK, protect_logs, url_password


def test_secrets_from_the_environment_and_given_ones_are_masked_in_messages_and_tracebacks(
        caplog: pytest.LogCaptureFixture) -> None:
    env = {"RASA_AUTH_TOKEN": "rasa-token-for-logsafe", "DATABASE_URL": "postgresql://u:pa%40ss-word9@db/x",
           "BACKTALK_PSEUDONYM_KEY": "k"}  # too short to mask: it would hide ordinary words
    protect_logs([b"bot-token-for-logsafe"], env=env)
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("some.library")
    log.info("GET http://x/status?token=%s", "rasa-token-for-logsafe")
    log.debug("connecting to %s", env["DATABASE_URL"])
    log.warning("password pa@ss-word9 refused; k stays")
    try:
        raise RuntimeError("bad token bot-token-for-logsafe")
    except RuntimeError:
        log.exception("failed")
    text = "\n".join([r.getMessage() for r in caplog.records] + [caplog.text])
    assert "rasa-token-for-logsafe" not in text and "bot-token-for-logsafe" not in text
    assert "pa%40ss-word9" not in text and "pa@ss-word9" not in text
    assert f"token={MASK}" in text and "k stays" in text and "RuntimeError" in text
    assert url_password("redis://:secret@host:6379/0") == "secret" and url_password("sqlite:///x.db") is None
