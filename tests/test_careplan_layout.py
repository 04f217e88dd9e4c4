"""How the care plan reads on paper and on a phone: in every language, with and without the outlook,
no PDF page ends with a heading, the clinician's answers sit in one aligned, unjustified column, the
outlook's text alternative is a table in the chat, the web page and the PDF, the PDF passes the
offline accessibility check, and the web page has the PDF's section headings."""
from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from pypdf import PdfReader

from bot.careplan.compose import CarePlan, Outlook, compose
from bot.careplan.pdf_check import check
from bot.careplan.render import pdf_heading_texts, section_headings, to_html, to_pdf, to_text
from bot.i18n.catalog import SUPPORTED_LANGUAGES, translate
from bot.prediction.forecast import forecast
from bot.prediction.graph import labels_from
from bot.prediction.sentences import IMAGE_ALT, INTRO, outlook_notes, outlook_tables
from bot.triage.service import TriageOutcome
from tests.test_result_delivery import LOW_BACK, OUTLOOK

CREATED = date(2026, 11, 25)
OUTCOME = TriageOutcome(kind="risk", reference_code="BT-TEST-LAYT", risk_tool="start_back", risk_score=5,
                        risk_subscore=3, risk_group="medium")
FOOTER_BELOW_PT = 45  # the page footer (reference code, page number) is drawn 12 mm from the bottom
HEADING_MIN_PT = 11  # headings are bold and at least this size; bold body text is 10.5 pt, tables 9 pt
ANSWER_COLUMN_FROM_PT = 300  # the answers' column starts at 145 mm (411 pt)


@lru_cache(maxsize=None)
def outlook_for(language: str) -> Outlook:
    def t(msgid: str, **values: Any) -> str:
        return translate(language, msgid, **values)

    result = forecast({**LOW_BACK, **OUTLOOK}, language=language, labels=labels_from(t), today=CREATED)
    return Outlook((t(INTRO),), result.png, outlook_tables(result.text, t), outlook_notes(result.text, t),
                   t(IMAGE_ALT))


@lru_cache(maxsize=None)
def rendered(language: str, with_outlook: bool) -> Tuple[CarePlan, bytes]:
    answers = {**LOW_BACK, **(OUTLOOK if with_outlook else {"outlook_offer": False})}
    plan = compose(OUTCOME, answers, language, created=CREATED,
                   outlook=outlook_for(language) if with_outlook else None)
    return plan, to_pdf(plan)


class Fragment:
    def __init__(self, text: str, x: float, y: float, font: str, size: float) -> None:
        self.text, self.x, self.y, self.font, self.size = text, x, y, font, size

    @property
    def heading(self) -> bool:
        return "Bold" in self.font and self.size >= HEADING_MIN_PT


def fragments(page: Any) -> List[Fragment]:
    found: List[Fragment] = []

    def visit(text: str, cm: List[float], tm: List[float], font: Optional[Dict[str, Any]], size: float) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            name = str((font or {}).get("/BaseFont", ""))
            found.append(Fragment(text.strip(), x, y, name, size * abs(tm[3] or 1)))

    page.extract_text(visitor_text=visit)
    return found


def image_bottoms(page: Any) -> List[float]:
    """Where the images drawn on a page end (fpdf2 draws each as ``q w 0 0 h x y cm /I Do Q``)."""
    bottoms: List[float] = []
    matrix: List[float] = []

    def visit(operator: bytes, operands: List[Any], cm: List[float], tm: List[float]) -> None:
        nonlocal matrix
        if operator == b"cm":
            matrix = [float(v) for v in operands]
        elif operator == b"Do" and matrix:
            bottoms.append(matrix[5])

    page.extract_text(visitor_operand_before=visit)
    return bottoms


def lines_of(page: Any) -> List[List[Fragment]]:
    """Text lines top to bottom (PDF y grows upwards), footer left out."""
    by_y: Dict[int, List[Fragment]] = {}
    for fragment in fragments(page):
        if fragment.y > FOOTER_BELOW_PT:
            by_y.setdefault(round(fragment.y), []).append(fragment)
    return [sorted(by_y[y], key=lambda f: f.x) for y in sorted(by_y, reverse=True)]


