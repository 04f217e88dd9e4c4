"""Faults in the middle of 20 live conversations on the scaled-out shape (two Rasa processes, two
action servers, bot.web routing each conversation to one Rasa; PostgreSQL and Redis of the test's
own, so restarting them disturbs no one else's tests).

One after another: a Rasa process and an action server are killed (SIGKILL) and started again;
PostgreSQL and Redis are stopped and started again. While a part is down, every patient whose
message cannot be served gets a kind "please send it again" (bot.web's 502/503, which the widget
shows as a message, or a catalog message), never silence or a stack trace. Afterwards every
conversation continues at the question an undisturbed patient is asked at that point, finishes
with a reference code, every answer is stored, and none twice (neither in the database nor as a
second slot event in Rasa's tracker).

Bounded: 20 conversations, 22 messages each, loopback only, every wait has a deadline.
Run with ``pytest -m fault``.
"""
from __future__ import annotations

import concurrent.futures
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from sqlalchemy import select

from bot.i18n.catalog import translate
from bot.privacy.pseudonym import pseudonymise
from bot.rasa_client import auth_headers
from bot.routing import route
from bot.store.db import engine_for, session_scope
from bot.store.migrate import upgrade
from bot.store.models import TriageSession
from tests.conftest import make_settings
from tests.e2e.servers import ScaledStack, free_port, http

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

CONVERSATIONS = 20
CODE = re.compile(r"BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
# A low-risk back-pain triage typed from greeting to reference code (as benchmarks/latency.py).
SCRIPT = [
    "hi", "yes", "no", "low back", *["no"] * 6, "two weeks",
    "agree", "disagree", "disagree", "agree", "disagree", "disagree", "agree", "disagree",
    "slightly", "4", "no thanks", "yes",  # ... no outlook, and "yes" to the summary of answers
]
# Which message each fault interrupts.
KILL_RASA, KILL_ACTIONS, RESTART_POSTGRES, RESTART_REDIS = 4, 7, 10, 13
RECOVERY_ATTEMPTS = 4  # sends of one message after a part came back (pooled connections may be stale once)
SERVICE_TIMEOUT = 60


def kind_texts() -> set:
    return {translate("en", msgid) for msgid in ("chat.no_reply", "error.try_again")}


def is_kind(status: int, body: Any) -> bool:
    """What the patient gets while a part is down: bot.web's "please try again shortly" (the widget
    shows it in the page's language) or a catalog message asking to send the message again."""
    if status in (502, 503):
        return isinstance(body, dict) and "please try again" in str(body.get("error", ""))
    # (the action server's "please send your answer again" comes with the question asked again)
    return status == 200 and bool(body["messages"]) and body["messages"][0].get("text") in kind_texts()


def last_text(body: Any) -> str:
    return body["messages"][-1].get("text", "")


# -- PostgreSQL and Redis of the test's own -------------------------------------------------------

def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"PostgreSQL's {name} is not installed (/usr/lib/postgresql/*/bin)"
    return found[-1]


class Postgres:
    """A throw-away PostgreSQL cluster on a free loopback port (run as the postgres user when the
    tests run as root, since PostgreSQL refuses root; its directory is then outside pytest's
    root-only temporary directory)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="backtalk-fault-pg-"))
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.directory, "postgres")
        directory = self.directory
        self._run(postgres_bin("initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT, timeout=SERVICE_TIMEOUT)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        self._run(postgres_bin("pg_ctl"), "-D", str(self.directory / "data"), "-o", options,
                  "-l", str(self.directory / "postgres.log"), "-w", "-t", str(SERVICE_TIMEOUT), "start")

    def stop(self) -> None:
        self._run(postgres_bin("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run([*self.as_postgres, postgres_bin("pg_ctl"), "-D", str(self.directory / "data"), "status"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=SERVICE_TIMEOUT)
        return status.returncode == 0

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class Redis:
    """A throw-away redis-server on a free loopback port, without persistence."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + SERVICE_TIMEOUT
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            assert self.process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)  # polling a server that is starting

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=SERVICE_TIMEOUT)
            self.process = None


@pytest.fixture(scope="module")
def scaled(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[ScaledStack, Postgres, Redis]]:
    work = tmp_path_factory.mktemp("faults")
    postgres, redis = Postgres(), Redis(work)
    stack: Optional[ScaledStack] = None
    try:
        postgres.start()
        redis.start()
        config = make_settings(postgres.url, work)
        config = type(config)(**{**config.__dict__, "redis_url": f"redis://127.0.0.1:{redis.port}/0"})
        upgrade(config.database_url)
        # 20 conversations from one address, each resending after a fault: above any per-conversation or
        # per-address limit (one load generator stands for many patients)
        stack = ScaledStack(config=config, model=model, rasa_count=2,
                            extra_env={"WEB_RATE_LIMIT_MESSAGES": "1000", "WEB_ADDRESS_RATE_LIMIT_MESSAGES": "0",
                                       "WEB_NEW_CONVERSATIONS_PER_HOUR": "0"}).start()
        yield stack, postgres, redis
    finally:
        if stack is not None:
            stack.stop()
        engine_for(postgres.url).dispose()
        redis.stop()
        if postgres.running():
            postgres.stop()
        postgres.remove()


# -- the conversations ----------------------------------------------------------------------------

