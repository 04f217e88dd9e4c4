"""How fast the clinic's queue page answers with many triages: a fresh PostgreSQL schema (or SQLite
with --sqlite) is filled with N triages of one clinic (plus as many of another clinic, which the page
must skip), then a signed-in clinician's browser requests the queue page, unfiltered and with
filters, through the real bot.web app. Prints p50/p95/max per page; asserts nothing.

    .venv/bin/python -m benchmarks.clinic_queue                  # 10,000 triages on PostgreSQL
    .venv/bin/python -m benchmarks.clinic_queue --triages 2000 --sqlite

The rows are written in bulk (a benchmark's data, not a test of the write path); every fifth is
high risk, every 23rd stopped at a red flag, every 7th unfinished, so the urgent-first order has work.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Dict, List

import sqlalchemy
from aiohttp.test_utils import TestClient, TestServer

from bot.clinic import accounts
from bot.reference_code import new_reference_code
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.models import TriageSession, utcnow
from bot.web.app import WebOptions, create_app
from tests.conftest import POSTGRES_URL, make_settings

PASSWORD = "benchmark password 1"
PAGES = {"queue": "/clinic/queue", "queue page 50": "/clinic/queue?page=50", "high risk": "/clinic/queue?risk=high",
         "new, low back": "/clinic/queue?status=new&site=low_back", "by code": None}


def fill(url: str, triages: int) -> str:
    """Two clinics with ``triages`` each; returns a reference code of the first clinic."""
    with session_scope(url) as db:
        north = accounts.add_clinic(db, "north", "North")
        south = accounts.add_clinic(db, "south", "South")
        accounts.add_user(db, "bench", PASSWORD, "clinician", "north")
    rng = random.Random(7)
    now = utcnow()
    used: set = set()

    def new_code() -> str:
        code = new_reference_code()
        while code in used:
            code = new_reference_code()
        used.add(code)
        return code

    code = ""
    for clinic_id in (north.id, south.id):
        rows: List[Dict[str, object]] = []
        for n in range(triages):
            started = now - timedelta(minutes=n * 7)
            unfinished, flagged = n % 7 == 0, n % 23 == 0
            group = None if unfinished or flagged else ("high" if n % 5 == 0 else rng.choice(["low", "medium"]))
            reference = None if unfinished else new_code()
            rows.append({"pseudonym": f"p_{uuid.uuid4().hex}", "channel": "rest", "language": "en",
                         "status": "in_progress" if unfinished else ("red_flag" if flagged else "complete"),
                         "consent_at": started, "started_at": started, "updated_at": started,
                         "completed_at": None if unfinished else started + timedelta(minutes=4),
                         "pain_site": rng.choice(["low_back", "neck", "both"]), "risk_group": group,
                         "risk_tool": None if group is None else "start_back", "risk_score": None,
                         "red_flag": "rf_cancer" if flagged else None, "needs_attention": flagged or group == "high",
                         "reference_code": reference, "clinic_id": clinic_id,
                         "review_status": rng.choice(["new", "new", "seen", "booked"])})
            if reference and clinic_id == north.id and n == triages // 2:
                code = reference
        with session_scope(url) as db:
            db.execute(sqlalchemy.insert(TriageSession), rows)
    return code


async def measure(url: str, data_dir: Path, code: str, requests: int) -> Dict[str, List[float]]:
    config = make_settings(url, data_dir)
    timings: Dict[str, List[float]] = {name: [] for name in PAGES}
    async with TestClient(TestServer(create_app(config, WebOptions()))) as client:
        page = await client.get("/clinic/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)  # type: ignore[union-attr]
        await client.post("/clinic/sign-in", data={"csrf": token, "username": "bench", "password": PASSWORD})
        for name, path in PAGES.items():
            path = path or f"/clinic/queue?code={code}"
            for _ in range(requests):
                start = time.perf_counter()
                response = await client.get(path)
                await response.read()
                assert response.status == 200, (path, response.status)
                timings[name].append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triages", type=int, default=10_000, help="per clinic (default 10,000)")
    parser.add_argument("--requests", type=int, default=20, help="requests per page (default 20)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bt_bench_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(POSTGRES_URL, future=True)
        if args.sqlite:
            url = f"sqlite:///{tmp}/bench.db"
        else:
            with admin.begin() as connection:
                connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
        try:
            upgrade(url)
            started = time.perf_counter()
            code = fill(url, args.triages)
            print(f"filled {2 * args.triages} triages in {time.perf_counter() - started:.1f} s "
                  f"({'SQLite' if args.sqlite else 'PostgreSQL'}, nproc {os.cpu_count()})")
            timings = asyncio.run(measure(url, Path(tmp), code, args.requests))
        finally:
            if not args.sqlite:
                with admin.begin() as connection:
                    connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print(f"\n| page ({args.triages} triages in the clinic) | requests | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for name, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
        print(f"| {name} | {len(values)} | {statistics.median(values):.1f} | {p95:.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    main()
