"""Pseudonyms are one-way for every input: knowing a patient's pseudonym (from a clinician's screen, a
research export) or even their Rasa sender id does not let a caller reach their conversation, through
bot.web's /api/chat, /api/forget, /api/research-consent, or straight at Rasa's REST channel (which
hands the sender id to the action server as is)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typing import Any, Awaitable, Callable, Dict, List

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.config import Settings
from bot.privacy.pseudonym import channel_sender, is_pseudonym, pseudonymise
from bot.store.db import session_scope
from bot.store.models import Answer, TriageSession
from bot.triage.service import TriageService
from bot.web.app import WebOptions, create_app
from tests.clinic_helpers import FLOW, LOW_BACK_LOW, triage

VICTIM = "victim-conversation-0001"


class RecordingRasa:
    """Rasa's REST channel as far as bot.web can tell: it records the sender ids it is given."""

    def __init__(self) -> None:
        self.senders: List[str] = []

    async def webhook(self, request: web.Request) -> web.Response:
        self.senders.append((await request.json())["sender"])
        return web.json_response([{"recipient_id": "x", "text": "Hello"}])

    async def tracker(self, _request: web.Request) -> web.Response:
        return web.json_response({"slots": {"language": "en"}})


def run(settings: Settings, rasa: RecordingRasa, test: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", rasa.webhook)
        app.router.add_get("/conversations/{sender}/tracker", rasa.tracker)
        async with TestServer(app) as server:
            config = type(settings)(**{**settings.__dict__, "rasa_url": str(server.make_url("")).rstrip("/")})
            async with TestClient(TestServer(create_app(config, WebOptions()))) as client:
                await test(client)

    asyncio.run(main())


def victims_rows(settings: Settings, pseudonym: str) -> Dict[str, Any]:
    with session_scope(settings.database_url) as db:
        triages = list(db.execute(select(TriageSession).where(TriageSession.pseudonym == pseudonym)).scalars())
        answers = db.execute(select(Answer.item_id, Answer.code).join(TriageSession)
                             .where(TriageSession.pseudonym == pseudonym).order_by(Answer.id)).all()
        return {"triages": [(t.id, t.status, t.research_consent, t.rasa_sender) for t in triages],
                "answers": [tuple(a) for a in answers]}


def test_a_known_pseudonym_or_rasa_sender_posted_as_a_conversation_id_reaches_another_conversation(
        settings: Settings) -> None:
    victim_sender = channel_sender("web", VICTIM, settings.pseudonym_key)
    triage(settings, {**LOW_BACK_LOW, "research_consent": True}, clinic=None, sender=victim_sender)
    victim = pseudonymise(victim_sender, settings.pseudonym_key)
    before = victims_rows(settings, victim)
    assert len(before["triages"]) == 1 and before["triages"][0][3] == victim_sender
    rasa = RecordingRasa()

    async def test(client: TestClient) -> None:
        for forged in (victim, victim_sender):
            response = await client.post("/api/chat", json={"conversation_id": forged, "message": "yes"})
            assert response.status == 200
            erased = await client.post("/api/forget", json={"conversation_id": forged})
            assert await erased.json() == {"triages": 0, "events": 0}
            withdrawn = await client.post("/api/research-consent", json={"conversation_id": forged, "allow": False})
            assert await withdrawn.json() == {"allow": False, "triages": 0}
        # the patient's own conversation id still reaches it
        await client.post("/api/chat", json={"conversation_id": VICTIM, "message": "hi"})

    run(settings, rasa, test)
    assert rasa.senders[-1] == victim_sender
    forged_senders = rasa.senders[:-1]
    assert len(forged_senders) == 2 and all(is_pseudonym(s) for s in forged_senders)
    assert not {victim, victim_sender} & set(forged_senders)
    assert victims_rows(settings, victim) == before


def test_a_direct_caller_of_rasa_naming_a_pseudonym_gets_a_conversation_of_its_own(settings: Settings) -> None:
    """Rasa's REST channel passes any sender id to the action server: the stored pseudonym is the
    sender's hash, so sending as the victim's pseudonym writes nothing into the victim's triage."""
    victim_sender = channel_sender("web", VICTIM, settings.pseudonym_key)
    triage(settings, LOW_BACK_LOW, clinic=None, finish=False, sender=victim_sender)
    victim = pseudonymise(victim_sender, settings.pseudonym_key)
    before = victims_rows(settings, victim)
    service = TriageService(settings, FLOW)
    service.accept_answer(victim, FLOW.item("consent"), True, "en")
    service.accept_answer(victim, FLOW.item("pain_site"), "neck", "en")
    service.start_over(victim)
    assert victims_rows(settings, victim) == before and before["triages"][0][1] == "in_progress"
    forged = victims_rows(settings, pseudonymise(victim, settings.pseudonym_key))
    assert [t[1:] for t in forged["triages"]] == [("abandoned", None, victim)]
    assert forged["answers"] == [("consent", "true"), ("pain_site", "neck")]


def test_the_action_server_keys_rows_by_the_hash_of_rasas_sender(settings: Settings, tmp_path: Path) -> None:
    sender = channel_sender("telegram", 12345, settings.pseudonym_key)
    outcome = triage(settings, LOW_BACK_LOW, clinic=None, sender=sender)
    with session_scope(settings.database_url) as db:
        row = db.execute(select(TriageSession).where(TriageSession.reference_code == outcome.reference_code)).scalar_one()
        assert (row.pseudonym, row.rasa_sender) == (pseudonymise(sender, settings.pseudonym_key), sender)
        assert row.pseudonym != sender


def test_the_migration_rehashes_rows_stored_under_the_old_pass_through_pseudonyms(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before 0007_websec a triage's pseudonym was Rasa's sender id; afterwards the channels look rows
    up by its hash, so existing rows are rewritten (and a Telegram chat keeps its triages)."""
    from sqlalchemy import text

    from bot.config import SECRET_NAMES
    from bot.store.db import engine_for
    from bot.store.migrate import downgrade, upgrade

    for name in SECRET_NAMES:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    key = b"test-backtalk_pseudonym_key"
    web_sender = channel_sender("web", VICTIM, key)
    telegram = channel_sender("telegram", 4242, key)
    upgrade(database_url, "0006f")
    with engine_for(database_url).begin() as connection:
        for sender in (web_sender, telegram, "demo-BT-AAAA-BBBB"):
            connection.execute(text(
                "INSERT INTO triage_sessions (pseudonym, language, status, consent_at, started_at, updated_at, "
                "needs_attention, review_status) VALUES (:p, 'en', 'complete', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, false, 'new')"), {"p": sender})
        connection.execute(text("INSERT INTO telegram_chats (pseudonym, chat_id_encrypted, created_at, updated_at) "
                                "VALUES (:p, 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"p": telegram})
    upgrade(database_url)
    with engine_for(database_url).connect() as connection:
        rows = set(connection.execute(text("SELECT pseudonym, rasa_sender FROM triage_sessions")).all())
        chats = set(connection.execute(text("SELECT pseudonym FROM telegram_chats")).scalars())
    assert rows == {(pseudonymise(web_sender, key), web_sender), (pseudonymise(telegram, key), telegram),
                    ("demo-BT-AAAA-BBBB", None)}
    assert chats == {pseudonymise(telegram, key)}
    downgrade(database_url, "0006f")
    with engine_for(database_url).connect() as connection:
        assert set(connection.execute(text("SELECT pseudonym FROM triage_sessions")).scalars()) == {
            web_sender, telegram, "demo-BT-AAAA-BBBB"}
        assert set(connection.execute(text("SELECT pseudonym FROM telegram_chats")).scalars()) == {telegram}
    upgrade(database_url)
