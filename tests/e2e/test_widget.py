"""The web widget in a real browser (Debian's Chromium, headless, driven by Playwright) against the
real stack: Rasa, the action server and bot.web on SQLite.

Screenshots go to test-artifacts/<test>-<width>.png. Every wait is Playwright's auto-waiting
(expect / wait_for); nothing sleeps.
"""
from __future__ import annotations

import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from sqlalchemy import func, select

from bot.i18n.catalog import translate
from bot.paths import PROJECT_ROOT
from bot.privacy.pseudonym import channel_sender, pseudonymise
from bot.privacy.retention import RASA_EVENTS
from bot.store.db import session_scope
from bot.store.models import TriageSession
from bot.store.repository import TriageRepository
from tests.progress import shown
from tests.clinic_helpers import setup_clinic
from tests.conftest import make_settings
from tests.e2e.servers import RunningStack

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CODE = re.compile(r"BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
BACK_FLAGS = 6
# The element that is focused, looking through shadow roots, and whether its focus is visible.
FOCUSED = """() => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
  if (!e) return null;
  const s = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), text: (e.textContent || '').trim(), label: e.getAttribute('aria-label'),
          id: e.id, focusVisible: e.matches(':focus-visible'), outline: s.outlineStyle, width: parseFloat(s.outlineWidth)};
}"""
NO_HORIZONTAL_SCROLL = """() => {
  const root = document.querySelector('.backtalk-widget').shadowRoot;
  const wide = [document.documentElement, ...root.querySelectorAll('*:not(.sr)')].filter(
    e => e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1);  // (1 px: visually hidden labels)
  return {page: document.documentElement.scrollWidth <= window.innerWidth, wide: wide.map(e => e.className || e.tagName)};
}"""


def t(msgid: str, language: str = "en", **values: Any) -> str:
    return translate(language, msgid, **values)


class Site:
    """A page on another origin (another port) that embeds the widget like a clinic's site would."""

    def __init__(self, widget_src: str, attributes: str = "") -> None:
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
                f'content="width=device-width, initial-scale=1"><title>Clinic</title></head><body>'
                f'<h1>Example clinic</h1><p>Opening hours: Monday to Friday.</p>'
                f'<script src="{widget_src}"{attributes} defer></script></body></html>').encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200 if self.path == "/" else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page if self.path == "/" else b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def web_stack(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Once for this module (SQLite): bot.web allows one other origin, the clinic site."""
    data_dir = tmp_path_factory.mktemp("widget-stack")
    config = make_settings(f"sqlite:///{data_dir / 'backtalk.db'}", data_dir)
    from bot.store.migrate import upgrade

    upgrade(config.database_url)
    setup_clinic(config, "main", default=True)
    setup_clinic(config, "north")
    running = RunningStack(config=config, model=model, with_web=True)
    # the clinic's site names its clinic: its patients' triages go to "north", others' to the default
    running.clinic = Site(f"{running.web_url}/widget.js", ' data-clinic="north"')  # type: ignore[attr-defined]
    running.stranger = Site(f"{running.web_url}/widget.js")  # type: ignore[attr-defined]  # not allowed
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WIDGET_ALLOWED_ORIGINS", running.clinic.url)  # type: ignore[attr-defined]
        env.delenv("WEB_RATE_LIMIT_MESSAGES", raising=False)  # the default limit, as in production
        env.delenv("WEB_RATE_LIMIT_SECONDS", raising=False)
        running.start()
    yield running
    running.stop()
    running.clinic.close()  # type: ignore[attr-defined]
    running.stranger.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (`.ci/run` installs the `chromium` package); Playwright downloads nothing."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is missing: apt-get install -y chromium (see README, Web widget)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Chat:
    """The widget on one page: types, taps buttons by their title, waits for each reply."""

    def __init__(self, page: Page, stack: RunningStack) -> None:
        self.page, self.stack = page, stack
        self.requests: List[str] = []
        self.dialogs: List[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    @property
    def input(self) -> Locator:
        return self.page.locator("#bt-input")

    @property
    def send_button(self) -> Locator:
        return self.page.locator("button.send")

    @property
    def typing(self) -> Locator:
        return self.page.locator(".typing")

    @property
    def messages(self) -> Locator:
        return self.page.locator(".msg:not(.note)")

    @property
    def question(self) -> Locator:
        """The text of the bot's latest message."""
        return self.page.locator(".msg.bot p").last

    def settle(self) -> "Chat":
        expect(self.typing).to_be_hidden(timeout=30_000)
        return self

    def say(self, text: str) -> "Chat":
        self.input.fill(text)
        self.input.press("Enter")
        return self.settle()

    def button(self, title: str) -> Locator:
        return self.page.get_by_role("button", name=title, exact=True, disabled=False)

    def tap(self, title: str) -> "Chat":
        self.button(title).click()
        return self.settle()

    def asks(self, msgid: str, language: str = "en") -> "Chat":
        expect(self.question).to_have_text(shown(t(msgid, language)), timeout=30_000)
        return self

    def storage(self, name: str) -> Any:
        raw = self.page.evaluate(f"localStorage.getItem('backtalk.{name}')")
        return json.loads(raw) if raw else None

    def slots(self) -> Dict[str, Any]:
        sender = pseudonymise(f"web:{self.storage('conversation')}", self.stack.config.pseudonym_key)
        return self.stack.tracker(sender)["slots"]

    def focused(self) -> Dict[str, Any]:
        return self.page.evaluate(FOCUSED)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def open_chat(browser: Browser, stack: RunningStack, locale: str = "en-GB", width: int = 1280, height: int = 800,
              scale: float = 1, url: Optional[str] = None) -> Chat:
    context: BrowserContext = browser.new_context(
        locale=locale, viewport={"width": width, "height": height}, device_scale_factor=scale)
    page = context.new_page()
    chat = Chat(page, stack)
    page.goto(url or f"{stack.web_url}/chat")
    return chat


@pytest.fixture
def contexts(browser: Browser) -> Iterator[None]:
    yield
    for context in browser.contexts:
        context.close()


def stored_clinic(chat: Chat) -> Optional[str]:
    """The clinic code of the conversation's stored triage (created when consent was given)."""
    sender = pseudonymise(f"web:{chat.storage('conversation')}", chat.stack.config.pseudonym_key)
    with session_scope(chat.stack.config.database_url) as db:
        triage = TriageRepository(db).latest(pseudonymise(sender, chat.stack.config.pseudonym_key))
        return triage.clinic.code if triage is not None and triage.clinic is not None else None


def answer_red_flags_and_first_items(chat: Chat) -> Chat:
    """hi, consent, research consent (typed), low back, six red flags "no": up to STarT Back's first item."""
    chat.say("hi").asks("consent.ask").tap("Yes").asks("research_consent.ask").say("yes").asks("pain_site.ask")
    chat.tap("Low back").asks("rf_saddle_numbness.ask")
    for answer in ["No", "no", "No", "nope", "No", "no"]:
        (chat.tap(answer) if answer == "No" else chat.say(answer))
    return chat.asks("episode_duration.ask").tap("1 to 3 months").asks("sbt_1.ask")


def test_a_whole_triage_by_clicking_and_typing(web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    chat = open_chat(browser, web_stack, locale="en-GB")
    expect(chat.page.locator(".empty")).to_have_text(t("widget.empty"))
    expect(chat.input).to_have_attribute("placeholder", t("widget.placeholder"))
    # Accessible names and the live region new messages are announced in.
    log = chat.page.get_by_role("log", name=t("widget.log_label"))
    expect(log).to_have_attribute("aria-live", "polite")
    expect(chat.page.get_by_label(t("widget.input_label"))).to_have_id("bt-input")
    expect(chat.page.get_by_role("button", name=t("widget.send"))).to_be_visible()
    expect(chat.page.get_by_role("region", name=t("widget.title"))).to_be_visible()
    chat.say("hi")
    bot_texts = chat.page.locator(".msg.bot p")
    expect(bot_texts).to_have_text([t("welcome.greeting"), t("welcome.privacy"), shown(t("consent.ask"))])
    chat.tap("Yes").asks("research_consent.ask")
    assert stored_clinic(chat) == "main"  # a page that names no clinic: the default clinic
    expect(chat.page.locator(".msg.user").last).to_have_text(t("widget.you") + "Yes")
    no = chat.page.get_by_role("button", name="No", exact=True)
    expect(no.first).to_be_disabled()  # used questions close
    expect(no.last).to_be_enabled()  # the research question's own yes/no
    chat.tap("No").asks("pain_site.ask")
    expect(chat.page.locator(".msg.user").last).to_have_text(t("widget.you") + "No")
    expect(no).to_have_count(2)
    expect(no.last).to_be_disabled()
    chat.say("my lower back").asks("rf_saddle_numbness.ask")
    for answer in ["No", "no", "No", "not really", "No", "No"]:
        (chat.tap(answer) if answer[0].isupper() else chat.say(answer))
    chat.asks("episode_duration.ask").say("two weeks").asks("sbt_1.ask")
    for answer in ["Disagree", "disagree", "Agree", "Disagree", "nope", "Disagree", "Agree", "Disagree"]:
        (chat.tap(answer) if answer[0].isupper() else chat.say(answer))
    chat.asks("sbt_9.ask").tap("Slightly").asks("pain_now.ask")
    unnamed = chat.page.evaluate("""() => [...document.querySelector('.backtalk-widget').shadowRoot
        .querySelectorAll('button, input, [tabindex]')].filter(e => !(e.textContent.trim() || e.getAttribute('aria-label')
        || (e.labels && e.labels.length))).map(e => e.outerHTML)""")
    assert unnamed == []  # every control has a name (the log is named by aria-label)
    chat.screenshot("test_a_whole_triage_by_clicking_and_typing-1280-question")
    chat.say("three out of ten").asks("outlook_offer.ask").tap("No")
    # The summary before the result: "Change something" offers the answers, the changed one is asked,
    # then the summary again with the new answer; "That's right" gives the result.
    expect(chat.question).to_contain_text(t("summary.intro"))
    expect(chat.question).to_contain_text(t("summary.line", item=t("pain_now.short"), answer="3"))
    chat.tap(t("summary.change")).asks("change.which")
    chat.tap(t("pain_now.short")).asks("pain_now.ask").tap("4")
    expect(chat.question).to_contain_text(t("summary.line", item=t("pain_now.short"), answer="4"))
    chat.tap(t("summary.confirm"))
    # The care plan: its text in the chat, then links to the PDF and the page for phones, from bot.web.
    expect(chat.page.locator("a.doc")).to_have_text([re.compile(r"care-plan-BT-.*\.pdf"), re.compile(r"care-plan-BT-.*\.html")])
    link = chat.page.locator("a.doc").first
    page_link = chat.page.locator("a.doc").last
    html = chat.page.request.get(page_link.get_attribute("href") or "")
    assert html.ok and html.headers["content-type"].startswith("text/html") and "sandbox" in html.headers["content-security-policy"]
    code = CODE.search(link.text_content() or "").group(0)  # type: ignore[union-attr]
    expect(chat.page.locator(".msg.bot p", has_text=t("result.reference_code", reference_code=code))).to_have_count(1)
    response = chat.page.request.get(link.get_attribute("href") or "")
    assert response.ok and response.headers["content-type"] == "application/pdf" and response.body()[:4] == b"%PDF"
    slots = chat.slots()
    assert (slots["reference_code"], slots["risk_group"], slots["pain_now"], slots["language"]) == (code, "low", 4, "en")
    assert slots["research_consent"] is False
    chat.screenshot("test_a_whole_triage_by_clicking_and_typing-1280")
    # Nothing but bot.web was asked for anything: no third-party request.
    assert chat.requests and all(url.startswith(web_stack.web_url + "/") for url in chat.requests), chat.requests


def test_a_reload_half_way_shows_the_transcript_and_continues(web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    chat = answer_red_flags_and_first_items(open_chat(browser, web_stack, width=375))
    chat.tap("Agree").asks("sbt_2.ask").say("disagree").asks("sbt_3.ask")
    before = chat.messages.all_text_contents()
    conversation = chat.storage("conversation")
    assert re.fullmatch(r"[0-9a-f]{32}", conversation)

    chat.page.reload()
    expect(chat.messages).to_have_text(before)
    expect(chat.question).to_have_text(shown(t("sbt_3.ask")))
    assert chat.storage("conversation") == conversation
    assert chat.page.get_by_role("button", disabled=False).filter(has_text=re.compile("^(Agree|Disagree)$")).count() == 2
    expect(chat.page.locator(".choice:disabled")).to_have_count(3 + 2 + 3 + 2 * BACK_FLAGS + 5 + 2 * 2)  # every older question (consent has a language button)
    chat.screenshot("test_a_reload_half_way_shows_the_transcript_and_continues-375")
    chat.tap("Agree").asks("sbt_4.ask")
    slots = chat.slots()
    assert (slots["sbt_1"], slots["sbt_2"], slots["sbt_3"], slots["requested_slot"]) == ("agree", "disagree", "agree", "sbt_4")
    assert slots["research_consent"] is True


def test_switching_language_and_a_polish_browser(web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    chat = open_chat(browser, web_stack, locale="en-GB")
    chat.say("hi").tap("Yes").asks("research_consent.ask").tap("Yes").tap("Low back").tap("No").tap("No").asks("rf_leg_weakness.ask")
    chat.say("auf Deutsch bitte").asks("rf_leg_weakness.ask", "de")
    # The widget's own labels follow the chosen language.
    expect(chat.send_button).to_have_text(t("widget.send", "de"))
    expect(chat.input).to_have_attribute("placeholder", t("widget.placeholder", "de"))
    expect(chat.page.locator(".panel")).to_have_attribute("lang", "de")
    expect(chat.page.locator(".msg.bot").last).to_have_attribute("lang", "de")
    chat.tap(t("option.no", "de")).asks("rf_trauma.ask", "de")
    chat.say("/language")
    chat.tap("Polski").asks("rf_trauma.ask", "pl")
    expect(chat.send_button).to_have_text(t("widget.send", "pl"))
    chat.page.reload()
    expect(chat.send_button).to_have_text(t("widget.send", "pl"))  # the choice survives a reload
    chat.tap(t("option.no", "pl")).asks("rf_cancer.ask", "pl")  # "Nie" is the code "no", not Polish "no" (= yeah)
    assert chat.slots()["language"] == "pl"
    chat.screenshot("test_switching_language_and_a_polish_browser-1280")

    polish = open_chat(browser, web_stack, locale="pl-PL", width=375)
    expect(polish.input).to_have_attribute("placeholder", t("widget.placeholder", "pl"))
    expect(polish.page.locator(".panel h2")).to_have_text(t("widget.title", "pl"))
    polish.say("cześć")
    expect(polish.page.locator(".msg.bot p")).to_have_text(
        [t("welcome.greeting", "pl"), t("welcome.privacy", "pl"), shown(t("consent.ask", "pl"))])
    polish.tap(t("option.yes", "pl")).asks("research_consent.ask", "pl")
    polish.tap(t("option.no", "pl")).asks("pain_site.ask", "pl")
    assert (polish.slots()["consent"], polish.slots()["research_consent"]) == (True, False)
    polish.screenshot("test_switching_language_and_a_polish_browser-375")


def test_keyboard_only_with_visible_focus(web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    chat = open_chat(browser, web_stack)
    keyboard = chat.page.keyboard
    expect(chat.input).to_be_visible()
    for _ in range(6):  # Tab from the top of the page reaches the input
        keyboard.press("Tab")
        if chat.focused()["id"] == "bt-input":
            break
    focus = chat.focused()
    assert focus["id"] == "bt-input" and focus["focusVisible"] and focus["width"] >= 2
    keyboard.type("hi")
    keyboard.press("Enter")
    chat.settle().asks("consent.ask")
    keyboard.press("Tab")
    assert chat.focused()["text"] == t("widget.send")  # input -> send
    keyboard.press("Shift+Tab")
    keyboard.press("Shift+Tab")
    assert chat.focused()["text"] == t("language.other")  # the first question offers the language chooser
    keyboard.press("Shift+Tab")
    assert chat.focused()["text"] == "No"
    keyboard.press("Shift+Tab")
    focus = chat.focused()
    assert (focus["tag"], focus["text"], focus["focusVisible"], focus["outline"]) == ("button", "Yes", True, "solid")
    assert focus["width"] >= 3
    chat.screenshot("test_keyboard_only_with_visible_focus-1280")
    keyboard.press("Enter")
    chat.settle().asks("research_consent.ask")
    assert chat.focused()["text"] == "Yes"  # after a button, focus moves to the next question's first button
    keyboard.press("Tab")
    assert chat.focused()["text"] == "No" and chat.focused()["focusVisible"]
    keyboard.press("Enter")
    chat.settle().asks("pain_site.ask")
    assert chat.focused()["text"] == "Low back"
    keyboard.press("Tab")
    keyboard.press("Enter")  # Neck
    chat.settle().asks("rf_bladder_bowel.ask")
    expect(chat.page.locator(".msg.user").last).to_have_text(t("widget.you") + "Neck")
    keyboard.press("Tab")
    assert chat.focused()["text"] == "No" and chat.focused()["focusVisible"]
    keyboard.press("Enter")
    chat.settle().asks("rf_cord_compression.ask")
    keyboard.press("Tab")
    keyboard.press("Tab")  # past "No" to the input: typing works as well
    assert chat.focused()["id"] == "bt-input"
    keyboard.type("no")
    keyboard.press("Enter")
    chat.settle().asks("rf_neck_vascular.ask")
    assert chat.focused()["id"] == "bt-input"
    slots = chat.slots()
    assert (slots["pain_site"], slots["rf_bladder_bowel"], slots["rf_cord_compression"]) == ("neck", False, False)
    assert slots["research_consent"] is False


@pytest.mark.parametrize("width", [375, 1280])
def test_layout_at_phone_and_desktop_widths(web_stack: RunningStack, browser: Browser, contexts: None, width: int) -> None:
    chat = open_chat(browser, web_stack, width=width, height=720 if width > 400 else 667)
    chat.say("hi").tap("Yes").asks("research_consent.ask").tap("Yes").asks("pain_site.ask")
    for locator in (chat.input, chat.send_button, chat.button("Both")):
        box = locator.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, locator
    assert chat.page.evaluate(NO_HORIZONTAL_SCROLL) == {"page": True, "wide": []}
    chat.screenshot(f"test_layout_at_phone_and_desktop_widths-{width}")


@pytest.mark.parametrize("width, height, scale", [(320, 568, 1), (640, 400, 2)], ids=["320px", "1280px-at-200pct-zoom"])
def test_no_horizontal_scrolling_at_320px_or_200pct_zoom(web_stack: RunningStack, browser: Browser, contexts: None,
                                                          width: int, height: int, scale: float) -> None:
    chat = open_chat(browser, web_stack, width=width, height=height, scale=scale)
    chat.say("hello, a long word: Rückenschmerzen-Nackenschmerzen-Schulterschmerzen-Kopfschmerzen").asks("consent.ask")
    chat.tap("Yes").asks("research_consent.ask")
    assert chat.page.evaluate(NO_HORIZONTAL_SCROLL) == {"page": True, "wide": []}  # the longest question too
    chat.say("no").asks("pain_site.ask")
    assert chat.page.evaluate(NO_HORIZONTAL_SCROLL) == {"page": True, "wide": []}
    # The whole widget fits the screen (the conversation scrolls inside it), input and Send included.
    assert chat.page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    for locator in (chat.input, chat.send_button, chat.button("Both")):
        box = locator.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, locator
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, locator
    chat.screenshot(f"test_no_horizontal_scrolling-{width}x{scale}")


def test_html_is_shown_as_text_never_run(web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    chat = open_chat(browser, web_stack)
    attack = "<img src=x onerror=alert(1)>"
    chat.say(attack)
    expect(chat.page.locator(".msg.user p").first).to_have_text(attack)
    expect(chat.question).to_have_text(shown(t("consent.ask")))
    assert chat.page.locator(".backtalk-widget img").count() == 0 and chat.page.locator("img").count() == 0
    # Whatever a reply holds, it is rendered as text: bot.web already keeps only known fields, and the
    # widget checks again (this reply skips bot.web on purpose).
    evil = {"messages": [
        {"text": "<b>bold</b><script>alert(2)</script>", "buttons": [{"title": "<i onmouseover=alert(3)>x</i>", "payload": "/x"}]},
        {"text": "A picture <svg onload=alert(4)>", "image": "/healthz"},
        {"custom": {"document": "javascript:alert(5)"}},
        {"custom": {"document": "/careplan/plan.pdf", "title": "<u>Your plan</u>"}},
    ]}
    chat.page.route("**/api/chat", lambda route: route.fulfill(json=evil))
    chat.say("next")
    expect(chat.page.locator(".msg.bot p", has_text="<b>bold</b>")).to_have_text(evil["messages"][0]["text"])
    expect(chat.button("<i onmouseover=alert(3)>x</i>")).to_be_visible()
    image = chat.page.locator(".backtalk-widget img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("alt", "A picture <svg onload=alert(4)>")
    links = chat.page.locator("a.doc")
    expect(links).to_have_count(1)
    expect(links).to_have_text("<u>Your plan</u>")
    assert links.get_attribute("href") == f"{web_stack.web_url}/careplan/plan.pdf"
    assert chat.page.locator("b, script:not([src]), svg, i, u").count() == 0
    assert chat.page.evaluate("document.querySelector('.backtalk-widget').shadowRoot.querySelectorAll('b, i, u, svg, script').length") == 0
    assert chat.dialogs == []


def test_a_burst_is_retried_and_a_failure_keeps_the_message(web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    chat = open_chat(browser, web_stack)
    calls: List[str] = []

    def once_too_many(route: Any) -> None:
        calls.append(route.request.post_data or "")
        if len(calls) == 1:
            route.fulfill(status=429, headers={"Retry-After": "1"}, json={"error": "too many messages"})
        else:
            route.continue_()

    chat.page.route("**/api/chat", once_too_many)
    chat.say("hi").asks("consent.ask")
    assert len(calls) == 2 and calls[0] == calls[1]  # sent again after Retry-After, the same message
    chat.page.unroute("**/api/chat")

    chat.page.route("**/api/chat", lambda route: route.abort())
    chat.say("yes")
    expect(chat.page.locator(".note")).to_have_text(t("widget.error_connection"))
    expect(chat.input).to_have_value("yes")  # nothing typed is lost
    expect(chat.button("Yes")).to_be_enabled()  # and the question's buttons work again
    chat.page.unroute("**/api/chat")
    # Our side down (bot.web's 502/503): not "check your connection" but "one moment, send it again"
    chat.page.route("**/api/chat", lambda route: route.fulfill(status=503, json={"error": "unavailable"}))
    chat.say("yes")
    expect(chat.page.locator(".note")).to_have_text(t("widget.error_unavailable"))
    expect(chat.input).to_have_value("yes")
    chat.page.unroute("**/api/chat")
    chat.tap("Yes").asks("research_consent.ask")
    expect(chat.page.locator(".note")).to_have_count(0)
    chat.tap("Yes").asks("pain_site.ask")


def test_a_clinic_page_on_another_origin_embeds_the_floating_widget(web_stack: RunningStack, browser: Browser,
                                                                    contexts: None) -> None:
    clinic = web_stack.clinic  # type: ignore[attr-defined]
    chat = open_chat(browser, web_stack, width=1280, url=clinic.url + "/")
    launcher = chat.page.get_by_role("button", name=t("widget.open"))
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(chat.input).to_be_hidden()
    launcher.click()
    expect(chat.input).to_be_focused()
    chat.say("hi").asks("consent.ask").tap("Yes").asks("research_consent.ask").tap("No").asks("pain_site.ask")
    assert stored_clinic(chat) == "north"
    chat.screenshot("test_a_clinic_page_on_another_origin_embeds_the_floating_widget-1280")
    chat.page.keyboard.press("Escape")
    expect(launcher).to_be_focused()
    expect(chat.input).to_be_hidden()
    chat.page.reload()  # stays closed, and opens where the patient was
    chat.page.get_by_role("button", name=t("widget.open")).click()
    expect(chat.question).to_have_text(shown(t("pain_site.ask")))
    expect(chat.page.get_by_role("button", name=t("widget.close"))).to_be_visible()
    assert {u.split("/")[2] for u in chat.requests} == {clinic.url.split("/")[2], web_stack.web_url.split("/")[2]}

    phone = open_chat(browser, web_stack, width=375, height=667, url=clinic.url + "/")
    phone.page.get_by_role("button", name=t("widget.open")).click()
    phone.say("hi").asks("consent.ask")
    box = phone.page.locator(".panel").bounding_box()
    assert box and (box["x"], box["width"]) == (0, 375)  # the whole screen on a phone
    phone.screenshot("test_a_clinic_page_on_another_origin_embeds_the_floating_widget-375")

    stranger = open_chat(browser, web_stack, url=web_stack.stranger.url + "/")  # type: ignore[attr-defined]
    stranger.page.get_by_role("button", name=t("widget.open")).click()
    stranger.input.fill("hi")
    stranger.input.press("Enter")
    expect(stranger.page.locator(".note")).to_have_text(t("widget.error_connection"))  # CORS refused it


def test_the_privacy_menu_withdraws_research_use_and_forget_me_erases_and_starts_afresh(
        web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    chat = open_chat(browser, web_stack)
    chat.say("hi").asks("consent.ask").tap("Yes").asks("research_consent.ask").tap("Yes").asks("pain_site.ask")
    old = chat.storage("conversation")
    sender = channel_sender("web", old, web_stack.config.pseudonym_key)  # Rasa's id of the conversation
    pseudonym = pseudonymise(sender, web_stack.config.pseudonym_key)  # BackTalk's

    def stored() -> tuple:
        with session_scope(web_stack.config.database_url) as db:
            answers = list(db.execute(select(TriageSession.research_consent)
                                      .where(TriageSession.pseudonym == pseudonym)).scalars())
            events = db.execute(select(func.count()).where(RASA_EVENTS.c.sender_id == sender)).scalar_one()
        return answers, events

    assert stored()[0] == [True]
    toggle = chat.page.get_by_role("button", name=t("widget.menu"))
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    chat.button(t("widget.research_withdraw")).click()
    expect(chat.page.locator(".msg.info")).to_have_text(t("widget.research_withdrawn"))
    assert stored()[0] == [False]
    # Forget me: a confirmation that says what is lost, the safe answer focused; "No" keeps everything.
    toggle.click()
    chat.button(t("widget.forget")).click()
    expect(chat.page.get_by_role("alertdialog", name=t("widget.forget_ask"))).to_be_visible()
    assert chat.focused()["text"] == t("widget.forget_no")
    chat.button(t("widget.forget_no")).click()
    expect(chat.page.get_by_role("alertdialog")).to_be_hidden()
    assert chat.messages.count() > 3 and chat.storage("conversation") == old
    toggle.click()
    chat.button(t("widget.forget")).click()
    answers, events = stored()
    assert answers == [False] and events > 0
    chat.screenshot("test_the_privacy_menu-1280-confirm")
    chat.button(t("widget.forget_yes")).click()
    expect(chat.page.locator(".msg.info")).to_have_text(t("widget.forgotten", triages="1", events=f"{events:,}"))
    assert stored() == ([], 0)
    expect(chat.messages).to_have_count(1)  # only the notice: the transcript is gone
    expect(chat.page.locator(".empty")).to_be_visible()
    new = chat.storage("conversation")
    assert re.fullmatch(r"[0-9a-f]{32}", new) and new != old and chat.storage("transcript") is None
    chat.page.reload()
    expect(chat.page.locator(".empty")).to_have_text(t("widget.empty"))
    chat.say("hi").asks("consent.ask")  # a new conversation, from the beginning
    assert chat.storage("conversation") == new


def test_a_resumed_conversation_gets_fresh_links_in_place_of_expired_ones(
        web_stack: RunningStack, browser: Browser, contexts: None) -> None:
    """Links to files expire (bot/web/files.py); the widget, resuming its conversation, asks for fresh
    ones (/api/documents) and the patient's links keep working."""
    import secrets
    import time

    from bot.web.files import FileLinks
    from tests.clinic_helpers import LOW_BACK_LOW, triage

    config = web_stack.config
    conversation = secrets.token_hex(16)
    triage(config, LOW_BACK_LOW, clinic=None, deliver=True,
           sender=channel_sender("web", conversation, config.pseudonym_key))
    with session_scope(config.database_url) as db:
        token = next(d.token for t in TriageRepository(db).all_for(
            pseudonymise(channel_sender("web", conversation, config.pseudonym_key), config.pseudonym_key))
            for d in t.documents if d.kind == "care_plan_pdf")
    expired = FileLinks(config.pseudonym_key, web_stack.web_url).url(token, now=time.time() - 8 * 86400)
    chat = open_chat(browser, web_stack)
    assert chat.page.request.get(expired).status == 410
    transcript = [{"who": "bot", "lang": "en", "text": "Your care plan", "document": {"url": expired, "title": "plan.pdf"}}]
    chat.page.evaluate("([c, t]) => { localStorage.setItem('backtalk.conversation', JSON.stringify(c));"
                       " localStorage.setItem('backtalk.transcript', JSON.stringify(t)); }", [conversation, transcript])
    chat.page.reload()
    link = chat.page.locator("a.doc")
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(web_stack.web_url)}/files/{token}\?expires=\d+&sig="))
    fresh = link.get_attribute("href")
    assert fresh != expired and chat.page.request.get(fresh).status == 200
    assert chat.storage("transcript")[0]["document"]["url"] == fresh  # kept for the next visit
