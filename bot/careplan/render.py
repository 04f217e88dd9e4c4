"""A CarePlan as chat text, as a web page for phones (one Jinja template for every language) and as
an A4 PDF.

The PDF is drawn with fpdf2's own primitives rather than from the HTML, because only then can it
keep a heading with what follows it: before each heading the height of the heading and of the start
of its section is measured, and the heading moves to the next page when they do not both fit. The
graph moves with its heading (or shrinks a little to stay on the page), the small outlook tables are
never split, and the clinician's answers are a two-column table with left-aligned text.

Fonts: DejaVu Sans, embedded from matplotlib's copy (nothing is downloaded); it covers every letter of
the twelve languages (ą ę ł ś ž đ č ø å æ ã õ ç ...). Only the characters used are embedded.

Accessibility (what fpdf2 2.8 can do; docs/clinical-content.md says what it cannot): document
language (/Lang), title shown in the viewer's title bar, an outline (bookmarks) with every heading,
and alt text on the graph (a /Figure structure element with /Alt). ``bot.careplan.pdf_check``
checks these offline.
"""
from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import matplotlib
from fpdf import FPDF, FontFace
from fpdf.enums import Align, PageMode, TableBordersLayout, VAlign, XPos, YPos
from fpdf.prefs import ViewerPreferences
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from bot.careplan.compose import CarePlan, Entry, Outlook
from bot.prediction.sentences import OutlookTable

TEMPLATES = Path(__file__).parent / "templates"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
BULLET = "•"

# PDF geometry, millimetres and points. Black text on white; headings by size and weight, links
# underlined: nothing depends on colour, so a black-and-white print keeps everything.
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20, 18, 18
BODY_PT, LINE = 10.5, 5.2
TITLE_PT, HEADING_PT, SUBHEADING_PT, TABLE_PT = 19, 13.5, 11, 9
HEADING_SPACE_BEFORE, PARAGRAPH_SPACE = 5.0, 1.6
BULLET_INDENT = 5.0
TABLE_LINE, TABLE_PADDING = 4.0, (0.8, 1.5, 0.8, 1.5)  # top, right, bottom, left
KEEP_LINES = 3  # a heading keeps at least this many lines of its section on its page
SHRINK_LIMIT = 0.75  # the graph may shrink to this share of its width to stay with its heading


def to_text(plan: CarePlan) -> str:
    """The image-free version: the same sections as the PDF, in plain text, a blank line between
    sections (Rasa's REST channel sends each section as its own chat message)."""
    lines: List[str] = [plan.title.upper(), plan.reference_line, plan.date_line, ""]
    lines += [plan.pain_heading.upper(), *plan.pain_lines, ""]
    lines += [f"{plan.risk_heading.upper()}: {plan.risk_name}", *plan.risk_lines, ""]
    lines += [plan.red_flags_heading.upper(), plan.red_flags_intro, *(f"{BULLET} {f}" for f in plan.red_flags), ""]
    lines += [plan.options_heading.upper(), *(f"{BULLET} {o.title}: {o.text}" for o in plan.options), ""]
    lines += [plan.resources_heading.upper(), *([plan.guide_intro] if plan.guide_links else []),
              *(f"{BULLET} {g.title}: {g.url}" for g in plan.guide_links), *([plan.resources_more] if plan.guide_links else []),
              *([plan.resources_note] if plan.resources_note else []),
              *(f"{BULLET} {r.title} — {r.text}: {r.url}" for r in plan.resources), ""]
    if plan.outlook is not None:
        lines += [plan.outlook_heading.upper(), *outlook_text_lines(plan.outlook), ""]
    lines += [plan.clinician_heading.upper(), plan.clinician_score, plan.clinician_answers_heading,
              *(f"{BULLET} {a.title} — {a.text}" for a in plan.clinician_answers)]
    if plan.clinician_options:
        lines += [plan.clinician_options_heading, *(f"{BULLET} {o.title}: {o.text}" for o in plan.clinician_options)]
    lines += ["", plan.footer]
    return "\n".join(lines)


def outlook_text_lines(outlook: Outlook) -> List[str]:
    """The outlook in chat lines: intro (or the reason there is none), each table, the notes."""
    lines = list(outlook.lines)
    for table in outlook.tables:
        lines += table.lines()
    return lines + list(outlook.notes)


