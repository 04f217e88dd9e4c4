"""What a patient receives after the risk result: the outlook (graph and words) when they asked for
it, the care plan as chat text and PDF, stored with the triage and served by bot.web's /files/."""
from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any, Dict, List

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.config import Settings
from bot.i18n.catalog import translate
from bot.prediction.predict import MODEL_ENV
from bot.questionnaires.flow import TriageFlow
from bot.store.db import engine_for, session_scope
from bot.store.migrate import downgrade, upgrade
from bot.store.models import CarePlanRecord, Document
from bot.store.repository import DocumentRepository
from bot.careplan.stored import plan_from_json
from bot.triage import documents as documents_module
from bot.triage import result as result_module
from bot.triage.result import ResultDelivery
from bot.triage.service import TriageService
from bot.web.app import WebOptions, create_app
from tests.conftest import random_sender

FLOW = TriageFlow()
TODAY = date(2026, 11, 25)
LOW_BACK: Dict[str, Any] = {
    "consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
    **{i.id: False for i in FLOW.required_items({"consent": True, "pain_site": "low_back"}) if i.id.startswith("rf_")},
    **{f"sbt_{n}": ("agree" if n in (1, 2, 5, 6, 7) else "disagree") for n in range(1, 9)},
    "sbt_9": "very_much", "pain_now": 7,
}
OUTLOOK = {"outlook_offer": True, "age_band": "40_to_49", "sex": "male", "previous_episodes": "three_or_more",
           **{f"fn_{n}": n <= 3 for n in range(1, 7)}, "recovery_expectation": "long_time",
           "work_status": "working", "days_off": 5, "work_expectation": "unsure"}


def finish_and_deliver(settings: Settings, answers: Dict[str, Any], language: str = "en") -> List[Dict[str, Any]]:
    sender = random_sender()
    outcome = TriageService(settings, FLOW).finish(sender, answers, language)
    return ResultDelivery(settings, FLOW).deliver(outcome, answers, language, today=TODAY)


def document(settings: Settings, url: str) -> Document:
    assert url.startswith(f"{settings.public_url}/files/")
    with session_scope(settings.database_url) as db:
        found = DocumentRepository(db).get(url.rsplit("/", 1)[1].split("?")[0])
        assert found is not None
        return found


def test_with_the_outlook_the_patient_gets_the_graph_its_words_and_the_care_plan(settings: Settings) -> None:
    messages = finish_and_deliver(settings, {**LOW_BACK, **OUTLOOK}, "pl")
    graph, *sections, pdf_link, html_link = messages
    plan_text = {"text": "\n\n".join(m["text"] for m in sections)}
    assert document(settings, graph["image"]).content.startswith(b"\x89PNG")
    assert graph["text"].startswith(translate("pl", "prediction.text.intro"))
    assert translate("pl", "prediction.illustrative") in graph["text"]  # synthetic model: said plainly
    assert translate("pl", "careplan.heading.outlook").upper() in plan_text["text"]
    pdf = document(settings, pdf_link["custom"]["document"])
    # The PDF is rendered when first opened (bot/triage/documents.py), not in the patient's turn.
    assert pdf.content is None and pdf.media_type == "application/pdf"
    stored_plan = plan_from_json(pdf.plan_json)
    assert stored_plan.language == "pl" and stored_plan.outlook is not None
    assert stored_plan.outlook.png == document(settings, graph["image"]).content
    assert html_link["text"] == translate("pl", "careplan.html")
    page = document(settings, html_link["custom"]["document"])
    assert page.media_type == "text/html" and page.kind == "care_plan_html"
    assert page.content.startswith(b"<!DOCTYPE html>") and b"<script" not in page.content
    assert b'<html lang="pl">' in page.content and b"data:image/png;base64," in page.content
    # The outlook table, in the chat as in the page: a line per time point with the catalog's headings.
    assert translate("pl", "prediction.table.likely") in graph["text"]
    assert translate("pl", "prediction.table.range").encode() in page.content
    with session_scope(settings.database_url) as db:
        record = db.query(CarePlanRecord).one()
        assert "psychological_care" in record.option_ids.split() and record.language == "pl"
        assert record.text == plan_text["text"]


def test_neck_patients_are_told_plainly_that_there_is_no_neck_outlook(settings: Settings) -> None:
    answers = {"consent": True, "pain_site": "neck", "episode_duration": "over_3_years",
               **{i.id: False for i in FLOW.required_items({"consent": True, "pain_site": "neck"})
                  if i.id.startswith("rf_")},
               "msk_1": 8, **{f"msk_{n}": n in (2, 4, 6) for n in range(2, 10)}, "pain_now": 7}
    messages = finish_and_deliver(settings, answers, "hr")
    statement = translate("hr", "prediction.neck_not_available")
    assert messages[0] == {"text": statement}  # where a back patient would have had the outlook
    assert not any("image" in m for m in messages)
    outlook_section = [m["text"] for m in messages if m["text"].startswith(
        translate("hr", "careplan.heading.outlook").upper())]
    assert outlook_section == [f"{translate('hr', 'careplan.heading.outlook').upper()}\n{statement}"]  # and in the plan


def test_without_the_outlook_there_is_no_graph_and_still_a_care_plan(settings: Settings) -> None:
    messages = finish_and_deliver(settings, {**LOW_BACK, "outlook_offer": False})
    assert not any("image" in m for m in messages) and "custom" in messages[-1] and "custom" in messages[-2]
    assert messages[0]["text"].startswith(translate("en", "careplan.title").upper())
    assert not any(translate("en", "careplan.heading.outlook").upper() in m["text"] for m in messages)


