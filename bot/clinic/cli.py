"""`backtalk users ...` and `backtalk clinics ...`: how an operator sets up the clinic workspace.

Passwords are never taken from the command line (they would sit in the shell history and the process
list): they are typed at a prompt, read from standard input with ``--password-stdin``, or generated and
printed once.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import Optional, TextIO

from bot import audit
from bot.clinic import accounts
from bot.config import Settings
from bot.store.db import session_scope


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    users = commands.add_parser("users", help="clinic workspace accounts (docs/clinic.md)")
    user_actions = users.add_subparsers(dest="action", required=True)
    add = user_actions.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", choices=accounts.ROLES, required=True)
    add.add_argument("--clinic", metavar="CODE", help="the clinic the account belongs to (required but for admins)")
    add.add_argument("--language", default="en", help="the language of the workspace pages (default en)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    disable = user_actions.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("username")
    reset = user_actions.add_parser("reset", help="set a new password (and unlock the account)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user_actions.add_parser("list", help="list accounts")

    clinics = commands.add_parser("clinics", help="clinics that receive triages (docs/clinic.md)")
    clinic_actions = clinics.add_subparsers(dest="action", required=True)
    add_clinic = clinic_actions.add_parser("add", help="add a clinic")
    add_clinic.add_argument("code", help="letters, digits, '_' or '-': goes into the Telegram link and data-clinic")
    add_clinic.add_argument("--name", required=True)
    add_clinic.add_argument("--default", action="store_true", help="receives triages that name no known clinic")
    add_clinic.add_argument("--email", help="where notifications go")
    add_clinic.add_argument("--telegram-chat", help="the clinic team's Telegram group chat id, for notifications")
    add_clinic.add_argument("--every-triage", action="store_true",
                            help="notify at the end of every triage (default: red flags and high risk only)")
    clinic_actions.add_parser("list", help="list clinics")


def _password(from_stdin: bool, stdin: TextIO, out: TextIO) -> Optional[str]:
    """The new password: from stdin, typed twice at a prompt, or None to generate one."""
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    if stdin.isatty():
        first = getpass.getpass("New password (empty to generate one): ")
        if not first:
            return None
        if getpass.getpass("Once more: ") != first:
            raise accounts.AccountError("the two passwords differ")
        return first
    return None


def run(args: argparse.Namespace, config: Settings, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    try:
        with session_scope(config.database_url) as db:
            if args.command == "clinics":
                return _clinics(db, args, out)
            return _users(db, args, stdin, out)
    except accounts.AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _clinics(db, args: argparse.Namespace, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    if args.action == "add":
        clinic = accounts.add_clinic(db, args.code, args.name, default=args.default, email=args.email,
                                     telegram_chat=args.telegram_chat, every_triage=args.every_triage)
        audit.record(db, "clinic_add", username="cli", detail={"clinic": clinic.code})
        print(f"added clinic {clinic.code} ({clinic.name}){' as the default' if clinic.is_default else ''}", file=out)
        return 0
    for clinic in accounts.list_clinics(db):
        channels = ", ".join(filter(None, [clinic.notify_email and f"e-mail {clinic.notify_email}",
                                           clinic.notify_telegram_chat and "Telegram group"])) or "no notifications"
        print(f"{clinic.code}\t{clinic.name}\t{'default' if clinic.is_default else ''}\t{channels}", file=out)
    return 0


def _users(db, args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    if args.action == "list":
        for user in accounts.list_users(db):
            state = "disabled" if user.disabled else "active"
            print(f"{user.username}\t{user.role}\t{user.clinic.code if user.clinic else '-'}\t{state}", file=out)
        return 0
    if args.action == "disable":
        user = accounts.disable_user(db, args.username)
        audit.record(db, "user_disable", username="cli", detail={"user": user.username})
        print(f"disabled {user.username}", file=out)
        return 0
    password = _password(args.password_stdin, stdin, out)
    generated = password is None
    password = password or accounts.generate_password()
    if args.action == "add":
        user = accounts.add_user(db, args.username, password, args.role, args.clinic, args.language)
        audit.record(db, "user_add", username="cli", detail={"user": user.username, "role": user.role})
        print(f"added {user.role} {user.username}", file=out)
    else:
        user = accounts.reset_password(db, args.username, password)
        audit.record(db, "user_reset", username="cli", detail={"user": user.username})
        print(f"new password set for {user.username}", file=out)
    if generated:
        print(f"password (shown once, hand it over safely): {password}", file=out)
    return 0
