"""Follow-up scheduler throughput and duplicates: N check-ins due at once on PostgreSQL, sent by one
or two scheduler processes racing over the same rows (the real claim/mark code, bot.followup.scheduler;
the messenger only counts, so the figure is the scheduler's own cost, not Telegram's).

    .venv/bin/python -m benchmarks.followup_scheduler                      # 10,000 due, 1 and 2 schedulers
    .venv/bin/python -m benchmarks.followup_scheduler --due 2000 --batch 100

Each run uses a throw-away schema of the local PostgreSQL server (BACKTALK_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards. Prints a table: schedulers, sent,
distinct patients, duplicates (sent twice or more: must be 0), seconds, check-ins per second.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import List, Tuple

import sqlalchemy

POSTGRES_URL = os.environ.get("BACKTALK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DUE_AT = datetime(2026, 1, 19, 9, 0, tzinfo=timezone.utc)  # 10:00 in Copenhagen: no quiet hours


def fill(url: str, due: int) -> None:
    from bot.store.models import FollowUp, FollowUpSeries, TriageSession

    engine = sqlalchemy.create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.insert(TriageSession), [
            {"id": n + 1, "pseudonym": f"p{n}", "language": "en", "status": "complete",
             "reference_code": f"BT-{n:08d}"[:12], "consent_at": DUE_AT, "started_at": DUE_AT,
             "updated_at": DUE_AT, "review_status": "new", "needs_attention": False} for n in range(due)])
        connection.execute(sqlalchemy.insert(FollowUpSeries), [
            {"id": n + 1, "session_id": n + 1, "pseudonym": f"p{n}", "channel": "telegram", "language": "en",
             "time_zone": "Europe/Copenhagen", "token_hash": uuid.uuid4().hex, "status": "active",
             "created_at": DUE_AT - timedelta(days=14)} for n in range(due)])
        connection.execute(sqlalchemy.insert(FollowUp), [
            {"series_id": n + 1, "label": "2w", "offset_days": 14, "restratify": True, "status": "scheduled",
             "due_at": DUE_AT, "next_action_at": DUE_AT, "attempts": 0} for n in range(due)])
    engine.dispose()


class Counting:
    def __init__(self) -> None:
        self.sent: List[str] = []

    def send(self, pseudonym: str, text: str) -> None:
        self.sent.append(pseudonym)


def scheduler(url: str, batch: int, start: "multiprocessing.synchronize.Event",
              out: "multiprocessing.Queue[Tuple[List[str], float]]") -> None:
    from bot.followup.scheduler import SchedulerPolicy, run_once

    messenger = Counting()
    policy = SchedulerPolicy(batch_size=batch)
    now = DUE_AT + timedelta(minutes=1)
    start.wait()
    began = time.perf_counter()
    while run_once(url, messenger, policy, clock=lambda: now).tasks:
        pass
    out.put((messenger.sent, time.perf_counter() - began))


def run(due: int, schedulers: int, batch: int) -> Tuple[int, int, float]:
    from bot.store.migrate import upgrade

    schema = f"bt_bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL, future=True)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        fill(url, due)
        context = multiprocessing.get_context("spawn")
        start, out = context.Event(), context.Queue()
        processes = [context.Process(target=scheduler, args=(url, batch, start, out)) for _ in range(schedulers)]
        for process in processes:
            process.start()
        time.sleep(3)  # let both import before the start signal (a set-up wait, not a measurement)
        began = time.perf_counter()
        start.set()
        sent: List[str] = []
        for _ in processes:
            names, _seconds = out.get(timeout=3600)
            sent += names
        elapsed = time.perf_counter() - began
        for process in processes:
            process.join(60)
        return len(sent), len(set(sent)), elapsed
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    print(f"{'schedulers':>10} {'sent':>7} {'patients':>8} {'duplicates':>10} {'seconds':>8} {'per s':>7}")
    for schedulers in (1, 2):
        sent, distinct, elapsed = run(args.due, schedulers, args.batch)
        print(f"{schedulers:>10} {sent:>7} {distinct:>8} {sent - distinct:>10} {elapsed:>8.1f} {sent / elapsed:>7.0f}")


if __name__ == "__main__":
    main()
