"""Every route bot.web registers answers with the security headers of its area (bot/web/headers.py),
signed in or not, on success, refusal, redirect and error alike; HSTS only in production; the widget's
cross-origin use is unchanged."""
from __future__ import annotations

import asyncio
import re
from typing import Awaitable, Callable, Dict, List, Tuple

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.guide.content import GUIDE_DIR
from bot.web.app import WebOptions, create_app
from bot.web.headers import API_CSP, CHAT_PAGE_CSP, CLINIC_CSP, FILE_CSP, GUIDE_CSP, HSTS, STORED_HTML_CSP
from tests.clinic_helpers import LOW_BACK_LOW, add_user, setup_clinic, triage
from tests.test_clinic_web import sign_in
from tests.test_file_links import fresh_url

CLINIC = "https://clinic.example"
FIGURE = sorted(p.name for p in (GUIDE_DIR / "figures").glob("*.svg"))[0]
SAMPLES = {"token": "A" * 43, "lang": "en", "section": "self-care", "triage_id": "1", "kind": "csv",
           "tail": "nowhere", "filename": "clinic.css"}


def concrete_paths(app: web.Application) -> List[Tuple[str, str]]:
    """(method, path) for every registered route, with sample values in its variable parts."""
    paths = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        if "path" in info:
            path = info["path"]
        elif "formatter" in info:
            values = dict(SAMPLES, name="care-plan.pdf" if "triages" in info["formatter"] else FIGURE)
            path = info["formatter"].format(**values)
        else:  # a static directory
            path = f"{info['prefix']}/{SAMPLES['filename']}"
        paths.append((route.method, path))
    return paths


def check(headers: "web.CIMultiDictProxy[str]", path: str, production: bool) -> None:
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors" in csp, (path, csp)
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["Referrer-Policy"] == "no-referrer", path
    assert headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN"), path
    assert (headers.get("Strict-Transport-Security") == HSTS) is production, path
    expected = {"/clinic": CLINIC_CSP, "/guide": GUIDE_CSP, "/chat": CHAT_PAGE_CSP, "/api/": API_CSP,
                "/widget.js": API_CSP, "/files/": FILE_CSP}
    for prefix, policy in expected.items():
        if path.startswith(prefix):
            assert csp == policy, (path, csp)


def run(settings: Settings, test: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(create_app(settings, WebOptions(allowed_origins=frozenset({CLINIC}))))) as client:
            await test(client)

    asyncio.run(main())


def walk(settings: Settings, production: bool) -> Dict[str, int]:
    seen: Dict[str, int] = {}

    async def test(client: TestClient) -> None:
        routes = concrete_paths(client.server.app)
        assert len(routes) >= 30  # the whole app: widget, API, files, clinic, guide
        # (in production the session cookie is Secure, which a test client on http:// does not send back)
        for signed_in in (False, True) if not production else (False,):
            if signed_in:
                await sign_in(client)
            for method, path in routes:
                if method == "HEAD":
                    continue
                response = await client.request(method, path, allow_redirects=False, json={})
                check(response.headers, path, production)
                seen[f"{method} {path} {'in' if signed_in else 'out'}"] = response.status
        unknown = await client.get("/no/such/page")
        assert unknown.status == 404
        check(unknown.headers, "/no/such/page", production)

    setup_clinic(settings)
    add_user(settings, "alice")
    triage(settings, LOW_BACK_LOW, deliver=True)
    run(settings, test)
    return seen


def test_every_route_sends_the_security_headers_of_its_area(settings: Settings) -> None:
    seen = walk(settings, production=False)
    statuses = set(seen.values())
    assert {200, 303, 400, 404} <= statuses, statuses  # answers, redirects, refusals and errors were all checked
    assert seen["GET /clinic/queue in"] == 200 and seen["GET /clinic/queue out"] == 303
    assert seen["GET /guide/en/ out"] == 200 and seen["GET /chat out"] == 200


def test_production_adds_hsts_everywhere(settings: Settings) -> None:
    walk(type(settings)(**{**settings.__dict__, "environment": "production"}), production=True)


def test_the_widget_stays_usable_cross_origin_and_stored_pages_stay_sandboxed(settings: Settings) -> None:
    from sqlalchemy import select

    from bot.store.db import session_scope
    from bot.store.models import Document

    setup_clinic(settings)
    triage(settings, LOW_BACK_LOW, deliver=True)
    with session_scope(settings.database_url) as db:
        documents = {d.kind: d.token for d in db.execute(select(Document)).scalars()}

    async def test(client: TestClient) -> None:
        script = await client.get("/widget.js")
        assert script.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        preflight = await client.options("/api/chat", headers={"Origin": CLINIC, "Access-Control-Request-Method": "POST"})
        assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == CLINIC
        strings = await client.get("/api/widget-strings/de", headers={"Origin": CLINIC})
        assert strings.status == 200 and strings.headers["Access-Control-Allow-Origin"] == CLINIC
        links = await client.post("/api/documents", json={"conversation_id": "nobody-knows-this"},
                                  headers={"Origin": CLINIC})
        assert links.headers["Access-Control-Allow-Origin"] == CLINIC
        page = await client.get(fresh_url(settings, documents["care_plan_html"]))
        assert page.status == 200 and page.headers["Content-Security-Policy"] == STORED_HTML_CSP
        pdf = await client.get(fresh_url(settings, documents["care_plan_pdf"]))
        assert pdf.status == 200 and pdf.headers["Content-Security-Policy"] == FILE_CSP
        assert pdf.headers["Cross-Origin-Resource-Policy"] == "cross-origin"

    run(settings, test)


def test_no_handler_sets_security_headers_of_its_own() -> None:
    """One middleware owns them: a handler setting its own would drift from the table."""
    from bot.paths import PROJECT_ROOT

    offenders = [str(p) for p in (PROJECT_ROOT / "bot").rglob("*.py")
                 if p.name != "headers.py" and re.search(r"[\"'](Content-Security-Policy|X-Frame-Options|Referrer-Policy|X-Content-Type-Options)[\"']",
                                                         p.read_text(encoding="utf-8"))]
    assert offenders == []
