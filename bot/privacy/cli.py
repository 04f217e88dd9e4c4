"""`backtalk export transcripts`, `backtalk retention run` and `backtalk erase` (docs/privacy.md)."""
from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from bot.config import Settings

RISK_GROUPS = ("low", "medium", "high")


def add_transcript_command(kinds: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from bot.i18n.catalog import SUPPORTED_LANGUAGES

    transcripts = kinds.add_parser("transcripts", help="de-identified transcripts of research-consented conversations")
    transcripts.add_argument("--out", required=True, type=Path, metavar="DIR",
                             help="directory for transcripts-<time>.jsonl and transcripts-<time>.csv")
    transcripts.add_argument("--language", dest="languages", action="extend", nargs="+", default=[],
                             choices=SUPPORTED_LANGUAGES, help="only conversations in these languages")
    transcripts.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="triage started on or after")
    transcripts.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="triage started on or before")
    transcripts.add_argument("--risk-group", dest="risk_groups", action="extend", nargs="+", default=[],
                             choices=RISK_GROUPS, help="only triages with these risk groups")


def export_transcripts_command(args: argparse.Namespace, database_url: str) -> int:
    from bot.privacy.transcripts import TranscriptFilter, export_transcripts

    filters = TranscriptFilter(tuple(args.languages), args.since, args.until, tuple(args.risk_groups))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    jsonl_path, csv_path = args.out / f"transcripts-{stamp}.jsonl", args.out / f"transcripts-{stamp}.csv"
    with jsonl_path.open("w", encoding="utf-8") as jsonl, csv_path.open("w", encoding="utf-8", newline="") as csv_file:
        counts = export_transcripts(database_url, jsonl, csv_file, filters, username="cli")
    print(f"exported {counts.conversations} conversation(s), {counts.turns} turn(s) to {jsonl_path} and {csv_path}; "
          f"{counts.withheld} turn(s) withheld (the scrubber failed on them)", file=sys.stderr)
    return 0


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    retention = commands.add_parser("retention", help="delete conversations past their retention (BackTalk rows and Rasa events)")
    retention.add_argument("action", choices=["run"])
    # defaults (None here): the settings' BACKTALK_RETENTION_UNFINISHED_DAYS / BACKTALK_RETENTION_DAYS, in run()
    retention.add_argument("--unfinished-days", type=int, default=None,
                           help="keep unconsented, abandoned and unfinished conversations this long (default 30, "
                                "BACKTALK_RETENTION_UNFINISHED_DAYS)")
    retention.add_argument("--finished-days", type=int, default=None,
                           help="keep finished triages this long (clinic policy, BACKTALK_RETENTION_DAYS; default: keep)")
    erase = commands.add_parser("erase", help="erase a patient's whole conversation by reference code (admins)")
    erase.add_argument("reference_code", metavar="BT-XXXX-XXXX")


def run(args: argparse.Namespace, config: Settings) -> int:
    from bot.audit import record
    from bot.store.db import session_scope

    if args.command == "retention":
        from bot.privacy.retention import run_retention

        unfinished_days = config.retention_unfinished_days if args.unfinished_days is None else args.unfinished_days
        finished_days = config.retention_days if args.finished_days is None else args.finished_days
        counts = run_retention(config.database_url, unfinished_days, finished_days)
        with session_scope(config.database_url) as db:
            record(db, "retention_run", username="cli", detail={"unfinished_days": unfinished_days,
                                                                 "finished_days": finished_days,
                                                                 "triages": counts.triages, "events": counts.events})
        print(f"deleted {counts.conversations} conversation(s): {counts.triages} triage(s), "
              f"{counts.events} Rasa event(s)")
        return 0
    from bot.privacy.retention import UnknownReferenceCode, erase_by_reference_code

    try:
        erased = erase_by_reference_code(config.database_url, args.reference_code)
    except UnknownReferenceCode:
        print(f"unknown reference code: {args.reference_code}", file=sys.stderr)
        return 2
    with session_scope(config.database_url) as db:
        record(db, "erase", username="cli", reference_code=args.reference_code.strip().upper(),
               detail={"triages": erased.triages, "events": erased.events})
    print(f"erased {erased.triages} triage(s), {erased.events} Rasa event(s)"
          f"{' and the Telegram chat link' if erased.chat_link else ''}")
    return 0
