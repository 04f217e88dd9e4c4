"""How long a clinic waits for a notification: from the transaction that finishes a triage (and
writes its outbox row) committing, to the e-mail arriving at an SMTP server.

The real worker runs as its own process (``python -m bot.notify``, as `make run` starts it), polling
every ``--poll`` seconds; an aiosmtpd server on 127.0.0.1 in this process receives the mail, so
both ends of each measurement are read from this process's monotonic clock. Triages finish at
random moments (uniform gaps of 0-2 s), so their phase against the poll varies as it would in use.
The figures are recorded, not tuned: no assertion on them.

Run from the project root: ``.venv/bin/python -m benchmarks.notify_latency [--triages 20] [--poll 5 1]``
(``--database-url postgresql://...`` for PostgreSQL, where it works in a schema of its own that it
drops afterwards; default a fresh SQLite file).
"""
from __future__ import annotations

import argparse
import email
import email.policy
import math
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from aiosmtpd.controller import Controller
import sqlalchemy
from sqlalchemy import select

from bot.notify.outbox import enqueue_for
from bot.paths import PROJECT_ROOT
from bot.questionnaires.flow import TriageFlow
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.models import Clinic, TriageSession
from bot.triage.service import TriageService
from tests.conftest import make_settings

CODE = re.compile(r"BT-[A-Z0-9]{4}-[A-Z0-9]{4}")
RED_FLAG = {"consent": True, "pain_site": "low_back", "rf_saddle_numbness": True}


class Arrivals:
    """aiosmtpd handler: when each reference code's e-mail arrived."""

    def __init__(self) -> None:
        self.at: Dict[str, float] = {}
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        subject = str(email.message_from_bytes(envelope.content, policy=email.policy.default)["Subject"])
        match = CODE.search(subject)
        with self.changed:
            if match:
                self.at.setdefault(match.group(0), now)
            self.changed.notify_all()
        return "250 OK"

    def wait_for(self, codes: List[str], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: all(c in self.at for c in codes), timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: List[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))  # nearest rank
    return ordered[index]


@contextmanager
def throwaway_schema(url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one run (never the server's own tables), dropped afterwards."""
    schema = f"bt_bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url, future=True)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def measure(database_url: str, data_dir: Path, triages: int, poll: float, seed: int) -> List[float]:
    settings = make_settings(database_url, data_dir)
    upgrade(database_url)
    arrivals = Arrivals()
    port = free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "DATABASE_URL": database_url, "BACKTALK_DATA_DIR": str(data_dir),
           "RASA_AUTH_TOKEN": "r", "ACTION_SERVER_TOKEN": "a", "BACKTALK_PSEUDONYM_KEY": "test-pseudonym-key",
           "BACKTALK_ENCRYPTION_KEY": "e", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "false",
           "SMTP_FROM": "backtalk@clinic.example", "SMTP_USERNAME": "", "SMTP_PASSWORD": "", "TELEGRAM_BOT_TOKEN": "",
           "NOTIFY_POLL_SECONDS": str(poll), "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "bot.notify"], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with session_scope(database_url) as db:
            clinic = Clinic(code=f"bench-{time.time_ns()}", name="Benchmark clinic",
                            notify_email="team@clinic.example")
            db.add(clinic)
            db.flush()
            clinic_id = clinic.id
        service = TriageService(settings, TriageFlow())
        rng = random.Random(seed)
        time.sleep(2.0)  # let the worker start before the clock runs
        committed: Dict[str, float] = {}
        for n in range(triages):
            time.sleep(rng.uniform(0, 2))
            sender = f"bench-{seed}-{n}-{time.time_ns()}"
            # As TriageService.finish will do once clinic routing is wired in: finish, route, enqueue,
            # one commit. Here the finish is committed first, then routing and the outbox row.
            service.finish(sender, RED_FLAG, "en")
            with session_scope(database_url) as db:
                triage = db.execute(select(TriageSession).where(
                    TriageSession.pseudonym == service.pseudonym(sender))).scalar_one()
                triage.clinic_id = clinic_id
                enqueue_for(db, triage)
                code = triage.reference_code
            committed[code] = time.monotonic()
        if not arrivals.wait_for(list(committed), timeout=poll * 3 + 60):
            missing = [c for c in committed if c not in arrivals.at]
            raise SystemExit(f"{len(missing)} e-mail(s) never arrived; is the worker running?")
        return [arrivals.at[code] - at for code, at in committed.items()]
    finally:
        try:
            os.killpg(worker.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        controller.stop()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triages", type=int, default=20)
    parser.add_argument("--poll", type=float, nargs="+", default=[5.0, 1.0], help="worker poll intervals, seconds")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bt-notify-bench-") as tmp:
        for poll in args.poll:
            if args.database_url:
                with throwaway_schema(args.database_url) as url:
                    latencies = measure(url, Path(tmp), args.triages, poll, args.seed)
            else:
                latencies = measure(f"sqlite:///{Path(tmp) / f'poll-{poll}.db'}", Path(tmp), args.triages, poll,
                                    args.seed)
            rows.append((poll, latencies))
    database = (args.database_url or "sqlite").split(":", 1)[0]
    print(f"notification latency: finish committed -> e-mail at the SMTP server ({database}, "
          f"{platform.python_version()}, {os.cpu_count()} cores)")
    print(f"{'poll s':>7} {'triages':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'mean s':>7}")
    for poll, latencies in rows:
        print(f"{poll:>7.1f} {len(latencies):>8d} {statistics.median(latencies):>7.2f} "
              f"{percentile(latencies, 0.95):>7.2f} {max(latencies):>7.2f} {statistics.fmean(latencies):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
