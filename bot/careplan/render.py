"""A CarePlan as chat text, as HTML (one Jinja template for every language) and as an A4 PDF.

The PDF is drawn by fpdf2 from the same HTML, with DejaVu Sans embedded: matplotlib ships the font
(so nothing is downloaded) and it covers every letter of the twelve languages (ą ę ł ś ž đ č ø å æ
ã õ ç ...). Only the characters used are embedded, which keeps a plan well under 500 kB.
"""
from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import List

import matplotlib
from fpdf import FPDF, FontFace, TextStyle
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.careplan.compose import CarePlan

TEMPLATES = Path(__file__).parent / "templates"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
BULLET = "•"
PDF_IMAGE_WIDTH = 480  # fpdf2 HTML units: about 170 mm, the A4 text width at 20 mm margins
BLACK = (0, 0, 0)
# Black headings set apart by size and weight, links underlined: nothing depends on colour, so a
# black-and-white print keeps everything (fpdf2's defaults are dark red headings and bullets).
PDF_TAG_STYLES = {
    "h1": TextStyle(font_size_pt=19, color=BLACK, font_style="B", t_margin=0, b_margin=2),
    "h2": TextStyle(font_size_pt=13.5, color=BLACK, font_style="B", t_margin=5, b_margin=1.5),
    "a": FontFace(color=BLACK, emphasis="UNDERLINE"),
}


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
        lines += [plan.outlook_heading.upper(), *plan.outlook.lines, ""]
    lines += [plan.clinician_heading.upper(), plan.clinician_score, plan.clinician_answers_heading,
              *(f"{BULLET} {a.title} — {a.text}" for a in plan.clinician_answers)]
    if plan.clinician_options:
        lines += [plan.clinician_options_heading, *(f"{BULLET} {o.title}: {o.text}" for o in plan.clinician_options)]
    lines += ["", plan.footer]
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def to_html(plan: CarePlan, *, image_width: int = 600) -> str:
    image = None
    if plan.outlook is not None and plan.outlook.png:
        image = "data:image/png;base64," + base64.b64encode(plan.outlook.png).decode("ascii")
    return _environment().get_template("careplan.html").render(plan=plan, outlook_image=image,
                                                                image_width=image_width)


class _CarePlanPDF(FPDF):
    def __init__(self, plan: CarePlan) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.plan = plan
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font(FONT, "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.add_font(FONT, "BI", str(FONT_DIR / "DejaVuSans-BoldOblique.ttf"))
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)
        self.set_title(plan.title)
        self.set_lang(plan.language)
        self.set_creator("BackTalk")

    def footer(self) -> None:  # fpdf2 hook: reference code and page number on every page
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.cell(0, 5, f"{self.plan.reference_code} · {self.page_no()}/{{nb}}", align="C")


def to_pdf(plan: CarePlan) -> bytes:
    pdf = _CarePlanPDF(plan)
    pdf.add_page()
    pdf.set_font(FONT, "", 10.5)
    pdf.write_html(to_html(plan, image_width=PDF_IMAGE_WIDTH), font_family=FONT, tag_styles=PDF_TAG_STYLES,
                   li_prefix_color=BLACK)
    return bytes(pdf.output())
