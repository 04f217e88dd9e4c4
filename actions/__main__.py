"""``python -m actions``: the action server, bound to loopback and requiring a shared token.

rasa-sdk 3.6 listens on every interface and checks no token; patients' answers pass through here,
so the server only accepts requests that carry ``ACTION_SERVER_TOKEN`` (Rasa's endpoints.yml sends it
as ``?token=``) and binds to ``ACTION_HOST`` (127.0.0.1 unless a deployment says otherwise).
"""
from __future__ import annotations

import hmac
import logging
import os

from rasa_sdk.endpoint import create_app
from sanic import response

from bot.config import settings
from bot.logsafe import protect_logs


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s")
    config = settings()
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

    app.run(
        host=os.environ.get("ACTION_HOST", "127.0.0.1"),
        port=int(os.environ.get("ACTION_PORT", "5055")),
        workers=1,
        access_log=False,
    )


if __name__ == "__main__":
    main()
