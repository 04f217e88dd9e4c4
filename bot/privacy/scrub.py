"""De-identification of free text before it leaves the database for research.

A spaCy pipeline per language: the blank tokeniser of that language (no statistical model, nothing
downloaded) and one component, ``backtalk_pii``, that marks identifiers in ``doc.spans["pii"]``:

- character patterns over the text: e-mails (also split by spaces or written "(at)"), URLs, dates
  (numeric, and with the language's month names from CLDR via Babel), times, postcodes with their town,
  street addresses, ID and insurance numbers;
- phone numbers found by the ``phonenumbers`` library (the language's region, and international ones);
- a spaCy ``Matcher`` for ages over 89 ("92 years", "93 Jahre");
- person names: tokens of the name gazetteers (data/privacy/names) written with a capital, unless the
  word is a common word of any of our languages and no other name or form of address stands next to
  it ("Will it hurt?" keeps "Will", "Will Smith" does not), and any word after a name cue ("my name
  is …") even when no gazetteer knows it.

Overlapping findings merge into the widest one, and each becomes a typed placeholder (``[NAME]``,
``[PHONE]``…). The patterns per language live in data/privacy/deid.yml; measured by
``python -m benchmarks.deid``.
"""


import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import phonenumbers
import spacy
import yaml
from babel.dates import get_month_names
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span, Token

from bot.i18n.catalog import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, supported_language
from bot.paths import DATA_DIR
from bot.privacy.gazetteer import all_names

PATTERNS_FILE = DATA_DIR / "privacy" / "deid.yml"

# Placeholder per identifier type; also the order in which a tie between equally wide findings is won.
PLACEHOLDERS: Dict[str, str] = {
    "EMAIL": "[EMAIL]",
    "URL": "[URL]",
    "REFERENCE": "[REFERENCE]",
    "DATE": "[DATE]",
    "TIME": "[TIME]",
    "PHONE": "[PHONE]",
    "ID": "[ID]",
    "ADDRESS": "[ADDRESS]",
    "AGE": "[AGE]",
    "NAME": "[NAME]",
}
PRIORITY = {label: rank for rank, label in enumerate(PLACEHOLDERS)}

UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĪĮİŁĹĽŃŇŌŐŒŔŘŚŞŠŢŤŪŮŰŲŹŻŽ"
CAPITALISED = rf"(?:'s-)?[{UPPER}][\w'’]*(?:-[\w'’]+)*"
WORD_CHARS = r"[^\W_]"