class Conversation:
    def __init__(self, stack: ScaledStack) -> None:
        self.stack = stack
        self.id = f"fault-{uuid.uuid4().hex[:16]}"
        self.sender = pseudonymise(f"web:{self.id}", stack.config.pseudonym_key)
        self.rasa = stack.rasa_urls.index(route(self.sender, stack.rasa_urls)) + 1
        self.replies: List[str] = []  # the last text of the answer to each script message

    def send(self, step: int) -> Tuple[int, Any]:
        return self.stack.chat(self.id, SCRIPT[step])

    def send_until_answered(self, step: int) -> None:
        """The patient sends the message again after a kind "try again", as they were asked to."""
        for _ in range(RECOVERY_ATTEMPTS):
            status, body = self.send(step)
            if status == 200 and not is_kind(status, body):
                self.replies.append(last_text(body))
                return
            assert is_kind(status, body), (step, status, body)
        raise AssertionError(f"{self.id}: message {step} still not answered after {RECOVERY_ATTEMPTS} sends")


def each(conversations: List[Conversation], job: Any) -> List[Any]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(conversations)) as pool:
        return list(pool.map(job, conversations))


def test_conversations_survive_killed_servers_and_restarted_stores(scaled: Tuple[ScaledStack, Postgres, Redis]) -> None:
    stack, postgres, redis = scaled
    control = Conversation(stack)  # undisturbed: what each patient should be asked at each step
    for step in range(len(SCRIPT)):
        control.send_until_answered(step)
    conversations = [Conversation(stack) for _ in range(CONVERSATIONS)]
    on_first = [c for c in conversations if c.rasa == 1]
    assert on_first and len(on_first) < CONVERSATIONS, "20 random ids all routed to one Rasa process"
    kinds: Counter = Counter()

    def during_fault(step: int, stop: Any, start: Any, affected: List[Conversation]) -> None:
        stop()
        results = each(conversations, lambda c: c.send(step))
        for conversation, (status, body) in zip(conversations, results):
            if conversation in affected:
                assert is_kind(status, body), (step, conversation.rasa, status, body)
                kinds[step] += 1
            elif status == 200 and not is_kind(status, body):  # served by the part still up
                conversation.replies.append(last_text(body))
        start()
        each([c for c in conversations if len(c.replies) == step], lambda c: c.send_until_answered(step))

    for step in range(len(SCRIPT)):
        if step == KILL_RASA:
            during_fault(step, lambda: stack.kill("rasa-1"), lambda: stack.restart("rasa-1"), on_first)
        elif step == KILL_ACTIONS:  # rasa-1 uses actions-1
            during_fault(step, lambda: stack.kill("actions-1"), lambda: stack.restart("actions-1"), on_first)
        elif step == RESTART_POSTGRES:
            during_fault(step, postgres.stop, postgres.start, conversations)
        elif step == RESTART_REDIS:
            during_fault(step, redis.stop, redis.start, conversations)
        else:
            each(conversations, lambda c: c.send_until_answered(step))

    # Every patient was told kindly while their part was down ...
    assert kinds == {KILL_RASA: len(on_first), KILL_ACTIONS: len(on_first),
                     RESTART_POSTGRES: CONVERSATIONS, RESTART_REDIS: CONVERSATIONS}
    # ... and then went on at the same question as the undisturbed patient, to a reference code.
    for conversation in conversations:
        assert conversation.replies == control.replies, conversation.id
    # Every answer stored, none twice: the same answers as the control, one row per item.
    with session_scope(stack.config.database_url) as db:
        def stored(conversation: Conversation) -> Tuple[str, Dict[str, str], int]:
            pseudonym = pseudonymise(conversation.sender, stack.config.pseudonym_key)
            (triage,) = db.execute(select(TriageSession).where(TriageSession.pseudonym == pseudonym)).scalars().all()
            assert triage.reference_code and CODE.fullmatch(triage.reference_code)
            return triage.status, {a.item_id: a.code for a in triage.answers}, len(triage.answers)

        expected_status, expected_answers, _ = stored(control)
        assert expected_status == "complete" and len(expected_answers) >= 17
        for conversation in conversations:
            status, answers, rows = stored(conversation)
            assert (status, answers, rows) == (expected_status, expected_answers, len(expected_answers)), conversation.id
    # Nor by Rasa: the user turns it answered are the script, each once (a turn that failed while a
    # part was down left no answer behind; a message handled twice would show up here), and every
    # item ends with the undisturbed patient's value.
    def answered_turns(conversation: Conversation) -> Tuple[List[str], Dict[str, Any]]:
        url = f"{stack.rasa_urls[conversation.rasa - 1]}/conversations/{conversation.sender}/tracker"
        status, tracker = http("GET", url, headers=auth_headers(stack.config.rasa_auth_token))
        assert status == 200, (status, tracker)
        turns: List[Tuple[str, bool]] = []
        for event in tracker["events"]:
            if event["event"] == "user":
                turns.append((event["text"], False))
            elif event["event"] == "bot" and turns:
                turns[-1] = (turns[-1][0], True)
        return [text for text, answered in turns if answered], {k: tracker["slots"].get(k) for k in expected_answers}

    expected_turns, expected_slots = answered_turns(control)
    assert expected_turns == SCRIPT
    for conversation in conversations:
        assert answered_turns(conversation) == (SCRIPT, expected_slots), conversation.id
