"""Secrets stay secret on a real stack: the Rasa token is not on any process's command line and
travels in a header, and no log line of any process (Rasa, the action server, bot.web, the Telegram
channel in process, Python logging at DEBUG) shows the Telegram token, the database password, the
Rasa or action-server token or BackTalk's keys."""
from __future__ import annotations

import logging
import secrets
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import sqlalchemy

from bot.rasa_client import auth_headers
from bot.store.migrate import upgrade
from tests.conftest import POSTGRES_URL, make_settings
from tests.e2e.servers import RunningStack, http
from tests.telegram_fake import TOKEN as TELEGRAM_TOKEN, TelegramHarness

pytestmark = pytest.mark.e2e
DB_PASSWORD = f"db-pw-{secrets.token_hex(8)}"  # trust authentication on the test server ignores it


@pytest.fixture(scope="module")
def secret_stack(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[RunningStack, List[str]]]:
    """A stack on PostgreSQL through a URL with a password, every secret distinctive, logging at DEBUG."""
    data_dir = tmp_path_factory.mktemp("secrets")
    database = f"bt_secrets_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    url = sqlalchemy.engine.make_url(POSTGRES_URL).set(database=database, password=DB_PASSWORD)
    config = make_settings(url.render_as_string(hide_password=False), data_dir).copy(update=dict(
        rasa_auth_token=f"rasa-token-{secrets.token_hex(12)}",
        action_server_token=f"action-token-{secrets.token_hex(12)}",
        pseudonym_key=f"pseudonym-key-{secrets.token_hex(12)}".encode(),
        encryption_key=f"encryption-key-{secrets.token_hex(12)}".encode()))
    hidden = [TELEGRAM_TOKEN, DB_PASSWORD, config.rasa_auth_token, config.action_server_token,
              config.pseudonym_key.decode(), config.encryption_key.decode()]
    upgrade(config.database_url)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOG_LEVEL", "DEBUG")  # every process at its most talkative
        running = RunningStack(config=config, model=model, with_web=True).start()
    try:
        yield running, hidden
    finally:
        running.stop()
        sqlalchemy.create_engine(config.database_url).dispose()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE "{database}" WITH (FORCE)'))
        admin.dispose()


def test_the_rasa_token_is_not_on_the_command_line_and_goes_in_a_header(
        secret_stack: Tuple[RunningStack, List[str]]) -> None:
    stack, hidden = secret_stack
    for name, process in stack.processes.items():
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert not [s for s in hidden if s in cmdline], name
    assert "rasa_server" in Path(f"/proc/{stack.processes['rasa'].pid}/cmdline").read_text()
    token = stack.config.rasa_auth_token
    assert http("GET", f"{stack.rasa_url}/status", headers=auth_headers(token))[0] == 200
    assert http("GET", f"{stack.rasa_url}/status")[0] == 401
    assert http("GET", f"{stack.rasa_url}/status", headers={"Authorization": f"Token {token}x"})[0] == 401
    assert http("GET", f"{stack.rasa_url}/status", headers={"Authorization": f"Bearer {token}"})[0] == 401


def test_no_log_line_shows_a_secret(secret_stack: Tuple[RunningStack, List[str]],
                                    caplog: pytest.LogCaptureFixture) -> None:
    stack, hidden = secret_stack
    caplog.set_level(logging.DEBUG)
    conversation = f"secrets{secrets.token_hex(8)}"
    for message in ("hi", "yes", "yes", "my lower back", "no", "/language", "yes"):
        status, body = http("POST", f"{stack.web_url}/api/chat",
                            {"conversation_id": conversation, "message": message, "language": "en"})
        assert status == 200 and body["messages"], (message, body)
    assert http("POST", f"{stack.web_url}/api/forget", {"conversation_id": conversation})[0] == 200
    harness = TelegramHarness(stack.config.copy(update={"rasa_url": stack.rasa_url}), poll_timeout=1).start()
    try:
        user = harness.chat(6_100_000_000 + secrets.randbelow(1_000_000), "en")
        assert user.say("/start") and user.say("yes")
    finally:
        harness.stop()
    lines = [record.getMessage() for record in caplog.records]
    lines += [record.exc_text or "" for record in caplog.records]
    for log in sorted(stack.config.data_dir.glob("*.log")):
        lines += log.read_text(encoding="utf-8", errors="replace").splitlines()
    assert len(lines) > 200  # the processes did talk (DEBUG)
    leaks = sorted({f"{secret[:10]}… in: {line[:90]}" for line in lines for secret in hidden if secret in line})
    assert not leaks, "\n".join(leaks)