def section_headings(plan: CarePlan) -> List[str]:
    """The headings every rendering shows, in order (tests compare the PDF and the HTML with it)."""
    headings = [plan.title, plan.pain_heading, f"{plan.risk_heading}: {plan.risk_name}", plan.red_flags_heading,
                plan.options_heading, plan.resources_heading]
    if plan.outlook is not None:
        headings.append(plan.outlook_heading)
    return headings + [plan.clinician_heading]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def to_html(plan: CarePlan) -> str:
    """A self-contained web page (styles inline, the graph as a data: URI, no script), so it can be
    stored with the triage and served under a strict Content-Security-Policy."""
    image = None
    if plan.outlook is not None and plan.outlook.png:
        image = "data:image/png;base64," + base64.b64encode(plan.outlook.png).decode("ascii")
    return _environment().get_template("careplan.html").render(plan=plan, outlook_image=image)


class _CarePlanPDF(FPDF):
    def __init__(self, plan: CarePlan, fonts_of: Optional["_CarePlanPDF"] = None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.plan = plan
        self._scratch: Optional[_CarePlanPDF] = None
        self._is_scratch = fonts_of is not None
        if fonts_of is not None:
            # A scratch document only measures and is never written out: it borrows the fonts
            # already parsed for the real one (parsing a font is half the cost of a care plan;
            # the glyphs it marks as used are drawn in the real document anyway).
            self.fonts.update(fonts_of.fonts)
        else:
            self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
            self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
            self.add_font(FONT, "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
            self.add_font(FONT, "BI", str(FONT_DIR / "DejaVuSans-BoldOblique.ttf"))
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.set_title(f"{plan.title} {plan.reference_code}")
        self.set_lang(plan.language)
        self.set_creator("BackTalk")
        self.viewer_preferences = ViewerPreferences(display_doc_title=True)  # the title, not the file name
        self.page_mode = PageMode.USE_OUTLINES  # open with the headings in the side bar
        self.alias_nb_pages()

    def footer(self) -> None:  # fpdf2 hook: reference code and page number on every page
        if self._is_scratch:
            return
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.cell(0, 5, f"{self.plan.reference_code} · {self.page_no()}/{{nb}}", align="C")

    # --- measuring -------------------------------------------------------------------------------
    def _height(self, text: str, size: float, style: str = "", width: Optional[float] = None,
                line: float = LINE) -> float:
        self.set_font(FONT, style, size)
        lines = self.multi_cell(width or self.epw, line, text, dry_run=True, output="LINES")
        self.set_font(FONT, "", BODY_PT)
        return len(lines) * line

    def _room(self) -> float:
        return self.page_break_trigger - self.y

    def _keep(self, height: float) -> None:
        """A page break now unless ``height`` fits on this page."""
        if height > self._room() and self.y > self.t_margin + 1:
            self.add_page()

    # --- blocks ----------------------------------------------------------------------------------
    def heading(self, text: str, level: int, follow: float) -> None:
        """A heading that never ends a page: it moves to the next page unless it fits together with
        ``follow`` millimetres of what comes after it."""
        size = {0: TITLE_PT, 1: HEADING_PT, 2: SUBHEADING_PT}[level]
        space = HEADING_SPACE_BEFORE if level == 1 else (2.0 if level == 2 else 0.0)
        line = size * 0.45
        height = self._height(text, size, "B", line=line)
        self._keep(space + height + follow)
        if self.y > self.t_margin + 1:
            self.ln(space)
        if level < 2 and not self._is_scratch:
            self.start_section(text, level=level)  # an outline entry (bookmark) per heading
        self.set_font(FONT, "B", size)
        self.multi_cell(0, line, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5 if level < 2 else 0.8)
        self.set_font(FONT, "", BODY_PT)

    def paragraph(self, text: str, style: str = "") -> None:
        self.set_font(FONT, style, BODY_PT)
        self.multi_cell(0, LINE, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(PARAGRAPH_SPACE)
        self.set_font(FONT, "", BODY_PT)

    def paragraph_height(self, text: str, style: str = "") -> float:
        return self._height(text, BODY_PT, style) + PARAGRAPH_SPACE

    def bullet(self, title: str = "", text: str = "", separator: str = ": ", url: Optional[str] = None) -> None:
        """A list item with a hanging indent: bold title, text, an underlined link."""
        self._keep(2 * LINE)
        left = self.l_margin
        self.set_font(FONT, "", BODY_PT)
        self.set_x(left)
        self.cell(BULLET_INDENT, LINE, BULLET)
        self.set_left_margin(left + BULLET_INDENT)
        try:
            if title:
                self.set_font(FONT, "B", BODY_PT)
                self.write(LINE, title)
                self.set_font(FONT, "", BODY_PT)
            if text:
                self.write(LINE, (separator if title else "") + text)
            if url:
                self.write(LINE, ": ")
                self.set_font(FONT, "U", BODY_PT)
                self.write(LINE, url, link=url)
                self.set_font(FONT, "", BODY_PT)
            self.ln(LINE)
        finally:
            self.set_left_margin(left)
        self.ln(PARAGRAPH_SPACE / 2)

    def bullet_height(self, title: str = "", text: str = "", separator: str = ": ", url: Optional[str] = None) -> float:
        whole = title + (separator if title and text else "") + text + (f": {url}" if url else "")
        return self._height(whole, BODY_PT, "B", width=self.epw - BULLET_INDENT) + PARAGRAPH_SPACE / 2

    def first(self, heights: Iterable[float]) -> float:
        """What a heading keeps with it: its section's first block, or at least KEEP_LINES lines."""
        for height in heights:
            return min(height, KEEP_LINES * LINE)
        return 0.0

    def graph(self, png: bytes, alt: str, heading: str) -> None:
        """The graph with its heading: both on this page (the graph shrunk to no less than
        SHRINK_LIMIT of its width if that is what it takes), else both on the next page."""
        with Image.open(io.BytesIO(png)) as image:
            ratio = image.height / image.width
        full = self.epw * ratio
        heading_height = HEADING_SPACE_BEFORE + self._height(heading, HEADING_PT, "B", line=HEADING_PT * 0.45) + 2
        room = self._room() - heading_height - 1
        if room < full * SHRINK_LIMIT:
            self.add_page()
        self.heading(heading, 1, follow=0)
        height = min(full, self._room() - 1)
        width = height / ratio
        self.image(io.BytesIO(png), x=self.l_margin + (self.epw - width) / 2, y=self.y, w=width, h=height,
                   alt_text=alt)
        self.set_y(self.y + height + 2)

    def measured(self, draw: Callable[["_CarePlanPDF"], None]) -> float:
        """The height ``draw`` takes, drawn on a scratch page of a scratch document."""
        if self._scratch is None:
            self._scratch = _CarePlanPDF(self.plan, fonts_of=self)
        scratch = self._scratch
        scratch.add_page()
        scratch.set_font(FONT, "", BODY_PT)
        top = scratch.y
        draw(scratch)
        return scratch.y - top

    def outlook_table(self, table: OutlookTable) -> None:
        """A small table that is never split: it moves to the next page with its title."""
        self._keep(self.measured(lambda pdf: pdf._outlook_table(table)))
        self._outlook_table(table)

    def _outlook_table(self, table: OutlookTable) -> None:
        self.heading(table.title, 2, follow=0)
        self.set_font(FONT, "", TABLE_PT)
        widths = (40, 40, 50, 40) if len(table.columns) == 4 else (40, 65, 65)
        with self.table(width=self.epw, col_widths=widths, align=Align.L, text_align=Align.L,
                        v_align=VAlign.T, line_height=TABLE_LINE, padding=TABLE_PADDING,
                        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                        headings_style=FontFace(emphasis="BOLD")) as pdf_table:
            pdf_table.row(table.columns)
            for row in table.rows:
                pdf_table.row(row)
        self.ln(2)
        self.set_font(FONT, "", BODY_PT)

    def answers_table(self, answers: Sequence[Entry]) -> None:
        """The clinician's answers: question and answer in two aligned, left-aligned columns."""
        self.set_font(FONT, "", TABLE_PT)
        with self.table(width=self.epw, col_widths=(125, 45), align=Align.L, text_align=Align.L,
                        v_align=VAlign.T, line_height=TABLE_LINE, padding=TABLE_PADDING,
                        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                        first_row_as_headings=False) as pdf_table:
            for answer in answers:
                pdf_table.row((answer.title, answer.text))
        self.ln(2)
        self.set_font(FONT, "", BODY_PT)


def _draw(pdf: _CarePlanPDF, plan: CarePlan) -> None:
    b = pdf.bullet_height
    pdf.heading(plan.title, 0, follow=2 * LINE)
    pdf.paragraph(plan.reference_line, "B")
    pdf.paragraph(plan.date_line)

    pdf.heading(plan.pain_heading, 1, follow=pdf.first(pdf.paragraph_height(line) for line in plan.pain_lines))
    for line in plan.pain_lines:
        pdf.paragraph(line)

    risk_heading = f"{plan.risk_heading}: {plan.risk_name}"
    pdf.heading(risk_heading, 1, follow=pdf.first(pdf.paragraph_height(line) for line in plan.risk_lines))
    for line in plan.risk_lines:
        pdf.paragraph(line)

    pdf.heading(plan.red_flags_heading, 1, follow=pdf.first([pdf.paragraph_height(plan.red_flags_intro)]))
    pdf.paragraph(plan.red_flags_intro)
    for flag in plan.red_flags:
        pdf.bullet(text=flag)

    pdf.heading(plan.options_heading, 1, follow=pdf.first(b(o.title, o.text) for o in plan.options))
    for option in plan.options:
        pdf.bullet(option.title, option.text)

    # BackTalk's own guide first (the pages matched to this patient), then the outside resources.
    guide = [pdf.paragraph_height(plan.guide_intro)] if plan.guide_links else []
    first_resource = guide + ([pdf.paragraph_height(plan.resources_note, "I")] if plan.resources_note else []) + [
        b(r.title, r.text, " — ", r.url) for r in plan.resources]
    pdf.heading(plan.resources_heading, 1, follow=pdf.first(first_resource))
    if plan.guide_links:
        pdf.paragraph(plan.guide_intro)
        for link in plan.guide_links:
            pdf.bullet(link.title, url=link.url)
        pdf.paragraph(plan.resources_more)
    if plan.resources_note:
        pdf.paragraph(plan.resources_note, "I")
    for resource in plan.resources:
        pdf.bullet(resource.title, resource.text, " — ", resource.url)

    outlook = plan.outlook
    if outlook is not None:
        if outlook.png:
            pdf.graph(outlook.png, outlook.image_alt, plan.outlook_heading)
        else:
            pdf.heading(plan.outlook_heading, 1, follow=pdf.first(pdf.paragraph_height(x) for x in outlook.lines))
        for line in outlook.lines:
            pdf.paragraph(line)
        for table in outlook.tables:
            pdf.outlook_table(table)
        for note in outlook.notes:
            pdf.paragraph(note, "I")

    first_rows = pdf.measured(lambda scratch: scratch.answers_table(plan.clinician_answers[:2]))
    pdf.heading(plan.clinician_heading, 1, follow=pdf.paragraph_height(plan.clinician_score, "B")
                + pdf._height(plan.clinician_answers_heading, SUBHEADING_PT, "B", line=SUBHEADING_PT * 0.45)
                + first_rows)
    pdf.paragraph(plan.clinician_score, "B")
    pdf.heading(plan.clinician_answers_heading, 2, follow=first_rows)
    pdf.answers_table(plan.clinician_answers)
    if plan.clinician_options:
        pdf.heading(plan.clinician_options_heading, 2,
                    follow=pdf.first(b(o.title, o.text) for o in plan.clinician_options))
        for option in plan.clinician_options:
            pdf.bullet(option.title, option.text)
    pdf.ln(2)
    pdf._keep(pdf.paragraph_height(plan.footer, "I"))
    pdf.paragraph(plan.footer, "I")


def to_pdf(plan: CarePlan) -> bytes:
    pdf = _CarePlanPDF(plan)
    pdf.add_page()
    pdf.set_font(FONT, "", BODY_PT)
    _draw(pdf, plan)
    return bytes(pdf.output())


def pdf_heading_texts(plan: CarePlan) -> Tuple[str, ...]:
    """Every text the PDF draws as a heading (sections, sub-headings, outlook table titles)."""
    extra = [plan.clinician_answers_heading] + ([plan.clinician_options_heading] if plan.clinician_options else [])
    tables = [t.title for t in plan.outlook.tables] if plan.outlook is not None else []
    return tuple(section_headings(plan) + extra + tables)
