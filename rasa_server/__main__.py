"""``python -m rasa_server run …``: ``rasa run …`` without re-checking constant JSON schemas, and
without forgetting a conversation while its database is down.

**Speed.**
Profiling a loaded Rasa server (py-spy, 20 concurrent triages; benchmarks/README.md) showed half of
its CPU time per message inside ``jsonschema.validate``: Rasa validates every action server response
(and every NLG response) with ``jsonschema.validate(result, schema)``, and that function first checks
the *schema* against the JSON Schema meta-schema (``check_schema``) before checking the response. The
schema is the same literal on every call, so that meta-check repeats identical work twice per form
turn (validation, then asking). A bare ``rasa init`` bot calls no action server and never pays it.

Here ``jsonschema.validate`` is replaced, before Rasa starts, by a function that checks each distinct
schema once per process and then validates exactly as before: same validator class, same
``best_match`` error, so a malformed response is still refused with the same message, and an
invalid schema still raises ``SchemaError`` on its first use. Rasa imports ``validate`` from the
``jsonschema`` module inside each call, so every validation in the process goes through it.
Loading and saving conversations on the SQLite default cost the next half of the time: see
``rasa_server/tracker_speed.py`` (a pooled connection, WAL without an fsync per turn, and event
classes found once per type name).

**No silent restart of a conversation.** Rasa wraps its tracker store in a ``FailSafeTrackerStore``
that, when the database cannot be read, logs the error and carries on with a new, empty tracker in
memory: a patient in the middle of the questionnaire is greeted and asked for consent again, and
what they type then is taken as an answer to that. Here the wrapper is given an error callback that
re-raises instead, so the turn fails as a whole: Rasa's REST channel answers with no message, which
bot.web and the Telegram channel turn into "one moment, please send your last message again"
(``chat.no_reply``), and once the database is back the conversation continues where it was.

**The token off the command line and out of URLs.** ``rasa run --auth-token X`` shows the token to
anyone who can list processes (``ps``, /proc/<pid>/cmdline), and Rasa 3.6 reads it only from the
``?token=`` query string (``rasa.server.requires_auth``), which proxies and access logs record. Here
``run`` without ``--auth-token`` takes it from the environment (``RASA_AUTH_TOKEN``) into Rasa's
arguments inside this process, where the kernel's copy of the command line does not change; and the
HTTP API also accepts it in a header, ``Authorization: Token <token>``, which BackTalk's clients
send. The query string still works, for a curl by hand and for Rasa's own tools.
"""
from __future__ import annotations

import hmac
import json
import sys
from functools import partial, wraps
from inspect import isawaitable
from typing import Any, Callable, Dict, List, Optional, Set

import jsonschema
from jsonschema import exceptions, validators

from rasa_server import tracker_speed

_checked: Set[str] = set()


def validate(instance: Any, schema: Dict[str, Any], cls: Optional[type] = None, *args: Any, **kwargs: Any) -> None:
    """``jsonschema.validate`` with the meta-schema check done once per distinct schema."""
    if cls is None:
        cls = validators.validator_for(schema)
    key = f"{cls.__module__}.{cls.__qualname__}:{json.dumps(schema, sort_keys=True, default=repr)}"
    if key not in _checked:
        cls.check_schema(schema)
        _checked.add(key)
    error = exceptions.best_match(cls(schema, *args, **kwargs).iter_errors(instance))
    if error is not None:
        raise error


def refuse(error: Exception) -> None:
    """The tracker store's error callback: fail the turn rather than fall back to an empty tracker."""
    raise error


AUTH_SCHEME = "Token"  # Authorization: Token <RASA_AUTH_TOKEN> (bot/rasa_client.py sends it)


def header_auth(requires_auth: Callable[..., Any]) -> Callable[..., Any]:
    """``rasa.server.requires_auth`` that also lets a request in whose Authorization header carries the
    token; anything else goes through Rasa's own check (query token, JWT) unchanged."""

    def patched(app: Any, token: Optional[str] = None) -> Callable[[Any], Any]:
        rasa_check = requires_auth(app, token)

        def decorator(handler: Any) -> Any:
            checked = rasa_check(handler)

            @wraps(handler)
            async def guarded(request: Any, *args: Any, **kwargs: Any) -> Any:
                given = request.headers.get("Authorization", "")
                if token and hmac.compare_digest(given.encode(), f"{AUTH_SCHEME} {token}".encode()):
                    result = handler(request, *args, **kwargs)
                    return await result if isawaitable(result) else result
                return await checked(request, *args, **kwargs)

            return guarded

        return decorator

    return patched


def with_token_from_env(argv: List[str], token: str) -> List[str]:
    """``rasa run`` arguments with ``--auth-token`` from RASA_AUTH_TOKEN (read through bot/config.py)
    when not given: Rasa reads its arguments in-process, so the token never shows in ``ps``."""
    if len(argv) > 1 and argv[1] == "run" and "--auth-token" not in argv and token:
        return [*argv, "--auth-token", token]
    return argv


def main() -> None:
    from bot.lifeline import watch_supervisor

    watch_supervisor()  # ends with `backtalk run` (bot/lifeline.py)
    jsonschema.validate = validate  # type: ignore[assignment]
    import rasa.core.agent
    import rasa.server
    from rasa.__main__ import main as rasa_main

    rasa.server.requires_auth = header_auth(rasa.server.requires_auth)  # type: ignore[assignment]
    from bot.logsafe import protect_logs

    protect_logs()  # the token, keys and database password of the environment, in every Rasa log line
    from bot.config import settings

    sys.argv = with_token_from_env(sys.argv, settings(require_secrets=False).rasa_auth_token)

    rasa.core.agent.FailSafeTrackerStore = partial(  # type: ignore[misc]
        rasa.core.agent.FailSafeTrackerStore, on_tracker_store_error=refuse)
    tracker_speed.install()

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
