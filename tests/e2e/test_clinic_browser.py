"""The clinic workspace in a real browser (Debian's Chromium, headless, driven by Playwright) against
bot.web started as its own process on SQLite: signing in by keyboard, the queue's order, a summary,
recording a decision, My Statistics changing, another clinic's triage refused, a phone-width screen.

The triages are made the way patients make them (through the triage service); screenshots go to
test-artifacts/clinic-*.png. Every wait is Playwright's auto-waiting; nothing sleeps.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from bot.i18n.catalog import translate
from bot.paths import PROJECT_ROOT
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.models import TriageSession
from tests.clinic_helpers import LOW_BACK_HIGH, LOW_BACK_LOW, PASSWORD, add_user, setup_clinic, triage
from tests.conftest import make_settings
from tests.e2e.servers import free_port
from tests.e2e.test_widget import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e
WORDS = "yes, numb around the bottom since the weekend"


def t(msgid: str, **values: object) -> str:
    return translate("en", msgid, **values)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, object]]:
    data_dir = tmp_path_factory.mktemp("clinic-browser")
    config = make_settings(f"sqlite:///{data_dir / 'backtalk.db'}", data_dir)
    upgrade(config.database_url)
    setup_clinic(config, "north")
    setup_clinic(config, "south")
    add_user(config, "alice")
    add_user(config, "sam", clinic="south")
    low = triage(config, LOW_BACK_LOW, deliver=True)
    high = triage(config, LOW_BACK_HIGH, deliver=True)
    flagged = triage(config, {"consent": True, "pain_site": "low_back", "episode_duration": "1_to_3_months",
                              "rf_saddle_numbness": True}, typed={"rf_saddle_numbness": WORDS})
    south = triage(config, LOW_BACK_HIGH, clinic="south")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": config.database_url, "BACKTALK_DATA_DIR": str(data_dir),
           "RASA_AUTH_TOKEN": config.rasa_auth_token, "ACTION_SERVER_TOKEN": config.action_server_token,
           "BACKTALK_PSEUDONYM_KEY": config.pseudonym_key.decode(),
           "BACKTALK_ENCRYPTION_KEY": config.encryption_key.decode(), "WEB_PORT": str(port)}
    log = (data_dir / "web.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "bot.web"], cwd=PROJECT_ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bot.web did not start; see {data_dir}/web.log")
            time.sleep(0.2)  # polling a server that is starting, not synchronising a test
    with session_scope(config.database_url) as db:
        ids = {name: db.execute(select(TriageSession.id).where(TriageSession.reference_code == o.reference_code)).scalar_one()
               for name, o in (("low", low), ("high", high), ("flagged", flagged), ("south", south))}
    yield {"url": url, "config": config, "ids": ids,
           "codes": {"low": low.reference_code, "high": high.reference_code, "flagged": flagged.reference_code,
                     "south": south.reference_code}}
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (see README)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Browser, width: int = 1280) -> Page:
    return browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB").new_page()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"clinic-{name}.png"), full_page=True)


def sign_in_by_keyboard(page: Page, base: str, username: str = "alice") -> None:
    page.goto(f"{base}/clinic/queue")
    expect(page.get_by_role("heading", name=t("clinic.sign_in.title"))).to_be_visible()
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")
    expect(page.get_by_label(t("clinic.sign_in.username"))).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=t("clinic.queue.title"))).to_be_visible()


def test_a_clinician_signs_in_reads_the_queue_and_a_summary_and_records_a_decision(
        browser: Browser, workspace: Dict[str, object]) -> None:
    base, codes, ids = workspace["url"], workspace["codes"], workspace["ids"]  # type: ignore[index]
    page = new_page(browser)
    sign_in_by_keyboard(page, base)  # type: ignore[arg-type]
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    # urgent and unseen first (newest first among them), the low-risk one last; another clinic's never
    expect(rows.nth(0).locator("th")).to_have_text(codes["flagged"])
    expect(rows.nth(1).locator("th")).to_have_text(codes["high"])
    expect(rows.nth(2).locator("th")).to_have_text(codes["low"])
    expect(page.get_by_text(codes["south"])).to_have_count(0)
    expect(rows.nth(0)).to_have_class("urgent")
    shot(page, "queue")

    page.get_by_role("link", name=codes["flagged"]).click()
    expect(page.get_by_role("heading", name=t("clinic.summary.red_flags"))).to_be_visible()
    expect(page.locator("section.alarm q").first).to_have_text(WORDS)
    shot(page, "summary-red-flag")

    page.goto(f"{base}/clinic/statistics")
    expect(page.get_by_text(t("clinic.stats.empty"))).to_be_visible()

    page.goto(f"{base}/clinic/queue")
    page.get_by_label(t("clinic.queue.find_code")).fill(codes["high"].lower())
    page.get_by_label(t("clinic.queue.find_code")).press("Enter")
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    page.get_by_role("link", name=codes["high"]).click()
    expect(page.get_by_text(t("clinic.summary.subscale"))).to_be_visible()
    shot(page, "summary")
    form = page.locator("form.decision")
    for option in form.locator("input[name=option]").all():
        option.uncheck()
    form.get_by_label(translate("en", "treatment.exercise_therapy.name")).check()
    form.get_by_label(translate("en", "treatment.psychological_care.name")).check()
    form.get_by_label(t("clinic.decision.note")).fill("Physio with CBT-informed approach booked")
    form.get_by_role("button", name=t("clinic.decision.save")).click()
    expect(page.locator("ol.decisions li")).to_have_count(1)
    expect(page.locator("ol.decisions")).to_contain_text("Physio with CBT-informed approach booked")

    page.get_by_role("link", name=t("clinic.nav.statistics")).click()
    expect(page.locator("table.stats").first).to_contain_text(t("clinic.group.high"))
    expect(page.locator("svg.chart")).to_contain_text("100 % (n=1)")
    shot(page, "statistics")

    other = page.goto(f"{base}/clinic/triages/{ids['south']}")  # type: ignore[index]
    assert other is not None and other.status == 404
    expect(page.get_by_text(t("clinic.error.not_found"))).to_be_visible()
    page.context.close()


def test_the_workspace_is_usable_at_320_px_and_keyboard_only(browser: Browser, workspace: Dict[str, object]) -> None:
    base, ids = workspace["url"], workspace["ids"]  # type: ignore[index]
    page = new_page(browser, width=320)
    sign_in_by_keyboard(page, base)  # type: ignore[arg-type]
    for path in ("/clinic/queue", f"/clinic/triages/{ids['flagged']}", "/clinic/statistics"):  # type: ignore[index]
        page.goto(f"{base}{path}")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), path
    shot(page, "summary-320")
    page.goto(f"{base}/clinic/queue")
    # Tab reaches the first triage link; Enter opens it
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.closest('table.queue') !== null"):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=t("clinic.summary.red_flags"))).to_be_visible()
    visible = page.evaluate("() => { const e = document.activeElement; return getComputedStyle(e).outlineStyle; }")
    assert visible is not None
    page.context.close()
