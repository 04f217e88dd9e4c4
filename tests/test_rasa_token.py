"""The Rasa token travels by environment and header, never on a command line or in a URL (the real
Rasa process is checked in tests/e2e/test_secrets.py)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from bot import stack
from bot.paths import PROJECT_ROOT
from bot.rasa_client import RasaClient, auth_headers
from rasa_server.__main__ import AUTH_SCHEME, header_auth, with_token_from_env
from tests.conftest import make_settings


@pytest.mark.parametrize("workers", [1, 3])
def test_the_supervisor_passes_the_token_by_environment_and_polls_with_a_header(
        workers: int, tmp_path: Path) -> None:
    config = make_settings(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    rasa = [s for s in stack.services(config, tmp_path / "endpoints.yml", workers=workers) if s.name.startswith("rasa")]
    assert len(rasa) == workers
    for service in rasa:
        assert config.rasa_auth_token not in " ".join(service.command) and "--auth-token" not in service.command
        assert service.env["RASA_AUTH_TOKEN"] == config.rasa_auth_token
        assert "token" not in (service.ready_url or "") and service.ready_headers == auth_headers(config.rasa_auth_token)


def test_compose_starts_rasa_without_the_token_on_its_command_line() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
    commands = [" ".join(s.get("command") or []) for s in compose["services"].values()]
    assert any("rasa_server run" in c for c in commands)
    assert not [c for c in commands if "auth-token" in c or "RASA_AUTH_TOKEN" in c]


def test_rasa_server_takes_the_token_from_the_environment_unless_given() -> None:
    argv = ["rasa", "run", "--enable-api"]
    assert with_token_from_env(argv, "t0ken") == [*argv, "--auth-token", "t0ken"]
    assert with_token_from_env([*argv, "--auth-token", "x"], "t0ken") == [*argv, "--auth-token", "x"]
    assert with_token_from_env(["rasa", "train"], "t0ken") == ["rasa", "train"]
    assert with_token_from_env(argv, "") == argv


class Request:
    def __init__(self, headers: Dict[str, str]) -> None:
        self.headers = headers


def test_the_header_lets_a_request_in_and_anything_else_goes_to_rasas_own_check() -> None:
    refused: List[Any] = []

    def rasa_requires_auth(_app: Any, _token: Any):  # Rasa's check, standing in: refuses and records
        def decorator(handler: Any) -> Any:
            async def checked(request: Any, *args: Any, **kwargs: Any) -> str:
                refused.append(request)
                return "401"
            return checked
        return decorator

    async def handler(request: Any, conversation_id: str) -> str:
        return f"200 {conversation_id}"

    guarded = header_auth(rasa_requires_auth)(None, "t0ken")(handler)
    ok = Request({"Authorization": f"{AUTH_SCHEME} t0ken"})
    bad = [Request({}), Request({"Authorization": "Token t0ken2"}), Request({"Authorization": "Bearer t0ken"})]
    assert asyncio.run(guarded(ok, conversation_id="c1")) == "200 c1"
    assert [asyncio.run(guarded(r, conversation_id="c1")) for r in bad] == ["401"] * 3 and refused == bad
    assert asyncio.run(header_auth(rasa_requires_auth)(None, None)(handler)(ok, conversation_id="c")) == "401"


def test_the_client_reads_slots_with_the_token_in_a_header_not_the_url() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    seen: List[Any] = []

    async def tracker(request: web.Request) -> web.Response:
        seen.append((dict(request.query), request.headers.get("Authorization")))
        return web.json_response({"slots": {"language": "de"}})

    async def main() -> Any:
        app = web.Application()
        app.router.add_get("/conversations/{sender}/tracker", tracker)
        async with TestServer(app) as server:
            client = RasaClient(str(server.make_url("")).rstrip("/"), "t0ken")
            try:
                return await client.slot("p_x", "language")
            finally:
                await client.close()

    assert asyncio.run(main()) == "de"
    assert seen == [({"include_events": "NONE"}, "Token t0ken")]
