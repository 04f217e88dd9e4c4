"""The clinic workspace over HTTP (aiohttp's test client against the real bot.web app) on SQLite and
PostgreSQL: signing in, CSRF, lock-out and rate limit, the queue, summaries, decisions, My Statistics,
FHIR, audit, and every bad request answered with a clear page and nothing changed.
(The same pages in a real browser: tests/e2e/test_clinic_browser.py.)"""
from __future__ import annotations

import asyncio
import html
import json
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.config import Settings
from bot.fhir.bundle import validate_bundle
from bot.i18n.catalog import translate
from bot.store.db import session_scope
from bot.store.models import AuditEvent, Decision, Document, TriageSession
from bot.triage import documents as documents_module
from bot.clinic.web import WORKSPACE_KEY
from bot.web.app import WebOptions, create_app
from tests.clinic_helpers import LOW_BACK_HIGH, LOW_BACK_LOW, PASSWORD, add_user, setup_clinic, triage

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def run(settings: Settings, test: Callable[[TestClient], Awaitable[None]], frozen_clock: bool = False) -> None:
    """``frozen_clock``: the sign-in limiter's clock stands still, so no token refills mid-test."""
    async def main() -> None:
        app = create_app(settings, WebOptions())
        if frozen_clock:
            app[WORKSPACE_KEY].sign_in_limiter.clock = lambda: 1000.0
        async with TestClient(TestServer(app)) as client:
            await test(client)

    asyncio.run(main())


SET_COOKIES: list = []


async def sign_in(client: TestClient, username: str = "alice", password: str = PASSWORD,
                  expect: int = 303) -> Optional[str]:
    """Sign in through the form like a browser; returns the session's CSRF token (and keeps the
    Set-Cookie headers in SET_COOKIES)."""
    page = await client.get("/clinic/sign-in")
    token = CSRF_FIELD.search(await page.text()).group(1)
    response = await client.post("/clinic/sign-in", data={"csrf": token, "username": username,
                                                          "password": password, "next": "/clinic/queue"},
                                 allow_redirects=False)
    assert response.status == expect, await response.text()
    SET_COOKIES[:] = response.headers.getall("Set-Cookie", [])
    if expect != 303:
        return None
    home = await client.get("/clinic/")  # the queue, or a researcher's page
    assert home.status == 200
    return CSRF_FIELD.search(await home.text()).group(1)


def triage_id(settings: Settings, reference_code: str) -> int:
    with session_scope(settings.database_url) as db:
        return db.execute(select(TriageSession.id).where(TriageSession.reference_code == reference_code)).scalar_one()