EMAIL = re.compile(
    r"[\w.+-]*\w\s?(?:@|\(at\)|\[at\]|\s(?:at|AT)\s(?=\S+\s(?:dot|DOT)\s))\s?[\w-]+"
    r"(?:\s?(?:\.|\(dot\)|\[dot\]|\s(?:dot|DOT)\s)\s?[\w-]+)*\s?(?:\.|\(dot\)|\[dot\]|\s(?:dot|DOT)\s)\s?[A-Za-z]{2,10}\b"
)
URL = re.compile(
    r"(?:https?://|www\.)\S+[^\s.,;:!?)\]]"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|info|biz|eu|uk|de|es|fr|it|dk|se|nl|pl|pt|hr|no|at|ch|be|io|co|me|app|fi|ie|edu|gov)(?:/\S*[^\s.,;:!?)\]])?\b"
)
REFERENCE = re.compile(r"\bBT-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
NUMERIC_DATE = re.compile(
    r"\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\s?[./-]\s?\d{1,2}\s?[./-]\s?(?:\d{4}|\d{2})(?:\.(?!\w))?"
    r"|\d{1,2}\.\d{1,2}\.(?!\d))"
)
TIME = re.compile(
    r"\b(?:[01]?\d|2[0-3])(?::|h|\.)[0-5]\d(?:\s?(?:am|pm|a\.m\.|p\.m\.|uhr|h|timer))?\b"
    r"|\b(?:1[0-2]|0?[1-9])\s?(?:am|pm|a\.m\.|p\.m\.)(?!\w)",
    re.IGNORECASE,
)
# Numbers with at least six digits in one run of digits, letters and separators: ID, insurance,
# passport, tax numbers (phones are told apart by phonenumbers first).
ID_VALUE = r"(?:[A-Z]{1,3}[\s-]?)?\d[\dA-Za-z]*(?:[\s./-]\d[\dA-Za-z]*)*(?:\s?[A-Z](?!\w))?"
LONG_NUMBER = re.compile(rf"(?<!\w)(?=(?:[A-Z]{{1,3}}[\s-]?)?(?:\d[\s./-]?){{6,}}){ID_VALUE}")
# Letters and digits mixed in one word of 8+ characters: Italian codice fiscale, passport numbers.
MIXED_CODE = re.compile(r"\b(?=[A-Za-z0-9]*\d[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,}\b")
UK_NI_NUMBER = re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")
PHONE_MIN_DIGITS = 6  # "5000 steps", "7/10" are possible numbers to phonenumbers, not phones


@dataclass(frozen=True)
class Finding:
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Scrubbed:
    text: str
    findings: Tuple[Finding, ...]


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of phrases, longest first, whitespace-tolerant."""
    ordered = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    return "|".join(r"\s+".join(re.escape(part) for part in w.split()) for w in ordered)


@lru_cache(maxsize=1)
def _config() -> Dict[str, Dict[str, Any]]:
    return yaml.safe_load(PATTERNS_FILE.read_text(encoding="utf-8"))["languages"]


@lru_cache(maxsize=None)
def _months(language: str) -> List[str]:
    names: set = set()
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            names.update(m.lower().rstrip(".") for m in get_month_names(width, context, locale=language).values())
    return sorted(names)


@lru_cache(maxsize=None)
def _common_words(language: str) -> frozenset:
    """Stop words of the language and of English: a gazetteer name that is also one ("Will", "Per",
    "Den") is a name only with another name or a form of address next to it."""
    return frozenset(spacy.blank(language).Defaults.stop_words) | frozenset(spacy.blank("en").Defaults.stop_words)


PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "do", "dos", "das", "du", "des",
                       "la", "le", "ten", "ter", "zu", "af"})


class LanguagePatterns:
    """The compiled patterns of one language (plus the language-neutral ones)."""

    def __init__(self, language: str) -> None:
        config = _config()[language]
        self.region: str = config["region"]
        months = _alternatives(_months(language))
        self.month_date = re.compile(
            rf"\b(?:\d{{1,2}}(?:st|nd|rd|th|\.|º|°)?\s*(?:de\s+|of\s+)?(?:{months})\.?(?:,?\s*(?:de\s+)?\d{{4}})?"
            rf"|(?:{months})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s*\d{{4}})?"
            rf"|(?:{months})\.?\s+(?:de\s+)?\d{{4}})\b(?:\.(?!\w))?",
            re.IGNORECASE,
        )
        postcode = config["postcode"]
        town_word = rf"(?:{CAPITALISED}|(?:d[aeio]|dos|das|del|la|le|sur|am|an|im|upon|on)(?=\s+[{UPPER}]))"
        self.postcode_town = re.compile(rf"\b{postcode}\b,?\s+{CAPITALISED}(?:\s+{town_word}){{0,4}}")
        self.postcode_cued = re.compile(rf"(?i:{_alternatives(config['postcode_cues'])})\W{{0,3}}({postcode})\b")
        # A shape no ordinary number has (letters in it, "NE3 4RT", "1234 AB"): scrubbed wherever it stands.
        self.postcode_alone = re.compile(rf"\b{postcode}\b") if config.get("postcode_alone") else None
        street = rf"(?i:{_alternatives(config['street_words'] + config.get('street_words_more', []))})"
        units = _alternatives(config["unit_words"])
        number = (r"(?:[Ss]/[Nn]\b|\d{1,4}(?:\s?[a-zA-Z](?!\w))?(?:\s?[-/,]\s?\d{1,4})?)"
                  rf"(?:,?\s+(?i:{units})\.?\s*\d{{1,4}}[a-zA-Z]?(?!\w))?")
        particle = r"(?:de|del|de la|da|do|dos|das|di|della|du|des|van|von|der|den)"
        # "Hauptstraße 12", "Skolvägen 76", "Jones Light 17": words ending in a street word, then a number.
        self.street_suffixed = re.compile(rf"(?:{CAPITALISED}\s+){{0,3}}[\w'’-]*{street}\.?,?\s+{number}\b")
        # "rue Clémence Samson", "Calle Mayor 5", "via Roma, 12", "17 Jones Light".
        self.street_prefixed = re.compile(
            rf"(?:\b{number},?\s+)?\b{street}\.?\s+(?:{particle}\s+)?{CAPITALISED}"
            rf"(?:\s+(?:{CAPITALISED}|{particle}))*(?:,?\s+{number}\b)?")
        self.street_before = re.compile(rf"\b{number},?\s+(?:{CAPITALISED}\s+){{1,3}}{street}\b")
        self.address_cued = re.compile(
            rf"(?i:{_alternatives(config['address_cues'])})\s+((?:[\w.'’-]+,?\s+){{0,4}}?{number}"
            rf"|{number},?\s+(?:[\w'’-]+\s+){{0,2}}{CAPITALISED}(?:\s+{CAPITALISED})*)\b")
        self.id_cued = re.compile(
            rf"(?i:{_alternatives(config['id_cues'])})\W{{0,4}}(?:(?:is|ist|es|est|è|er|är|to|é|je)\s+)?({ID_VALUE})")
        self.name_cued = re.compile(
            rf"(?<!\w)(?i:{_alternatives(config['name_cues'])})\s*[,:]?\s+((?:[{UPPER}]|[a-zà-ž])[\w'’-]+(?:\s+[{UPPER}][\w'’-]+)?)")
        self.titles = frozenset(t.lower().rstrip(".") for t in config["titles"])
        self.year_words = [w.lower() for w in config["year_words"]]


@lru_cache(maxsize=None)
def patterns(language: str) -> LanguagePatterns:
    return LanguagePatterns(language)


def _regex_findings(text: str, lp: LanguagePatterns) -> List[Finding]:
    found: List[Finding] = []

    def add(label: str, pattern: "re.Pattern[str]", group: int = 0) -> None:
        for match in pattern.finditer(text):
            if match.group(group):
                found.append(Finding(label, match.start(group), match.end(group)))

    add("EMAIL", EMAIL)
    add("URL", URL)
    add("REFERENCE", REFERENCE)
    add("DATE", NUMERIC_DATE)
    add("DATE", lp.month_date)
    add("TIME", TIME)
    add("ADDRESS", lp.postcode_town)
    add("ADDRESS", lp.postcode_cued, 1)
    if lp.postcode_alone is not None:
        add("ADDRESS", lp.postcode_alone)
    add("ADDRESS", lp.street_suffixed)
    add("ADDRESS", lp.street_prefixed)
    add("ADDRESS", lp.street_before)
    add("ADDRESS", lp.address_cued, 1)
    add("ID", lp.id_cued, 1)
    add("ID", UK_NI_NUMBER)
    add("ID", MIXED_CODE)
    for match in phonenumbers.PhoneNumberMatcher(text, lp.region, leniency=phonenumbers.Leniency.POSSIBLE):
        if sum(ch.isdigit() for ch in match.raw_string) >= PHONE_MIN_DIGITS:
            found.append(Finding("PHONE", match.start, match.end))
    for match in LONG_NUMBER.finditer(text):
        found.append(Finding("ID", match.start(), match.end()))
    return found


@Language.factory("backtalk_pii", default_config={"language": DEFAULT_LANGUAGE})
def make_pii_component(nlp: Language, name: str, language: str) -> "PiiComponent":
    return PiiComponent(nlp, language)


class PiiComponent:
    """Marks identifiers in ``doc.spans["pii"]`` (see the module docstring)."""

    def __init__(self, nlp: Language, language: str) -> None:
        self.patterns = patterns(language)
        self.matcher = Matcher(nlp.vocab)
        over_89 = [str(n) for n in range(90, 130)]
        for words in self.patterns.year_words:
            tokens = [{"LOWER": part.lower_} for part in nlp.make_doc(words)]
            self.matcher.add("AGE", [[{"TEXT": {"IN": over_89}}, *tokens]])
        self.matcher.add("AGE", [[{"LOWER": {"IN": ["aged", "age", "alter", "edad", "âge", "età", "alder", "ålder",
                                                     "leeftijd", "wiek", "idade", "dob"]}},
                                  {"IS_PUNCT": True, "OP": "?"}, {"TEXT": {"IN": over_89}}]])
        self.names = all_names()
        self.common = _common_words(language)

    def __call__(self, doc: Doc) -> Doc:
        spans: List[Span] = []

        def add(label: str, start: int, end: int) -> None:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            if span is not None and len(span):
                spans.append(span)

        for finding in _regex_findings(doc.text, self.patterns):
            add(finding.label, finding.start, finding.end)
        for _, start, end in self.matcher(doc):
            spans.append(Span(doc, start, end, label="AGE"))
        cued = set()
        for match in self.patterns.name_cued.finditer(doc.text):
            span = doc.char_span(match.start(1), match.end(1), alignment_mode="expand")
            if span is not None:
                words = [t for t in span if t.lower_.rstrip(".") not in self.patterns.titles]
                if words and words[0].lower_ not in self.common:
                    cued.update(t.i for t in words)
        spans.extend(self._names(doc, cued))
        doc.spans["pii"] = spans
        return doc

    def _is_name(self, token: Token) -> bool:
        return token.text[:1].isupper() and (
            token.lower_ in self.names or "-" in token.text and all(p in self.names for p in token.lower_.split("-")))

    def _names(self, doc: Doc, cued: Set[int]) -> List[Span]:
        """Gazetteer names (common words only next to another name or after a form of address), words
        after a name cue or a form of address, and what continues a name: particles followed by a
        capitalised word ("van der Berg"), or a capitalised surname the gazetteer lacks."""
        titled = {t.i + 1 for t in doc[:-1] if t.lower_.rstrip(".") in self.patterns.titles
                  and (t.text.endswith(".") or doc[t.i + 1].text != ".")}
        titled |= {i + 1 for i in titled if i < len(doc) - 1 and doc[i].text == "."}
        hits = {t.i for t in doc if self._is_name(t)}
        chosen = set(cued)
        for i in sorted(hits | titled):
            token = doc[i]
            if token.lower_.rstrip(".") in self.patterns.titles:
                continue
            if i in titled and (token.text[:1].isupper() or token.lower_ in PARTICLES):
                chosen.add(i)
            elif i in hits and (token.lower_ not in self.common or {i - 1, i + 1} & (hits - {i}) - set()
                                and any(doc[n].lower_ not in self.common for n in {i - 1, i + 1} & hits)):
                chosen.add(i)
        # Continue a name to the right over particles and capitalised words.
        for i in sorted(chosen):
            j = i + 1
            while j < len(doc):
                k = j
                while k < len(doc) and doc[k].lower_ in PARTICLES:
                    k += 1
                if k < len(doc) and doc[k].text[:1].isupper() and doc[k].is_alpha and doc[k].lower_ not in self.common:
                    chosen.update(range(j, k + 1))
                    j = k + 1
                else:
                    break
        return [Span(doc, i, i + 1, label="NAME") for i in sorted(chosen)]


@lru_cache(maxsize=None)
def pipeline(language: str) -> Language:
    """The de-identification pipeline of one language: blank tokeniser + ``backtalk_pii``."""
    nlp = spacy.blank(language)
    nlp.add_pipe("backtalk_pii", config={"language": language})
    return nlp


def _merge(findings: Sequence[Finding]) -> List[Finding]:
    """Overlapping findings become one, labelled by the widest (ties by PLACEHOLDERS order)."""
    merged: List[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, -(f.end - f.start), PRIORITY[f.label])):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            if finding.end > last.end:
                widest = last if last.end - last.start >= finding.end - finding.start else finding
                merged[-1] = Finding(widest.label, last.start, finding.end)
            continue
        merged.append(finding)
    return merged


class Scrubber:
    """Replaces identifiers by typed placeholders, per language (an unknown language uses English
    patterns; names and international numbers are caught in every language)."""

    def findings(self, text: str, language: Optional[str]) -> List[Finding]:
        nlp = pipeline(supported_language(language) or DEFAULT_LANGUAGE)
        doc = nlp(text)
        spans = [Finding(s.label_, s.start_char, s.end_char) for s in doc.spans["pii"]]
        return _merge(spans)

    def scrub(self, text: str, language: Optional[str]) -> Scrubbed:
        findings = self.findings(text, language)
        parts: List[str] = []
        position = 0
        for finding in findings:
            parts.append(text[position:finding.start])
            parts.append(PLACEHOLDERS[finding.label])
            position = finding.end
        parts.append(text[position:])
        return Scrubbed("".join(parts), tuple(findings))
