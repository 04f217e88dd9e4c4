"""BackTalk's self-management guide: complete in every language (and the checker really refuses a
gap), served by bot.web as accessible pages, red flags in the screen's own words, 404s, drawings
without external references, and care-plan links that land on served pages."""
from __future__ import annotations

import asyncio
import re
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.careplan.compose import compose
from bot.careplan.render import to_text
from bot.guide.content import GUIDE_DIR, GuideDataError, load_guide, load_guides, load_structure
from bot.guide.links import plan_links, plan_sections
from bot.guide.render import red_flags
from bot.guide.text import blocks
from bot.guide.web import STATIC_DIR
from bot.web.headers import GUIDE_CSP
from bot.i18n.catalog import SUPPORTED_LANGUAGES, translate
from bot.triage.replies import emergency_number
from bot.triage.service import TriageOutcome
from bot.web.app import WebOptions, create_app
from tests.conftest import make_settings

PUBLIC_URL = "https://bot.example"
SECTIONS = ("about_pain", "stay_active", "exercises_back", "exercises_neck", "pacing", "sleep", "work",
            "medicines", "seek_help", "risk_groups")


class Page(HTMLParser):
    """What the tests look at in a page: <html lang>, headings in order, images, links, text."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: Optional[str] = None
        self.headings: List[int] = []
        self.images: List[Dict[str, Optional[str]]] = []
        self.links: List[str] = []
        self.scripts = 0
        self.text: List[str] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "img":
            self.images.append(attributes)
        elif tag == "a" and attributes.get("href"):
            self.links.append(str(attributes["href"]))
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def plain(self) -> str:
        return flat("".join(self.text))


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def with_client(test: Callable[[TestClient], Awaitable[None]], tmp_path: Path) -> None:
    async def main() -> None:
        app = create_app(make_settings("sqlite://", tmp_path), WebOptions())
        async with TestClient(TestServer(app)) as client:
            await test(client)

    asyncio.run(main())


# --- the data -------------------------------------------------------------------------------

def test_every_language_has_every_section_and_every_exercise_has_its_alt_text() -> None:
    guides = load_guides()
    assert sorted(guides) == sorted(SUPPORTED_LANGUAGES) and len(guides) == 12
    structure = load_structure()
    assert structure.section_ids == SECTIONS
    assert 4 <= len(structure.exercises["exercises_back"]) <= 5 and 4 <= len(structure.exercises["exercises_neck"]) <= 5
    for language, guide in guides.items():
        assert tuple(s.id for s in guide.sections) == SECTIONS, language
        for section in guide.sections:
            assert section.title and section.summary and section.body and section.sources, (language, section.id)
            assert [e.id for e in section.exercises] == list(structure.exercises[section.id])
            for exercise in section.exercises:
                assert exercise.name.strip() and exercise.steps.strip() and len(exercise.alt) > 20, (language, exercise.id)


def test_each_language_is_written_for_itself_not_copied_from_english() -> None:
    guides = load_guides()
    english = {s.id: s.body for s in guides["en"].sections}
    for language, guide in guides.items():
        if language != "en":
            assert all(s.body != english[s.id] for s in guide.sections), language
        titles = [s.title for s in guide.sections]
        assert len(set(titles)) == len(titles), language


def _copy_guide(tmp_path: Path) -> Path:
    directory = tmp_path / "guide"
    shutil.copytree(GUIDE_DIR, directory)
    return directory


def _edit(path: Path, change: Callable[[Dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("change, message", [
    (lambda d: d["sections"].pop("sleep"), r"pl\.yml: sections differ.*missing: sleep"),
    (lambda d: d["sections"]["exercises_neck"]["exercises"]["chin_tuck"].pop("alt"),
     r"pl\.yml: sections\.exercises_neck\.exercises\.chin_tuck: 'alt' missing"),
    (lambda d: d["sections"]["exercises_back"]["exercises"]["bridge"].update(alt="  "),
     r"exercises\.bridge: 'alt' missing or empty"),
    (lambda d: d["sections"]["exercises_back"]["exercises"].pop("knee_hug"), r"missing: knee_hug"),
    (lambda d: d["sections"]["seek_help"].update(urgent="Zadzwoń po pomoc."), r"urgent: must contain \{emergency_number\}"),
    (lambda d: d["sections"]["pacing"].update(body="Tekst {oops}"), r"pacing\.body: unknown placeholder"),
    (lambda d: d["sections"]["risk_groups"]["groups"].pop("high"), r"groups: 'high' missing"),
])
def test_the_checker_refuses_a_language_file_with_a_gap(tmp_path: Path, change: Callable[[Dict[str, Any]], None],
                                                         message: str) -> None:
    directory = _copy_guide(tmp_path)
    _edit(directory / "pl.yml", change)
    load_guide("en", directory)  # the other languages still load
    with pytest.raises(GuideDataError, match=message):
        load_guides(directory)


def test_the_checker_refuses_a_missing_drawing_or_an_uncited_section(tmp_path: Path) -> None:
    directory = _copy_guide(tmp_path)
    (directory / "figures" / "bridge.svg").unlink()
    with pytest.raises(GuideDataError, match=r"bridge\.svg: drawing for exercise 'bridge' missing"):
        load_guides(directory)
    directory = _copy_guide(tmp_path / "again")
    _edit(directory / "guide.yml", lambda d: d["sections"][0].update(sources=["nobody_2020"]))
    with pytest.raises(GuideDataError, match=r"about_pain.*unknown: nobody_2020"):
        load_guides(directory)


def test_the_drawings_are_self_contained_line_drawings() -> None:
    for exercise in sum(load_structure().exercises.values(), ()):
        svg = (GUIDE_DIR / "figures" / f"{exercise}.svg").read_text(encoding="utf-8")
        assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 120"'), exercise
        assert "<script" not in svg and "href" not in svg and "url(" not in svg and "<image" not in svg
        assert re.findall(r"https?://[^\"']+", svg) == ["http://www.w3.org/2000/svg"], exercise


def test_the_text_markup_escapes_html_from_a_data_file() -> None:
    html = str(blocks("Hello <script>alert(1)</script> **strong**\n\n- one\n- two\n\n1. first\n2. second"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<strong>strong</strong>" in html and "<ul><li>one</li><li>two</li></ul>" in html and "<ol>" in html


def _contrast(one: str, two: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_stylesheet_keeps_text_contrast_and_prints() -> None:
    css = (STATIC_DIR / "guide.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))
    for text, background in (("text", "background"), ("link", "background"), ("muted", "background"),
                             ("urgent-text", "urgent-background")):
        assert _contrast(colours[text], colours[background]) >= 4.5, (text, background)
    assert "@media print" in css and "max-width: 100%" in css


# --- the pages ------------------------------------------------------------------------------

def test_every_page_is_served_in_every_language_and_is_accessible(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        for language in SUPPORTED_LANGUAGES:
            for section in ("", *SECTIONS):
                response = await client.get(f"/guide/{language}/{section}")
                assert response.status == 200, (language, section)
                assert response.headers["Content-Security-Policy"] == GUIDE_CSP
                assert response.headers["X-Content-Type-Options"] == "nosniff"  # bot.web's own middleware
                page = parse(await response.text())
                assert page.lang == language
                assert page.scripts == 0
                assert page.headings[0] == 1 and page.headings.count(1) == 1, (language, section)
                assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:])), (language, section)
                assert page.links[0] == "#main"  # the skip link comes first
                for image in page.images:
                    assert (image.get("alt") or "").strip(), (language, section, image)
                    figure = await client.get(str(image["src"]))
                    assert figure.status == 200 and figure.content_type == "image/svg+xml"
                if section.startswith("exercises_"):
                    assert len(page.images) == len(load_structure().exercises[section])

    with_client(test, tmp_path)


def test_the_warning_signs_are_the_screens_own_words_with_the_emergency_number(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        for language in SUPPORTED_LANGUAGES:
            page = parse(await (await client.get(f"/guide/{language}/seek_help")).text())
            for msgid in ("rf_saddle_numbness", "rf_bladder_bowel", "rf_leg_weakness", "rf_cord_compression",
                          "rf_neck_vascular", "rf_trauma", "rf_cancer", "rf_fever"):
                assert flat(translate(language, f"{msgid}.short")) in page.plain, (language, msgid)
                assert flat(translate(language, f"{msgid}.ask")) in page.plain, (language, msgid)
            assert emergency_number(language) in page.plain, language
            assert len(red_flags(language)) == 8

    with_client(test, tmp_path)


def test_the_risk_groups_page_uses_the_chats_own_words(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        for language in ("en", "de", "hr"):
            html = await (await client.get(f"/guide/{language}/risk_groups")).text()
            plain = parse(html).plain
            for group in ("low", "medium", "high"):
                assert f'id="{group}"' in html
                for msgid in (f"result.{group}", f"next_steps.{group}", f"careplan.risk.{group}"):
                    assert flat(translate(language, msgid)) in plain, (language, msgid)

    with_client(test, tmp_path)


def test_unknown_pages_are_404_with_a_way_back(tmp_path: Path) -> None:
    async def test(client: TestClient) -> None:
        for path in ("/guide/xx/", "/guide/klingon/sleep", "/guide/static/figures/nothing.svg"):
            response = await client.get(path)
            assert response.status == 404, path
            page = parse(await response.text())
            assert page.lang == "en" and "/guide/en/" in page.links, path
        response = await client.get("/guide/de/no_such_section")
        assert response.status == 404
        page = parse(await response.text())
        assert page.lang == "de" and translate("de", "guide.not_found") in page.plain and "/guide/de/" in page.links
        # A tag the guide knows under another name goes to its page; the bare prefixes go to an index.
        for path, target in (("/guide/de-CH/sleep", "/guide/de/sleep"), ("/guide/no/", "/guide/nb/"),
                             ("/guide/", "/guide/en/"), ("/guide/pl", "/guide/pl/")):
            response = await client.get(path, allow_redirects=False)
            assert response.status in (301, 302) and response.headers["Location"] == target, path
        css = await client.get("/guide/static/guide.css")
        assert css.status == 200 and css.content_type == "text/css"

    with_client(test, tmp_path)


# --- links from the care plan and the chat ---------------------------------------------------

def _plan(language: str, site: str, group: str):  # type: ignore[no-untyped-def]
    answers: Dict[str, Any] = {"consent": True, "pain_site": site, "episode_duration": "1_to_3_months",
                               "pain_now": 5, "outlook_offer": False}
    tool = "start_msk" if site != "low_back" else "start_back"
    outcome = TriageOutcome(kind="risk", reference_code="BT-GUID-EAAA", risk_tool=tool, risk_score=3,
                            risk_subscore=1, risk_group=group)
    return compose(outcome, answers, language, created=date(2026, 11, 25), public_url=PUBLIC_URL)


@pytest.mark.parametrize("site, first", [("low_back", ["exercises_back"]), ("neck", ["exercises_neck"]),
                                         ("both", ["exercises_back", "exercises_neck"])])
def test_the_plan_links_the_site_matched_pages_first_then_the_risk_group(site: str, first: List[str]) -> None:
    for group in ("low", "medium", "high"):
        sections = plan_sections(site, group)
        assert list(sections[:len(first)]) == first
        assert sections[len(first)] == "risk_groups"
        assert "seek_help" in sections and len(set(sections)) == len(sections)
    links = plan_links("de", site, "high", PUBLIC_URL)
    assert links[0][1] == f"{PUBLIC_URL}/guide/de/{first[0]}"
    assert links[len(first)][1] == f"{PUBLIC_URL}/guide/de/risk_groups#high"
    assert links[-1][1] == f"{PUBLIC_URL}/guide/de/"


def test_the_care_plans_guide_links_resolve_to_served_pages(tmp_path: Path) -> None:
    cases = [(language, site, group) for language, site, group in (
        ("en", "low_back", "low"), ("de", "neck", "medium"), ("pl", "low_back", "high"), ("hr", "neck", "high"),
        ("it", "both", "medium"), ("nb", "neck", "low"), ("fr", "low_back", "medium"))]

    async def test(client: TestClient) -> None:
        for language, site, group in cases:
            plan = _plan(language, site, group)
            assert plan.guide_links, (language, site)
            expected_first = "exercises_neck" if site == "neck" else "exercises_back"
            assert plan.guide_links[0].url.endswith(f"/guide/{language}/{expected_first}")
            text = to_text(plan)  # what the chat shows (and the stored plan)
            assert plan.guide_intro in text
            for link in plan.guide_links:
                parts = urlsplit(link.url)
                assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
                assert f"{link.title}: {link.url}" in text
                response = await client.get(parts.path)
                assert response.status == 200, link.url
                page = parse(await response.text())
                assert page.lang == language
                if parts.fragment:
                    assert f'id="{parts.fragment}"' in await response.text()

    with_client(test, tmp_path)