def norm(text: str) -> str:
    """Spaces as text extraction gives them (a no-break space may come out as a plain one, or split)."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).replace(" :", ":").strip()


CASES = [(language, with_outlook) for language in SUPPORTED_LANGUAGES for with_outlook in (False, True)]


@pytest.mark.parametrize("language, with_outlook", CASES)
def test_no_page_ends_with_a_heading(language: str, with_outlook: bool) -> None:
    plan, pdf = rendered(language, with_outlook)
    assert_no_page_ends_with_a_heading(plan, pdf, language, with_outlook)


@pytest.mark.parametrize("with_outlook", (False, True))
@pytest.mark.parametrize("extra_lines", range(0, 48, 3))
def test_no_page_ends_with_a_heading_wherever_the_sections_fall(with_outlook: bool, extra_lines: int) -> None:
    """The real plans put headings where they happen to fall; more lines at the top move every
    heading down the page a little at a time, through every page bottom."""
    plan, _ = rendered("de", with_outlook)
    plan = dataclasses.replace(plan, pain_lines=plan.pain_lines + ("…",) * extra_lines)
    assert_no_page_ends_with_a_heading(plan, to_pdf(plan), "de", with_outlook)


def assert_no_page_ends_with_a_heading(plan: CarePlan, pdf: bytes, language: str, with_outlook: bool) -> None:
    headings = set(pdf_heading_texts(plan))
    reader = PdfReader(io.BytesIO(pdf))
    for number, page in enumerate(reader.pages, 1):
        lines = lines_of(page)
        assert lines, (language, number, "an empty page")
        last = lines[-1]
        text = " ".join(f.text for f in last)
        if any(bottom < last[0].y for bottom in image_bottoms(page)):
            continue  # the page ends with an image (the graph under its heading)
        assert not any(f.heading for f in last), (language, with_outlook, number, text)
        assert norm(text) not in {norm(h) for h in headings}, (language, with_outlook, number, text)


@pytest.mark.parametrize("language, with_outlook", CASES)
def test_the_answers_are_one_aligned_left_aligned_column(language: str, with_outlook: bool) -> None:
    plan, pdf = rendered(language, with_outlook)
    reader = PdfReader(io.BytesIO(pdf))
    answers = {a.text for a in plan.clinician_answers}
    xs, in_table = [], False
    for page in reader.pages:
        for line in lines_of(page):
            if norm(" ".join(f.text for f in line)) == norm(plan.clinician_answers_heading):
                in_table = True  # only the answers table, not the outlook tables above it
            elif in_table:
                xs += [round(f.x, 1) for f in line if f.text in answers and f.x > ANSWER_COLUMN_FROM_PT]
    assert len(xs) >= len(plan.clinician_answers) and len(set(xs)) == 1, (language, sorted(set(xs)))
    for page in reader.pages:  # justified text would set word spacing (Tw)
        content = page.get_contents()
        assert content is not None and not re.search(rb"[\d.]+ Tw", content.get_data())


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_outlook_table_is_in_the_chat_the_web_page_and_the_pdf(language: str) -> None:
    plan, pdf = rendered(language, True)
    assert plan.outlook is not None
    pain = plan.outlook.tables[0]
    date_text = pain.rows[1][0]
    likely, between = pain.columns[1], pain.rows[1][2]
    text = to_text(plan)
    assert pain.title in text and re.search(re.escape(date_text) + ".*" + re.escape(likely) + ".*" + re.escape(between), text)
    html = to_html(plan)
    assert f"<caption>{pain.title}</caption>" in html.replace("&#39;", "'")
    assert f'<th scope="row">{date_text}</th>' in html and f"<td>{between}</td>" in html
    reader = PdfReader(io.BytesIO(pdf))
    lines = [" ".join(f.text for f in line) for page in reader.pages for line in lines_of(page)]
    assert any(line.startswith(date_text) and between in line for line in lines), (language, date_text)
    assert any(pain.title == line for line in lines)


@pytest.mark.parametrize("language, with_outlook", CASES)
def test_the_pdf_passes_the_offline_accessibility_check(language: str, with_outlook: bool, tmp_path: Path) -> None:
    plan, pdf = rendered(language, with_outlook)
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf)
    report = check(str(path), expect_language=language)
    assert report.ok, report.problems
    reader = PdfReader(io.BytesIO(pdf))
    outline = [item.title for item in _flatten(reader.outline)]
    assert outline == section_headings(plan)


def _flatten(outline: Any) -> List[Any]:
    items: List[Any] = []
    for item in outline:
        items += _flatten(item) if isinstance(item, list) else [item]
    return items


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: List[str] = []
        self._in: Optional[str] = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("h1", "h2"):
            self._in = tag
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.headings[-1] += data


@pytest.mark.parametrize("language, with_outlook", CASES)
def test_the_web_page_has_the_pdfs_section_headings_and_no_script(language: str, with_outlook: bool) -> None:
    plan, _pdf = rendered(language, with_outlook)
    html = to_html(plan)
    parser = _Headings()
    parser.feed(html)
    assert parser.headings == section_headings(plan)
    assert "<script" not in html and f'<html lang="{language}">' in html
    if with_outlook:
        assert 'alt="' + translate(language, "prediction.graph.alt").replace("'", "&#39;") + '"' in html


def test_a_pdf_without_language_title_or_alt_text_fails_the_check(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "Hello")
    path = tmp_path / "bare.pdf"
    path.write_bytes(bytes(pdf.output()))
    problems = " ".join(check(str(path)).problems)
    assert "/Lang" in problems and "/Title" in problems and "outline" in problems
    assert "not embedded" in problems  # the core font Helvetica is referenced, not embedded


def test_the_checker_runs_from_the_command_line(tmp_path: Path) -> None:
    from bot.careplan.pdf_check import main

    path = tmp_path / "plan.pdf"
    path.write_bytes(rendered("de", True)[1])
    assert main([str(path)]) == 0

