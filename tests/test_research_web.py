"""The research and privacy side over HTTP (aiohttp's test client against the real bot.web app) on
SQLite and PostgreSQL: the researcher's page and downloads, an admin's erasure by reference code, and
the widget's "forget me" and research answer (POST /api/forget, /api/research-consent)."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Awaitable, Callable, List

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.config import Settings
from bot.i18n.catalog import translate
from bot.privacy.pseudonym import channel_sender
from bot.privacy.transcripts import TranscriptFilter, export_transcripts
from bot.store.db import session_scope
from bot.store.models import AuditEvent, TriageSession
from bot.web.app import WebOptions, create_app
from tests.clinic_helpers import add_user, setup_clinic
from tests.test_clinic_web import sign_in
from tests.test_transcripts import SENTENCES, conversation, event_pseudonyms, rasa_url  # noqa: F401 - rasa_url is a fixture


def run(settings: Settings, test: Callable[[TestClient], Awaitable[None]], options: WebOptions = WebOptions()) -> None:
    async def main() -> None:
        async with TestClient(TestServer(create_app(settings, options))) as client:
            await test(client)

    asyncio.run(main())


def audits(settings: Settings) -> List[AuditEvent]:
    with session_scope(settings.database_url) as db:
        return list(db.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def senders(settings: Settings) -> set:
    """The (pseudonyms of the) conversations that still have Rasa events."""
    return event_pseudonyms(settings)


def code_of(settings: Settings, pseudonym: str) -> str:
    with session_scope(settings.database_url) as db:
        return db.execute(select(TriageSession.reference_code).where(TriageSession.pseudonym == pseudonym)).scalar_one()


# -- the researcher's page -------------------------------------------------------------------------------

def test_a_researcher_counts_and_downloads_only_consented_de_identified_transcripts(
        rasa_url: str, settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "rita", role="researcher")
    consented = conversation(settings, "en", True, SENTENCES["en"])
    conversation(settings, "de", True, SENTENCES["de"])
    declined = conversation(settings, "en", False, "my name is Zacharias Quill")
    unanswered = conversation(settings, "en", None, "my name is Berta Quast")
    codes = [code_of(settings, p) for p in (consented, declined, unanswered)]
    downloaded: List[dict] = []

    async def test(client: TestClient) -> None:
        await sign_in(client, "rita")
        home = await client.get("/clinic/", allow_redirects=False)
        assert home.headers["Location"] == "/clinic/research"
        page = await client.get("/clinic/research?language=en")
        text = await page.text()
        assert page.status == 200 and translate("en", "clinic.research.count", count=1) in text
        assert "/clinic/research/transcripts.jsonl?language=en" in text
        everything = await client.get("/clinic/research")
        assert translate("en", "clinic.research.count", count=2) in await everything.text()
        jsonl = await client.get("/clinic/research/transcripts.jsonl?language=en&risk=high")
        assert jsonl.status == 200 and jsonl.headers["Content-Type"].startswith("application/x-ndjson")
        assert jsonl.headers["Content-Disposition"].startswith('attachment; filename="transcripts-')
        body = await jsonl.text()
        lines = [json.loads(line) for line in body.splitlines()]
        downloaded.extend(lines)
        assert [t["language"] for t in lines] == ["en"]
        assert "[NAME]" in json.dumps(lines[0]) and "Anna Pearce" not in body
        table = await (await client.get("/clinic/research/transcripts.csv")).text()
        rows = list(csv.DictReader(io.StringIO(table)))
        assert len({r["study_id"] for r in rows}) == 2
        for leaked in ["Zacharias", "Quast", "Anna Pearce", "Franz", consented, declined, unanswered, *codes]:
            assert leaked not in body and leaked not in table, leaked
        bad = await client.get("/clinic/research?language=xx")
        assert bad.status == 400 and translate("en", "clinic.research.bad_filter") in await bad.text()
        assert (await client.get("/clinic/research/transcripts.csv?since=2026-13-01")).status == 400

    run(settings, test)
    exports = [a for a in audits(settings) if a.action == "export_transcripts"]
    assert [(a.username, a.user_id is not None) for a in exports] == [("rita", True)] * 2
    assert json.loads(exports[0].detail) == {
        "filters": {"languages": ["en"], "since": None, "until": None, "risk_groups": ["high"]},
        "conversations": 1, "turns": len(downloaded[0]["turns"]), "withheld": 0, "via": "web-jsonl"}
    assert json.loads(exports[1].detail)["conversations"] == 2 and json.loads(exports[1].detail)["via"] == "web-csv"


def test_a_clinician_may_not_see_the_research_page_or_download(rasa_url: str, settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "alice")
    conversation(settings, "en", True, "fine")

    async def test(client: TestClient) -> None:
        await sign_in(client)
        for path in ("/clinic/research", "/clinic/research/transcripts.jsonl", "/clinic/research/transcripts.csv",
                     "/clinic/erase"):
            response = await client.get(path)
            assert response.status == 403, path
            assert translate("en", "clinic.error.forbidden") in await response.text()

    run(settings, test)
    assert not any(a.action == "export_transcripts" for a in audits(settings))


# -- erasure by an admin ---------------------------------------------------------------------------------

def test_an_admin_erases_a_conversation_after_confirming_and_it_is_audited(rasa_url: str, settings: Settings) -> None:
    setup_clinic(settings)
    add_user(settings, "ada", clinic=None, role="admin")
    erased, kept = conversation(settings, "en", True, "fine"), conversation(settings, "en", True, "fine")
    code = code_of(settings, erased)

    async def test(client: TestClient) -> None:
        csrf = await sign_in(client, "ada")
        page = await client.get("/clinic/erase")
        assert page.status == 200 and translate("en", "clinic.erase.explain") in await page.text()
        forged = await client.post("/clinic/erase", data={"step": "erase", "code": code})
        assert forged.status == 403
        unknown = await client.post("/clinic/erase", data={"csrf": csrf, "step": "confirm", "code": "BT-AAAA-AAAA"})
        assert unknown.status == 404 and "BT-AAAA-AAAA" in await unknown.text()
        confirm = await client.post("/clinic/erase", data={"csrf": csrf, "step": "confirm", "code": code.lower()})
        assert translate("en", "clinic.erase.confirm", code=code, triages=1) in await confirm.text()
        assert senders(settings) == {erased, kept}  # nothing erased before the second step
        done = await client.post("/clinic/erase", data={"csrf": csrf, "step": "erase", "code": code})
        assert translate("en", "clinic.erase.done", code=code, triages=1, events=11) in await done.text()
        again = await client.post("/clinic/erase", data={"csrf": csrf, "step": "erase", "code": code})
        assert again.status == 404

    run(settings, test)
    assert senders(settings) == {kept}
    erase = [a for a in audits(settings) if a.action == "erase"]
    assert [(a.username, a.reference_code, json.loads(a.detail)) for a in erase] == [
        ("ada", code, {"triages": 1, "events": 11, "via": "web"})]


# -- the widget's "forget me" and research answer ------------------------------------------------------

def test_forget_me_erases_the_web_conversation_and_answers_the_counts(rasa_url: str, settings: Settings) -> None:
    mine = conversation(settings, "en", True, "fine", sender=channel_sender("web", "conversation-1", settings.pseudonym_key))
    other = conversation(settings, "en", True, "fine")

    async def test(client: TestClient) -> None:
        refused = await client.post("/api/forget", json={"conversation_id": "conversation-1"},
                                    headers={"Origin": "https://elsewhere.example"})
        assert refused.status == 403
        assert (await client.post("/api/forget", json={"conversation_id": "x"})).status == 400
        assert (await client.post("/api/forget", data=b"{nope")).status == 400
        assert senders(settings) == {mine, other}
        response = await client.post("/api/forget", json={"conversation_id": "conversation-1"})
        assert response.status == 200 and await response.json() == {"triages": 1, "events": 11}
        again = await client.post("/api/forget", json={"conversation_id": "conversation-1"})
        assert await again.json() == {"triages": 0, "events": 0}

    run(settings, test)
    assert senders(settings) == {other}
    with session_scope(settings.database_url) as db:
        assert set(db.execute(select(TriageSession.pseudonym)).scalars()) == {other}


def test_forget_me_is_rate_limited_like_the_chat(rasa_url: str, settings: Settings) -> None:
    from bot.web.limits import RateLimit

    async def test(client: TestClient) -> None:
        statuses = [(await client.post("/api/forget", json={"conversation_id": "conversation-2"})).status
                    for _ in range(3)]
        assert statuses[:2] == [200, 200] and statuses[2] == 429

    run(settings, test, WebOptions(rate_limit=RateLimit(messages=2, seconds=3600)))


def test_withdrawing_research_use_in_the_widget_keeps_the_conversation_out_of_exports(
        rasa_url: str, settings: Settings) -> None:
    conversation(settings, "en", True, "fine", sender=channel_sender("web", "conversation-3", settings.pseudonym_key))
    conversation(settings, "en", True, "fine", sender=channel_sender("web", "conversation-3", settings.pseudonym_key))

    def exported() -> int:
        return export_transcripts(settings.database_url, io.StringIO(), None, TranscriptFilter(),
                                  username="test").conversations

    async def test(client: TestClient) -> None:
        assert exported() == 1
        response = await client.post("/api/research-consent", json={"conversation_id": "conversation-3", "allow": False})
        assert await response.json() == {"allow": False, "triages": 2}
        assert exported() == 0
        response = await client.post("/api/research-consent", json={"conversation_id": "conversation-3", "allow": True})
        assert await response.json() == {"allow": True, "triages": 2}
        assert exported() == 1
        nothing = await client.post("/api/research-consent", json={"conversation_id": "someone-else", "allow": False})
        assert await nothing.json() == {"allow": False, "triages": 0}
        bad = await client.post("/api/research-consent", json={"conversation_id": "conversation-3", "allow": "no"})
        assert bad.status == 400 and exported() == 1

    run(settings, test)
