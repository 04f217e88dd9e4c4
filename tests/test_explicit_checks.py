"""Checks that used to be asserts (bandit B101: `python -O` removes asserts) and are explicit now, so they
hold in an optimised interpreter too (docs/security/audit-exceptions.yml lists the asserts that remain,
which only narrow types right after a real check)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clinic.statistics import my_statistics
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.models import User
from bot.telegram.config import TelegramSettings
from bot.telegram.webhook import serving_webhook
from bot.web.app import WebOptions, create_app
from tests.clinic_helpers import add_user
from tests.conftest import make_settings


@pytest.mark.parametrize("url, secret", [("https://bot.example/telegram", None), (None, "s3cret-value")])
def test_webhook_mode_refuses_to_listen_without_url_and_secret(url: str | None, secret: str | None) -> None:
    """Without the secret, anyone could post updates in a patient's name; this must not rest on an assert."""
    async def listen() -> None:
        async with serving_webhook(object(), TelegramSettings(token="1:x", webhook_url=url,  # type: ignore[arg-type]
                                                              webhook_secret=secret)):
            pass

    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET"):
        asyncio.run(listen())


def test_statistics_for_a_user_without_a_clinic_are_refused_not_computed(tmp_path: Path) -> None:
    """My Statistics compare a clinician with their clinic; an account without one must never fall
    through to a query without the clinic's scope."""
    settings = make_settings(f"sqlite:///{tmp_path / 'backtalk.db'}", tmp_path)
    upgrade(settings.database_url)
    add_user(settings, "root", clinic=None, role="admin")
    with session_scope(settings.database_url) as db:
        user = db.query(User).filter_by(username="root").one()
        with pytest.raises(ValueError, match="belongs to no clinic"):
            my_statistics(db, user)


def test_what_the_web_fuzzer_found_is_answered_with_a_4xx_or_as_not_signed_in(tmp_path: Path) -> None:
    """tests/test_openapi.py found two 500s in the clinic workspace: a form post whose multipart body has
    no boundary, and a Cookie header with an illegal name. Both are the sender's mistake."""
    settings = make_settings(f"sqlite:///{tmp_path / 'backtalk.db'}", tmp_path)
    upgrade(settings.database_url)

    async def main() -> None:
        async with TestClient(TestServer(create_app(settings, WebOptions()))) as client:
            broken = await client.post("/clinic/sign-in", data=b"x",
                                       headers={"Content-Type": "multipart/form-data"})
            assert broken.status == 400 and "malformed form" in await broken.text()
            for path in ("/clinic/queue", "/clinic/triages/1/fhir.json", "/clinic/sign-in"):
                odd = await client.get(path, headers={"Cookie": "^`)ieM>A)5E<RB=1; bt_session=x"},
                                       allow_redirects=False)
                assert odd.status in (200, 303), (path, odd.status)  # the sign-in page, or a redirect to it
                if odd.status == 303:
                    assert odd.headers["Location"].startswith("/clinic/sign-in")

    asyncio.run(main())