def test_an_impossible_answer_gives_a_reason_instead_of_a_guess(settings: Settings) -> None:
    answers = {**LOW_BACK, **OUTLOOK, "days_off": 99}
    messages = finish_and_deliver(settings, answers)
    assert messages[0] == {"text": translate("en", "prediction.unavailable.invalid")}
    assert any(m["text"].startswith(translate("en", "careplan.heading.outlook").upper())
               and translate("en", "prediction.unavailable.invalid") in m["text"] for m in messages[1:])  # and in the plan


def test_no_model_file_is_told_and_the_plan_still_arrives(settings: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "no-model-here"))
    messages = finish_and_deliver(settings, {**LOW_BACK, **OUTLOOK})
    assert messages[0] == {"text": translate("en", "prediction.unavailable.no_model")}
    assert "custom" in messages[-1]


def test_a_failing_care_plan_is_told_kindly_and_the_risk_result_stands(settings: Settings,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_plan: Any) -> bytes:
        raise RuntimeError("template missing")

    monkeypatch.setattr(result_module, "to_html", broken)
    messages = finish_and_deliver(settings, {**LOW_BACK, "outlook_offer": False})
    assert messages == [{"text": translate("en", "careplan.unavailable")}]


def test_a_pdf_that_cannot_be_rendered_when_opened_is_a_503_with_a_reason_and_the_plan_stays(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_plan: Any) -> bytes:
        raise RuntimeError("font missing")

    monkeypatch.setattr(documents_module, "to_pdf", broken)
    messages = finish_and_deliver(settings, {**LOW_BACK, "outlook_offer": False})
    assert messages[0]["text"].startswith(translate("en", "careplan.title").upper())  # the chat has the plan
    link = messages[-2]["custom"]["document"][len(settings.public_url):]

    async def main() -> None:
        async with TestClient(TestServer(create_app(settings, WebOptions()))) as client:
            response = await client.get(link)
            assert response.status == 503 and "care plan is in the chat" in (await response.json())["error"]
            monkeypatch.undo()  # the font is back: the same link now works
            again = await client.get(link)
            assert again.status == 200 and (await again.read()).startswith(b"%PDF")

    asyncio.run(main())


def test_a_red_flag_gets_no_plan(settings: Settings) -> None:
    answers = {"consent": True, "pain_site": "low_back", "rf_saddle_numbness": True}
    assert finish_and_deliver(settings, answers) == []


def test_bot_web_serves_a_document_by_token_and_refuses_bad_tokens(settings: Settings) -> None:
    messages = finish_and_deliver(settings, {**LOW_BACK, "outlook_offer": False})
    link = messages[-2]["custom"]["document"][len(settings.public_url):]
    page_link = messages[-1]["custom"]["document"][len(settings.public_url):]

    async def main() -> None:
        async with TestClient(TestServer(create_app(settings, WebOptions()))) as client:
            response = await client.get(link)
            assert response.status == 200 and response.content_type == "application/pdf"
            first = await response.read()
            assert first.startswith(b"%PDF")
            # Rendered once, on that first request, and kept: the next request serves the same bytes.
            kept = document(settings, messages[-2]["custom"]["document"])
            assert kept.content == first and kept.plan_json is None
            assert await (await client.get(link)).read() == first
            assert "care-plan-BT-" in response.headers["Content-Disposition"]
            assert "sandbox" not in response.headers["Content-Security-Policy"]  # PDF viewers must work
            page = await client.get(page_link)
            assert page.status == 200 and page.content_type == "text/html" and page.charset == "utf-8"
            policy = page.headers["Content-Security-Policy"]
            assert "default-src 'none'" in policy and "script-src" not in policy and "sandbox" in policy
            assert page.headers["X-Content-Type-Options"] == "nosniff"
            missing = await client.get("/files/" + "A" * 43)
            assert missing.status == 404 and "no such file" in (await missing.json())["error"]
            malformed = await client.get("/files/../etc")
            assert malformed.status in (400, 404)
            short = await client.get("/files/abc")
            assert short.status == 400 and "malformed" in (await short.json())["error"]

    asyncio.run(main())


def test_erasing_a_conversation_erases_its_plan_and_files(settings: Settings) -> None:
    sender = random_sender()
    answers = {**LOW_BACK, "outlook_offer": False}
    service = TriageService(settings, FLOW)
    ResultDelivery(settings, FLOW).deliver(service.finish(sender, answers, "en"), answers, "en", today=TODAY)
    from bot.store.repository import TriageRepository
    with session_scope(settings.database_url) as db:
        assert TriageRepository(db).erase(service.pseudonym(sender)) == 1
    with session_scope(settings.database_url) as db:
        assert db.query(Document).count() == 0 and db.query(CarePlanRecord).count() == 0


def test_downgrading_below_lazy_pdfs_renders_every_pending_one_first(settings: Settings) -> None:
    """The schema before 0008 needs every document's bytes: a downgrade must not lose an unopened PDF."""
    messages = finish_and_deliver(settings, {**LOW_BACK, "outlook_offer": False})
    token = messages[-2]["custom"]["document"].rsplit("/", 1)[1].split("?")[0]
    downgrade(settings.database_url, "0007_websec")
    try:
        with engine_for(settings.database_url).connect() as connection:
            content = connection.execute(text("SELECT content FROM documents WHERE token = :t"), {"t": token}).scalar_one()
        assert bytes(content).startswith(b"%PDF")
    finally:
        upgrade(settings.database_url)
    assert document(settings, messages[-2]["custom"]["document"]).plan_json is None
