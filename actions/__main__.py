"""``python -m actions``: the action server, bound to loopback and requiring a shared token.

rasa-sdk 3.6 listens on every interface and checks no token; patients' answers pass through here,
so the server only accepts requests that carry ``ACTION_SERVER_TOKEN`` (Rasa's endpoints.yml sends it
as ``?token=``) and binds to ``ACTION_HOST`` (127.0.0.1 unless a deployment says otherwise).
"""
from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Dict, Optional

from rasa_sdk.endpoint import create_app
from sanic import response

from actions.common import slot_rules
from bot.config import settings_or_exit
from bot.lifeline import watch_supervisor
from bot.logsafe import protect_logs
from bot.triage.slots import refused_slot_events

logger = logging.getLogger("actions")


def without_forbidden_slot_values(body: Optional[bytes]) -> Optional[Dict[str, Any]]:
    """An action's reply without its slot events whose values bot/triage/slots.py does not allow;
    None when nothing had to go (the reply is sent as it was)."""
    reply = json.loads(body or b"null")
    if not isinstance(reply, dict):
        return None
    kept, refused = refused_slot_events(reply.get("events"), slot_rules())
    if not refused:
        return None
    logger.error("dropped slot events with values not allowed: %s", ", ".join(str(e.get("name")) for e in refused))
    return {**reply, "events": kept}


def main() -> None:
    watch_supervisor()
    config = settings_or_exit("backtalk actions")
    logging.basicConfig(level=config.log_level, format="%(levelname)s %(name)s: %(message)s")
    protect_logs([config.action_server_token, config.rasa_auth_token, config.pseudonym_key, config.encryption_key])
    app = create_app("actions", cors_origins=[])
    token = config.action_server_token

    @app.middleware("request")
    async def require_token(request):  # type: ignore[no-untyped-def]
        if request.path == "/health":
            return None
        given = request.args.get("token", "")
        if not hmac.compare_digest(given, token):
            return response.json({"error": "missing or wrong token"}, status=401)
        return None

    @app.middleware("response")
    async def only_allowed_slot_values(request, reply):  # type: ignore[no-untyped-def]
        """Every slot event any action returns is checked against bot/triage/slots.py; one with a
        value the slot may not hold is dropped (and logged), so no action can be talked into
        storing a forged value."""
        if request.path != "/webhook" or reply.status != 200:
            return None
        guarded = without_forbidden_slot_values(reply.body)
        return response.json(guarded) if guarded is not None else None

    app.run(
        host=config.action_host,
        port=config.action_port,
        workers=1,
        access_log=False,
    )


if __name__ == "__main__":
    main()
