"""docs/api/openapi.yaml describes bot.web truly (every route of the app is in it, every path in it is a
route of the app), and bot.web survives fuzzing from it: schemathesis generates valid and malformed
requests for every operation against a live bot.web (and a stand-in for Rasa); no request gets a 5xx,
and every 4xx says why. Bounded (max_examples) so it takes seconds in `make test`."""
from __future__ import annotations

import asyncio
import os
import re
import threading
from pathlib import Path
from typing import Iterator, Set, Tuple

import pytest
import schemathesis
import yaml
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import status_code_conformance

from bot.clinic import sessions
from bot.store.models import User
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.web.app import WebOptions, create_app
from bot.web.limits import RateLimit
from tests.clinic_helpers import LOW_BACK_HIGH, add_user, setup_clinic, triage
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "api" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete", "options"}
# Not operations of an API: the clinic's static files (a directory) and its catch-all "not found" page.
NOT_IN_SPEC = {("GET", "/clinic/static/{filename}"), ("GET", "/clinic/{tail}")}


def spec_operations() -> Set[Tuple[str, str]]:
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item if method in METHODS}


def _expand(formatter: str, pattern: str) -> Set[str]:
    """An aiohttp route as OpenAPI paths: {id:\\d+} -> {id}; {name:a\\.png|b\\.pdf} -> a.png and b.pdf."""
    paths = {formatter}
    for name, group in re.findall(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)", pattern):
        alternatives = [re.sub(r"\\(.)", r"\1", alt) for alt in group.split("|")]
        if len(alternatives) > 1 and all(re.fullmatch(r"[\w.-]+", alt) for alt in alternatives):
            paths = {path.replace(f"{{{name}}}", alt) for path in paths for alt in alternatives}
    return paths


def app_operations() -> Set[Tuple[str, str]]:
    app = create_app(make_settings("sqlite://", Path("/nonexistent")), WebOptions())
    operations = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # aiohttp adds HEAD to every GET
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        if "path" in info:
            paths = {info["path"]}
        elif "formatter" in info:
            paths = _expand(info["formatter"], info["pattern"].pattern)
        else:  # a static directory
            paths = {info["prefix"] + "/{filename}"}
        operations |= {(route.method, path) for path in paths}
    return operations


def test_every_route_of_bot_web_is_in_the_openapi_description_and_nothing_else() -> None:
    app, spec = app_operations() - NOT_IN_SPEC, spec_operations()
    assert app - spec == set(), "routes missing from docs/api/openapi.yaml"
    assert spec - app == set(), "operations in docs/api/openapi.yaml that bot.web does not have"
    assert len(spec) > 30


class FakeRasa:
    """Rasa's REST channel and tracker API, answering every message with one text."""

    async def webhook(self, request: web.Request) -> web.Response:
        await request.json()
        return web.json_response([{"recipient_id": "x", "text": "Hello", "buttons": [{"title": "Yes", "payload": "/affirm"}]}])

    async def tracker(self, _request: web.Request) -> web.Response:
        return web.json_response({"slots": {"language": "en"}})


@pytest.fixture(scope="module")
def live_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, str]]:
    """bot.web on a free loopback port, with a migrated SQLite database holding a clinic, a triage and
    a signed-in clinician (the session cookie is yielded with the address), and a fake Rasa, in a thread."""
    tmp = tmp_path_factory.mktemp("openapi")
    database_url = f"sqlite:///{tmp / 'backtalk.db'}"
    upgrade(database_url)
    settings_ = make_settings(database_url, tmp)
    setup_clinic(settings_, default=True)
    add_user(settings_, "alice")
    triage(settings_, LOW_BACK_HIGH)
    with session_scope(database_url) as db:
        cookie, _csrf = sessions.open_session(db, db.query(User).filter_by(username="alice").one())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runners = []
    address = {}

    async def start() -> None:
        fake, rasa_app = FakeRasa(), web.Application()
        rasa_app.router.add_post("/webhooks/rest/webhook", fake.webhook)
        rasa_app.router.add_get("/conversations/{sender}/tracker", fake.tracker)
        for name, app in (("rasa", rasa_app), ("web", None)):
            if app is None:
                config = make_settings(database_url, tmp)
                config = type(config)(**{**config.__dict__, "rasa_url": address["rasa"]})
                # A generous rate limit: the fuzzer sends many requests from few conversation ids.
                app = create_app(config, WebOptions(rate_limit=RateLimit(messages=100000, seconds=1)))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            port = runner.addresses[0][1]
            address[name] = f"http://127.0.0.1:{port}"

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(60), "bot.web did not start"
    yield address["web"], cookie

    async def stop() -> None:
        for runner in reversed(runners):
            await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(60)


# Few examples per operation in `make test` (seconds); BACKTALK_FUZZ_EXAMPLES=200 for a long run.
EXAMPLES = int(os.environ.get("BACKTALK_FUZZ_EXAMPLES", "6"))
schema = schemathesis.openapi.from_path(str(SPEC))
schema.config.generation.update(modes=["positive", "negative"])


def _check(case, response) -> None:  # type: ignore[no-untyped-def]
    where = f"{case.method} {case.formatted_path}"
    # The status is one the description lists for the operation (so docs/api/openapi.yaml stays true).
    case.validate_response(response, checks=[status_code_conformance])
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    if 400 <= response.status_code < 500 and case.method != "OPTIONS":
        if response.headers.get("Content-Type", "").startswith("application/json"):
            assert response.json().get("error"), f"{where}: a {response.status_code} without a reason"
        elif response.status_code != 405:
            assert response.text.strip(), f"{where}: an empty {response.status_code}"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error_and_every_refusal_says_why(case, live_web) -> None:  # type: ignore[no-untyped-def]
    _check(case, case.call(base_url=live_web[0], allow_redirects=False, timeout=30))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_signed_in_no_generated_request_gets_a_server_error(case, live_web) -> None:  # type: ignore[no-untyped-def]
    """The same as a signed-in clinician: the workspace's pages parse the fuzzed queries and ids
    (its forms are refused for the fuzzer's CSRF field, as they must be)."""
    base_url, cookie = live_web
    _check(case, case.call(base_url=base_url, allow_redirects=False, timeout=30, cookies={"bt_session": cookie}))
