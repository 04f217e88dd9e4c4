"""Transcript export throughput and memory on PostgreSQL: `python -m benchmarks.transcripts_export`.

Fills a throw-away schema of the PostgreSQL database (``--database-url``, default
BACKTALK_TEST_POSTGRES_URL or the local `test` database, like the tests; never BackTalk's own DATABASE_URL) with research-consented triages and Rasa events in the SQL tracker store's schema (half of
the turns the patient's, typed text with identifiers in the conversation's language; the rest bot
messages and slot changes), exports them with bot.privacy.transcripts to files, and prints turns per
second and peak memory (max RSS of this process; the spaCy pipelines for twelve languages included).
The schema is dropped afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import List

import sqlalchemy
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.privacy.transcripts import TranscriptFilter, export_transcripts
from bot.store.models import TriageSession, metadata, utcnow

TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"  # what tests/conftest.py uses

PATIENT = [
    "my name is Anna Pearce and my back hurts since 3 March 2024",
    "call me on 07700 900123 please, or mail anna.pearce@example.com",
    "it hurts when I sit for more than 20 minutes, about 6/10",
    "I live at 17 Jones Light, E70 6ZA Phillipsbury",
    "yes", "no", "not sure", "7", "agree", "my mother is 93 years old and I lift her every day",
]
BOT = ["Where is your pain?", "How much does it bother you, from 0 to 10?",
       "Your reference code is BT-ABCD-EFGH. Your plan: https://clinic.example/files/abc"]


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--per-conversation", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get("BACKTALK_TEST_POSTGRES_URL", TEST_POSTGRES_URL))
    args = parser.parse_args(argv)
    base = args.database_url
    schema = f"bt_bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(base, future=True)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        engine = sqlalchemy.create_engine(url, future=True)
        metadata.create_all(engine)
        events = Table("events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String(255), index=True),
                       Column("type_name", String(255)), Column("timestamp", Float), Column("intent_name", String(255)),
                       Column("action_name", String(255)), Column("data", Text))
        events.create(engine)
        rng = random.Random(5)
        conversations = args.turns // args.per_conversation
        with engine.begin() as connection:
            for n in range(conversations):
                pseudonym = f"p_{n:040x}"
                language = SUPPORTED_LANGUAGES[n % len(SUPPORTED_LANGUAGES)]
                connection.execute(TriageSession.__table__.insert(), [dict(
                    pseudonym=pseudonym, rasa_sender=pseudonym, channel="rest", language=language, status="complete", consent_at=utcnow(),
                    started_at=utcnow(), updated_at=utcnow(), completed_at=utcnow(), risk_group="medium",
                    needs_attention=False, review_status="new", research_consent=True, reference_code=f"BT-{n:09d}"[:12])])
                rows = []
                for t in range(args.per_conversation):
                    kind = ("user", "bot", "slot")[t % 3] if t % 3 else "user"
                    data = ({"text": rng.choice(PATIENT), "parse_data": {"intent": {"name": "answer", "confidence": 0.9}}}
                            if kind == "user" else {"text": rng.choice(BOT)} if kind == "bot"
                            else {"name": "pain_now", "value": rng.randrange(11)})
                    rows.append({"sender_id": pseudonym, "type_name": kind, "timestamp": 1.7e9 + t * 3.0,
                                 "data": json.dumps({"event": kind, **data})})
                connection.execute(events.insert(), rows)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            with open(Path(directory) / "t.jsonl", "w", encoding="utf-8") as jsonl, \
                    open(Path(directory) / "t.csv", "w", encoding="utf-8", newline="") as csv_file:
                counts = export_transcripts(url, jsonl, csv_file, TranscriptFilter(), username="benchmark")
            seconds = time.perf_counter() - started
            size = sum(p.stat().st_size for p in Path(directory).iterdir())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"{counts.conversations} conversations, {counts.turns} turns ({counts.withheld} withheld) "
              f"in {seconds:.1f} s: {counts.turns / seconds:.0f} turns/s; output {size / 1e6:.1f} MB")
        print(f"peak RSS {peak / 1024:.0f} MB (before the export {before / 1024:.0f} MB)")
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
