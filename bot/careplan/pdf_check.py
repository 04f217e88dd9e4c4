"""An offline accessibility check of a care-plan PDF (pypdf only, no network, no Java):

    python -m bot.careplan.pdf_check FILE.pdf [...]

Checks what fpdf2 can produce and a reader or screen reader relies on: the document language
(/Lang), a title in the metadata that the viewer shows instead of the file name
(/DisplayDocTitle), an outline (bookmarks) naming the sections, alt text (/Alt) on every figure of
the structure tree when there is one (with /MarkInfo), every font embedded, and text that can be
extracted. It is not a PDF/UA validator: fpdf2 tags only images and links, so headings, paragraphs,
lists and tables carry no tags (docs/clinical-content.md, "What the PDF does not do").
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Sequence

from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject


@dataclass
class Report:
    problems: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _struct_elements(node: Any) -> Iterator[DictionaryObject]:
    node = _resolve(node)
    if isinstance(node, list):
        for child in node:
            yield from _struct_elements(child)
    elif isinstance(node, DictionaryObject):
        if node.get("/Type") == "/StructElem" or "/S" in node:
            yield node
        if "/K" in node:
            yield from _struct_elements(node["/K"])


def _fonts(reader: PdfReader) -> Iterator[DictionaryObject]:
    seen = set()
    for page in reader.pages:
        resources = _resolve(page.get("/Resources")) or {}
        for font in (_resolve(resources.get("/Font")) or {}).values():
            font = _resolve(font)
            if id(font) in seen:
                continue
            seen.add(id(font))
            yield font


def _embedded(font: DictionaryObject) -> bool:
    for descendant in _resolve(font.get("/DescendantFonts")) or [font]:
        descriptor = _resolve(_resolve(descendant).get("/FontDescriptor"))
        if descriptor is None or not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            return False
    return True


def check(path: str, *, expect_language: str | None = None) -> Report:
    report = Report()
    reader = PdfReader(path)
    root = reader.trailer["/Root"]
    language = root.get("/Lang")
    if not language:
        report.problems.append("no document language (/Lang in the catalog)")
    elif expect_language and str(language).split("-")[0] != expect_language:
        report.problems.append(f"document language is {language}, expected {expect_language}")
    title = (reader.metadata or {}).get("/Title")
    if not title or not str(title).strip():
        report.problems.append("no title in the document information (/Title)")
    preferences = _resolve(root.get("/ViewerPreferences")) or {}
    if not preferences.get("/DisplayDocTitle"):
        report.problems.append("the viewer shows the file name, not the title (/DisplayDocTitle)")
    if not reader.outline:
        report.problems.append("no outline (bookmarks) for the sections")
    tree = _resolve(root.get("/StructTreeRoot"))
    if tree is not None:
        mark_info = _resolve(root.get("/MarkInfo")) or {}
        if not mark_info.get("/Marked"):
            report.problems.append("a structure tree without /MarkInfo /Marked true")
        elements = list(_struct_elements(tree.get("/K")))
        kinds = sorted({str(e.get("/S")) for e in elements})
        report.notes.append(f"structure tree: {len(elements)} element(s) of type {', '.join(kinds) or 'none'}")
        for element in elements:
            if element.get("/S") == "/Figure" and not str(element.get("/Alt") or "").strip():
                report.problems.append("a figure without alt text (/Alt)")
    else:
        report.notes.append("no structure tree (untagged PDF)")
    images = 0
    for page in reader.pages:
        resources = _resolve(page.get("/Resources")) or {}
        images += sum(1 for x in (_resolve(resources.get("/XObject")) or {}).values()
                      if _resolve(x).get("/Subtype") == "/Image")
    if images and tree is None:
        report.problems.append(f"{images} image(s) but no structure tree to give them alt text")
    report.notes.append(f"{len(reader.pages)} page(s), {images} image(s)")
    for font in _fonts(reader):
        if not _embedded(font):
            report.problems.append(f"font {font.get('/BaseFont')} is not embedded")
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    if len(text.strip()) < 20:
        report.problems.append("no extractable text")
    if "\ufffd" in text:
        report.problems.append("text extraction gives replacement characters (a font without a /ToUnicode map?)")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        report = check(path)
        print(f"{path}: {'ok' if report.ok else 'FAILED'}")
        for problem in report.problems:
            print(f"  problem: {problem}")
        for note in report.notes:
            print(f"  note: {note}")
        failed += not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
