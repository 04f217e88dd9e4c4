"""`backtalk report outcomes` and `backtalk demo-data` (docs/followups.md)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import select

from bot.config import Settings


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    report = commands.add_parser("report", help="reports on stored data (docs/followups.md)")
    kinds = report.add_subparsers(dest="report_kind", required=True)
    outcomes = kinds.add_parser("outcomes", help="change at 3 and 6 months per intervention and risk group")
    outcomes.add_argument("--clinic", metavar="CODE", help="only this clinic (default: every clinic)")
    outcomes.add_argument("--csv", type=Path, metavar="FILE", help="also write the cells as CSV")
    demo = commands.add_parser("demo-data", help="fill the database with a synthetic multi-clinic data set")
    demo.add_argument("--patients", type=int, default=120, help="triages per demo clinic (default 120)")
    demo.add_argument("--seed", type=int, default=1)


def run(args: argparse.Namespace, config: Settings) -> int:
    if args.command == "demo-data":
        from bot.followup.demo import generate

        if config.environment == "production":
            print("backtalk demo-data: refused in production (BACKTALK_ENV=production)", file=sys.stderr)
            return 2
        made = generate(config.database_url, args.patients, args.seed)
        print(f"{made.clinics} demo clinic(s), {made.triages} synthetic triages, {made.answered} answered check-ins")
        return 0
    from bot.followup.outcomes import WARNING, outcome_rows, report, text_table, to_csv
    from bot.store.db import session_scope
    from bot.store.models import Clinic

    with session_scope(config.database_url) as db:
        clinic_id = None
        if args.clinic:
            clinic_id = db.execute(select(Clinic.id).where(Clinic.code == args.clinic)).scalar_one_or_none()
            if clinic_id is None:
                print(f"no clinic with code {args.clinic!r}", file=sys.stderr)
                return 2
        cells = report(outcome_rows(db, clinic_id))
    print(WARNING)
    print(text_table(cells) if cells else "no answered 3- or 6-month check-ins yet")
    if args.csv:
        args.csv.write_text(to_csv(cells), encoding="utf-8")
        print(f"written to {args.csv}")
    return 0
