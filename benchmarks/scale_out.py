"""Throughput and latency of BackTalk with 1, 2 and 4 Rasa processes, in the same run.

The production shape of docs/deployment.md: N Rasa processes and two action servers on PostgreSQL
(a throw-away database on the server BACKTALK_TEST_POSTGRES_URL names, dropped afterwards) and
Redis (the lock store), with each conversation routed to one Rasa process by bot.routing, as
bot.web and the Telegram channel do. For each N, ``--conversations`` scripted triages run at once
(benchmarks/latency.py's script); the figures are recorded, not asserted.

Run from the project root: ``.venv/bin/python -m benchmarks.scale_out [--processes 1 2 4] [--conversations 100]``.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import List, Optional

import sqlalchemy

from benchmarks.latency import (
    BACKTALK_SCRIPT, PHASE_TIMEOUT, REFERENCE_CODE, Bot, Conversation, Result, converse, group_cpu_seconds,
    machine_facts, say, table,
)
from bot.routing import route
from bot.store.db import engine_for
from bot.store.migrate import upgrade
from tests.conftest import POSTGRES_URL, make_settings
from tests.e2e.servers import ScaledStack, ensure_model

REDIS_URL = "redis://127.0.0.1:6379/0"


def measure(stack: ScaledStack, bot: Bot, concurrency: int) -> Result:
    """Warm every Rasa process up, then run ``concurrency`` conversations at once, each sent to its
    process; CPU time counts every server of the stack."""
    for url in stack.rasa_urls:
        say(url, f"warmup-{uuid.uuid4().hex}", bot.script[0], bot.metadata)
    groups = [process.pid for process in stack.processes.values()]
    deadline = time.monotonic() + PHASE_TIMEOUT

    def one() -> Conversation:
        sender = f"bench-{uuid.uuid4().hex}"
        return converse(route(sender, stack.rasa_urls), bot, deadline, sender=sender)

    cpu = group_cpu_seconds(groups)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        conversations = list(pool.map(lambda _: one(), range(concurrency)))
    wall = time.perf_counter() - started
    label = f"{len(stack.rasa_urls)} Rasa process{'es' if len(stack.rasa_urls) > 1 else ''}"
    return Result(bot, conversations, wall, group_cpu_seconds(groups) - cpu, label)


def run_with(processes: int, concurrency: int, model: Path, work_dir: Path, bot: Bot) -> Result:
    """One stack with ``processes`` Rasa processes on a database of its own."""
    database = f"bt_scale_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    url = sqlalchemy.engine.make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)
    data_dir = work_dir / f"{processes}-processes"
    data_dir.mkdir()
    config = make_settings(url, data_dir)
    config = type(config)(**{**config.__dict__, "redis_url": REDIS_URL})
    stack = ScaledStack(config=config, model=model, rasa_count=processes, with_web=False)
    try:
        upgrade(url)
        stack.start()
        return measure(stack, bot, concurrency)
    finally:
        stack.stop()
        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_out", description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4], help="Rasa processes (default 1 2 4)")
    parser.add_argument("--conversations", type=int, default=100, help="conversations at once (default 100)")
    parser.add_argument("--messages", type=int, default=len(BACKTALK_SCRIPT),
                        help=f"the first MESSAGES of the script per conversation (default all {len(BACKTALK_SCRIPT)}: "
                             "to the reference code)")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= len(BACKTALK_SCRIPT):
        parser.error(f"--messages must be 1-{len(BACKTALK_SCRIPT)}")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    script = BACKTALK_SCRIPT[:args.messages]
    whole = args.messages == len(BACKTALK_SCRIPT)
    # a shortened script ends at a question: "completed" then means every message was answered
    bot = Bot("BackTalk", script, (lambda reply: any(REFERENCE_CODE.search(m.get("text", "")) for m in reply))
              if whole else bool, metadata={"language": "en"})
    work_dir = Path(tempfile.mkdtemp(prefix="backtalk-scale-"))
    started = time.monotonic()
    try:
        model = ensure_model()
        results = []
        for processes in args.processes:
            print(f"measuring {processes} Rasa process(es)...", file=sys.stderr, flush=True)
            results.append(run_with(processes, args.conversations, model, work_dir, bot))
            print(f"  {' | '.join(results[-1].row())}", file=sys.stderr, flush=True)
    except BaseException:
        print(f"benchmark failed; logs kept in {work_dir}", file=sys.stderr)
        raise
    shutil.rmtree(work_dir)
    print(f"{args.conversations} concurrent conversations, {len(script)} messages each, PostgreSQL + Redis, "
          f"two action servers, REST channel on 127.0.0.1")
    print(machine_facts())
    print()
    header = ["shape", "conversations", "messages", "p50 ms", "p95 ms", "max ms", "msg/s", "errors", "completed",
              "server CPU %"]
    print(table(header, [r.row() for r in results]))
    print()
    print(f"wall time of the whole run: {time.monotonic() - started:.0f} s")
    if any(r.completed < len(r.conversations) for r in results):
        print("not comparable: some conversations did not complete", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
