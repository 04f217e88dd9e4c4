"""Links to patients' files expire (bot/web/files.py): a signed expiry in the URL, 410 Gone with a
reason afterwards, fresh links for the widget's own conversation, and the clinic's own route unaffected."""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Dict

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.config import Settings
from bot.i18n.catalog import translate
from bot.privacy.pseudonym import channel_sender
from bot.store.db import session_scope
from bot.store.models import Document, TriageSession
from bot.triage.result import file_links
from bot.web.app import WebOptions, create_app
from bot.web.files import FileLinks
from tests.clinic_helpers import LOW_BACK_LOW, add_user, setup_clinic, triage
from tests.test_clinic_web import sign_in

CONVERSATION = "widget-conversation-42"


def fresh_url(settings: Settings, token: str, now: float | None = None) -> str:
    """The path of a link to ``token`` made at ``now``, as the result step makes them."""
    return file_links(settings).url(token, now)[len(settings.public_url):]


def run(settings: Settings, test: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(create_app(settings, WebOptions()))) as client:
            await test(client)

    asyncio.run(main())


def documents_of(settings: Settings, reference_code: str) -> Dict[str, str]:
    with session_scope(settings.database_url) as db:
        return {d.kind: d.token for d in db.execute(select(Document).join(TriageSession).where(
            TriageSession.reference_code == reference_code)).scalars()}


def test_a_link_is_signed_and_lasts_its_days() -> None:
    links = FileLinks(b"key", "https://clinic.example/", days=7)
    url = links.url("T" * 43, now=1000.0)
    expires = 1000 + 7 * 86400
    assert url.startswith(f"https://clinic.example/files/{'T' * 43}?expires={expires}&sig=")
    sig = url.rsplit("=", 1)[1]
    assert links.check("T" * 43, str(expires), sig, now=expires - 1) == "valid"
    assert links.check("T" * 43, str(expires), sig, now=expires) == "expired"
    assert links.check("T" * 43, str(expires + 86400), sig, now=1000.0) == "invalid"  # lengthened by hand
    assert links.check("U" * 43, str(expires), sig, now=1000.0) == "invalid"  # another file's signature
    assert FileLinks(b"other key", "x").check("T" * 43, str(expires), sig, now=1000.0) == "invalid"
    assert links.check("T" * 43, None, None) == "expired"  # a link from before links expired
    assert links.check("T" * 43, "soon", sig) == "invalid"
    assert links.check("T" * 43, str(expires), "\u0087é", now=1000.0) == "invalid"  # found by the API fuzzer: was a 500


def test_bot_web_serves_a_link_until_it_expires_then_says_410_with_the_reason(settings: Settings) -> None:
    setup_clinic(settings)
    outcome = triage(settings, LOW_BACK_LOW, deliver=True)
    files = documents_of(settings, outcome.reference_code)
    assert set(files) == {"care_plan_pdf", "care_plan_html"}
    week_ago = time.time() - 7 * 86400 - 1

    async def test(client: TestClient) -> None:
        for token in files.values():
            assert (await client.get(fresh_url(settings, token))).status == 200
        expired = await client.get(fresh_url(settings, files["care_plan_pdf"], now=week_ago))
        assert expired.status == 410
        assert (await expired.json())["error"] == "this link has expired; open the chat again for a fresh one"
        page = await client.get(fresh_url(settings, files["care_plan_html"], now=week_ago),
                                headers={"Accept": "text/html,*/*", "Accept-Language": "de-CH, en;q=0.5"})
        text = await page.text()
        assert page.status == 410 and page.headers["Content-Language"] == "de"
        assert translate("de", "files.expired.title") in text and "7 Tage" in text
        unsigned = await client.get(f"/files/{files['care_plan_pdf']}")
        assert unsigned.status == 410
        tampered = fresh_url(settings, files["care_plan_pdf"]).replace("expires=", "expires=9")
        refused = await client.get(tampered)
        assert refused.status == 403 and "not valid" in (await refused.json())["error"]

    run(settings, test)


def test_an_expired_link_to_a_pdf_nobody_opened_is_410_and_renders_nothing(settings: Settings) -> None:
    setup_clinic(settings)
    outcome = triage(settings, LOW_BACK_LOW, deliver=True)
    token = documents_of(settings, outcome.reference_code)["care_plan_pdf"]

    async def test(client: TestClient) -> None:
        assert (await client.get(fresh_url(settings, token, now=time.time() - 7 * 86400 - 1))).status == 410

    run(settings, test)
    with session_scope(settings.database_url) as db:
        stored = db.get(Document, token)
        assert stored is not None and stored.content is None and stored.plan_json is not None


def test_the_widget_gets_fresh_links_for_its_own_conversation_only(settings: Settings) -> None:
    setup_clinic(settings)
    sender = channel_sender("web", CONVERSATION, settings.pseudonym_key)
    outcome = triage(settings, LOW_BACK_LOW, deliver=True, sender=sender)
    files = documents_of(settings, outcome.reference_code)

    async def test(client: TestClient) -> None:
        response = await client.post("/api/documents", json={"conversation_id": CONVERSATION})
        fresh = (await response.json())["documents"]
        assert response.status == 200 and set(fresh) == set(files.values())
        for token, url in fresh.items():
            assert url.startswith(f"{settings.public_url}/files/{token}?expires=")
            assert (await client.get(url[len(settings.public_url):])).status == 200
        other = await client.post("/api/documents", json={"conversation_id": "someone-elses-conversation"})
        assert await other.json() == {"documents": {}}
        # the pseudonym or Rasa sender of the conversation is no key to its files either
        for forged in (sender, outcome.reference_code.replace("-", "_")):
            assert await (await client.post("/api/documents", json={"conversation_id": forged})).json() == {"documents": {}}
        assert (await client.post("/api/documents", json={"conversation_id": "x"})).status == 400

    run(settings, test)


def test_the_clinic_reaches_documents_through_its_own_route_whatever_the_links(settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    outcome = triage(settings, LOW_BACK_LOW, deliver=True)
    with session_scope(settings.database_url) as db:
        ident = db.execute(select(TriageSession.id).where(
            TriageSession.reference_code == outcome.reference_code)).scalar_one()

    async def test(client: TestClient) -> None:
        assert (await client.get(f"/clinic/triages/{ident}/care-plan.pdf", allow_redirects=False)).status == 303
        await sign_in(client)
        pdf = await client.get(f"/clinic/triages/{ident}/care-plan.pdf")
        assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")

    run(settings, test)