def audit_actions(settings: Settings) -> list:
    with session_scope(settings.database_url) as db:
        return [e.action for e in db.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def test_pages_need_sign_in_and_signing_in_opens_the_queue(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")

    async def test(client: TestClient) -> None:
        response = await client.get("/clinic/queue?risk=high", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/clinic/sign-in?next=%2Fclinic%2Fqueue%3Frisk%3Dhigh"
        await sign_in(client)
        session_cookie = next(c for c in SET_COOKIES if c.startswith("bt_session="))
        assert all(part in session_cookie for part in ("HttpOnly", "SameSite=Strict", "Path=/clinic"))
        assert "Secure" not in session_cookie  # served over http here; https turns it on (test below)
        page = await client.get("/clinic/queue")
        assert page.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert translate("en", "clinic.queue.title") in await page.text()

    run(settings, test)
    assert audit_actions(settings) == ["sign_in"]


def test_a_wrong_password_a_missing_csrf_token_and_a_locked_account_are_refused(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")

    async def test(client: TestClient) -> None:
        await sign_in(client, password="not the right one", expect=401)
        refused = await client.post("/clinic/sign-in", data={"username": "alice", "password": PASSWORD},
                                    allow_redirects=False)
        assert refused.status == 403 and translate("en", "clinic.error.csrf") in await refused.text()
        for _ in range(4):
            await sign_in(client, password="still not right", expect=401)
        page = await client.get("/clinic/sign-in")
        token = CSRF_FIELD.search(await page.text()).group(1)
        locked = await client.post("/clinic/sign-in", data={"csrf": token, "username": "alice", "password": PASSWORD})
        assert locked.status == 401 and "locked" in await locked.text()
        assert "bt_session" not in client.session.cookie_jar.filter_cookies(client.make_url("/clinic/"))

    run(settings, test)
    assert audit_actions(settings).count("sign_in_failed") == 6


def test_sign_in_attempts_from_one_address_are_rate_limited(settings: Settings) -> None:
    setup_clinic(settings)

    async def test(client: TestClient) -> None:
        statuses = []
        for _ in range(12):
            page = await client.get("/clinic/sign-in")
            token = CSRF_FIELD.search(await page.text()).group(1)
            response = await client.post("/clinic/sign-in", data={"csrf": token, "username": "x", "password": "y"})
            statuses.append(response.status)
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
        assert int(response.headers["Retry-After"]) >= 1

    run(settings, test, frozen_clock=True)


def test_a_clinician_sees_only_their_clinic_and_a_guessed_url_tells_nothing(settings: Settings) -> None:
    setup_clinic(settings)
    setup_clinic(settings, "south")
    add_user(settings, "alice")
    mine = triage(settings, LOW_BACK_HIGH)
    theirs = triage(settings, LOW_BACK_HIGH, clinic="south")

    async def test(client: TestClient) -> None:
        await sign_in(client)
        queue = await (await client.get("/clinic/queue")).text()
        assert mine.reference_code in queue and theirs.reference_code not in queue
        search = await (await client.get(f"/clinic/queue?code={theirs.reference_code}")).text()
        assert translate("en", "clinic.queue.code_not_found", code=theirs.reference_code) in search
        other = await client.get(f"/clinic/triages/{triage_id(settings, theirs.reference_code)}")
        missing = await client.get("/clinic/triages/987654")
        assert other.status == missing.status == 404 and await other.text() == await missing.text()
        for path in ("outlook.png", "care-plan.pdf", "fhir.json"):
            assert (await client.get(f"/clinic/triages/{triage_id(settings, theirs.reference_code)}/{path}")).status == 404

    run(settings, test)


def test_the_summary_is_audited_and_shows_red_flags_words_and_nothing_of_the_channel_id(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice", language="en")
    words = "<b>yes</b> & it's numb since Monday"
    sender = "telegram:123456789"
    flagged = triage(settings, {"consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
                                "rf_saddle_numbness": True}, typed={"rf_saddle_numbness": words}, sender=sender)

    async def test(client: TestClient) -> None:
        await sign_in(client)
        queue = await (await client.get("/clinic/queue")).text()
        assert "123456789" not in queue
        page = await client.get(f"/clinic/triages/{triage_id(settings, flagged.reference_code)}")
        html = await page.text()
        assert page.status == 200 and "123456789" not in html
        assert "&lt;b&gt;yes&lt;/b&gt; &amp; it&#39;s numb since Monday" in html and "<b>yes</b>" not in html
        assert translate("en", "rf_saddle_numbness.ask") in html

    run(settings, test)
    with session_scope(settings.database_url) as db:
        event = db.execute(select(AuditEvent).where(AuditEvent.action == "view_summary")).scalar_one()
        assert (event.username, event.reference_code) == ("alice", flagged.reference_code)


def test_recording_a_decision_updates_the_record_and_my_statistics(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    high = triage(settings, LOW_BACK_HIGH, deliver=True)
    ident = triage_id(settings, high.reference_code)

    async def test(client: TestClient) -> None:
        csrf = await sign_in(client)
        empty = await (await client.get("/clinic/statistics")).text()
        assert translate("en", "clinic.stats.empty") in empty
        no_token = await client.post(f"/clinic/triages/{ident}/decision", data={"option": "exercise_therapy"})
        assert no_token.status == 403
        bad = await client.post(f"/clinic/triages/{ident}/decision", data={"csrf": csrf, "option": "'; DROP TABLE decisions; --"})
        assert bad.status == 400 and "unknown treatment options" in await bad.text()
        saved = await client.post(f"/clinic/triages/{ident}/decision", allow_redirects=False, data={
            "csrf": csrf, "option": ["exercise_therapy", "psychological_care"], "note": "booked Tuesday"})
        assert saved.status == 303 and saved.headers["Location"] == f"/clinic/triages/{ident}#decision"
        summary = await (await client.get(f"/clinic/triages/{ident}")).text()
        assert "booked Tuesday" in summary and translate("en", "clinic.review.seen") in summary
        stats = await (await client.get("/clinic/statistics?period=30")).text()
        assert translate("en", "clinic.stats.empty") not in stats and "100 % (n=1)" in stats
        assert (await client.get("/clinic/statistics?period=7")).status == 400
        booked = await client.post(f"/clinic/triages/{ident}/status", data={"csrf": csrf, "status": "booked"})
        assert booked.status == 200
        assert (await client.post(f"/clinic/triages/{ident}/status", data={"csrf": csrf, "status": "gone"})).status == 400

    run(settings, test)
    with session_scope(settings.database_url) as db:
        assert db.execute(select(func.count(Decision.id))).scalar_one() == 1
        assert db.execute(select(TriageSession.review_status).where(TriageSession.id == ident)).scalar_one() == "booked"
    assert audit_actions(settings).count("decision") == 1


def test_the_fhir_bundle_and_the_documents_are_served_validated_and_audited(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    high = triage(settings, LOW_BACK_HIGH, deliver=True)
    ident = triage_id(settings, high.reference_code)

    async def test(client: TestClient) -> None:
        await sign_in(client)
        response = await client.get(f"/clinic/triages/{ident}/fhir.json")
        assert response.status == 200 and response.content_type == "application/fhir+json"
        validate_bundle(json.loads(await response.text()))
        # Nobody opened the patient's PDF yet: it is rendered for the clinician now, and kept.
        pdf = await client.get(f"/clinic/triages/{ident}/care-plan.pdf")
        assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
        assert (await client.get(f"/clinic/triages/{ident}/outlook.png")).status == 404  # not asked for

    run(settings, test)
    with session_scope(settings.database_url) as db:
        kept = db.execute(select(Document).where(Document.kind == "care_plan_pdf")).scalar_one()
        assert kept.content is not None and kept.content.startswith(b"%PDF") and kept.plan_json is None
    actions = audit_actions(settings)
    assert "export_fhir" in actions and "view_document" in actions


def test_a_pdf_that_cannot_be_rendered_is_a_503_page_in_the_clinicians_language(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    ident = triage_id(settings, triage(settings, LOW_BACK_HIGH, deliver=True).reference_code)

    def broken(_plan: Any) -> bytes:
        raise RuntimeError("font missing")

    monkeypatch.setattr(documents_module, "to_pdf", broken)

    async def test(client: TestClient) -> None:
        await sign_in(client)
        response = await client.get(f"/clinic/triages/{ident}/care-plan.pdf")
        assert response.status == 503
        assert translate("en", "clinic.error.document_unavailable") in html.unescape(await response.text())

    run(settings, test)


def test_roles_researchers_see_no_patients_and_only_admins_read_the_audit_trail(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "rita", role="researcher")
    add_user(settings, "alice")
    add_user(settings, "root", clinic=None, role="admin")

    async def test(client: TestClient) -> None:
        await sign_in(client, "rita", expect=303)
        assert (await client.get("/clinic/queue")).status == 403
        assert (await client.get("/clinic/audit")).status == 403
        client.session.cookie_jar.clear()
        await sign_in(client, "alice")
        assert (await client.get("/clinic/audit")).status == 403
        client.session.cookie_jar.clear()
        page = await client.get("/clinic/sign-in")
        token = CSRF_FIELD.search(await page.text()).group(1)
        await client.post("/clinic/sign-in", data={"csrf": token, "username": "root", "password": PASSWORD})
        audit_page = await client.get("/clinic/audit")
        assert audit_page.status == 200 and "sign_in" in await audit_page.text()
        assert (await client.get("/clinic/queue")).status == 403  # an admin of no clinic sees no patients

    run(settings, test)


def test_signing_out_ends_the_session_and_a_stale_form_changes_nothing(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    high = triage(settings, LOW_BACK_LOW)
    ident = triage_id(settings, high.reference_code)

    async def test(client: TestClient) -> None:
        csrf = await sign_in(client)
        cookies = client.session.cookie_jar.filter_cookies(client.make_url("/clinic/"))
        stolen = cookies["bt_session"].value
        out = await client.post("/clinic/sign-out", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303
        client.session.cookie_jar.update_cookies({"bt_session": stolen}, client.make_url("/clinic/"))
        stale = await client.post(f"/clinic/triages/{ident}/decision", data={"csrf": csrf, "option": "advice_education"})
        assert stale.status == 403 and translate("en", "clinic.error.session_expired") in await stale.text()
        assert (await client.get("/clinic/queue", allow_redirects=False)).status == 303

    run(settings, test)
    with session_scope(settings.database_url) as db:
        assert db.execute(select(func.count(Decision.id))).scalar_one() == 0


@pytest.mark.parametrize("query", ["risk=%27%20OR%201%3D1--", "code=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                                   "from=1%27%3B%20DROP%20TABLE%20users", "page=0"])
def test_bad_queue_queries_get_a_clear_400_and_are_never_echoed_as_html(settings: Settings, query: str) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")

    async def test(client: TestClient) -> None:
        await sign_in(client)
        response = await client.get(f"/clinic/queue?{query}")
        assert response.status == 400 and "<script>alert" not in await response.text()

    run(settings, test)


def test_only_workspace_paths_are_followed_after_sign_in(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")

    async def test(client: TestClient) -> None:
        page = await client.get("/clinic/sign-in?next=https://evil.example/")
        assert 'value="/clinic/queue"' in await page.text()
        token = CSRF_FIELD.search(await page.text()).group(1)
        response = await client.post("/clinic/sign-in", allow_redirects=False, data={
            "csrf": token, "username": "alice", "password": PASSWORD, "next": "//evil.example/"})
        assert response.headers["Location"] == "/clinic/queue"

    run(settings, test)


def test_cookies_are_secure_when_the_workspace_is_served_over_https(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    served = type(settings)(**{**settings.__dict__, "public_url": "https://clinic.example"})

    async def test(client: TestClient) -> None:
        page = await client.get("/clinic/sign-in")
        assert "Secure" in page.headers["Set-Cookie"]
        token = CSRF_FIELD.search(await page.text()).group(1)
        response = await client.post("/clinic/sign-in", allow_redirects=False, headers={"Cookie": f"bt_sign_in={token}"},
                                     data={"csrf": token, "username": "alice", "password": PASSWORD})
        session_cookie = next(c for c in response.headers.getall("Set-Cookie") if c.startswith("bt_session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie

    run(served, test)
