"""What the answer parsers share: text prepared the same way, spaCy's blank tokeniser per language,
phrase lists turned into labelled symbols, the quantity and unit words that durations and
frequencies both read, intervals and the answer bands an interval may mean.

The parsers (durations, ages, frequencies, degrees, stances, pain sites) each read one kind of
answer. They tokenise with ``spacy.blank(<lang>)`` (rules only: no trained model, nothing
downloaded) and find their words, listed per language in bot/i18n/words/<lang>.yml, with a
PhraseMatcher; the longest phrase wins where phrases overlap ("not at all" over "not"). spaCy's
lemma tables (spacy-lookups-data) are not installed and are not downloaded, so the word lists carry
the inflected forms a patient types ("Jahre", "Jahren"), matched on lower-cased, accent-free text.

Every parser answers in the same shape, a :data:`Reading`: None when the text says nothing of its
kind (another reading may still apply), else the option codes the text may mean, in option order:
one code answers the question, two or three are offered as a short clarifying question with just
those buttons, and none means something was said that cannot be read safely, so the question is
asked again and no other reading may guess.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import spacy
import yaml
from spacy.matcher import PhraseMatcher
from spacy.util import filter_spans

from bot.i18n.answers import WORDS_DIR
from bot.i18n.catalog import normalise_language

Reading = Optional[List[str]]
Symbol = Tuple[str, str]  # (label, the words it stands for)
INFINITY = float("inf")
# At most this many buttons in a clarifying question; a reading spread wider is asked again.
MAX_CHOICES = 3
_TRANSLITERATE = str.maketrans({"æ": "ae", "ø": "o", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "å": "a"})


def prepare(text: str) -> str:
    """Lower-case without accents, apostrophes as spaces ("plus d'un" -> "plus d un"), decimal commas
    as points, digits apart from letters ("3months", "40s") and ranges spelled out ("2-3" -> "2 - 3")."""
    lowered = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATE))
    plain = "".join(c for c in lowered if not unicodedata.combining(c))
    plain = re.sub(r"['\u2019`]", " ", plain)
    plain = re.sub(r"(\d),(\d)", r"\1.\2", plain)
    plain = re.sub(r"(\d)\s*[-\u2013\u2014]\s*(\d)", r"\1 - \2", plain)
    plain = re.sub(r"(\d)([^\W\d_])", r"\1 \2", plain)
    plain = re.sub(r"(\d)-([^\W\d_])", r"\1 \2", plain)  # "40-ish", "50-årene"
    return " ".join(plain.split())


@lru_cache(maxsize=None)
def raw_words(language: str) -> Mapping[str, object]:
    """The language's word file as strings (BaseLoader: "no" and "yes" stay words, not booleans)."""
    path = WORDS_DIR / f"{normalise_language(language)}.yml"
    return yaml.load(path.read_text("utf-8"), Loader=yaml.BaseLoader)


@lru_cache(maxsize=None)
def blank(language: str) -> object:
    """spaCy's rule-based tokeniser for the language, built once."""
    return spacy.blank(normalise_language(language))


class Lexicon:
    """Labelled phrase lists for one language, read as a sequence of symbols."""

    def __init__(self, language: str, groups: Mapping[str, Iterable[str]]) -> None:
        self.nlp = blank(language)
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")  # type: ignore[attr-defined]
        self.order = {label: index for index, label in enumerate(groups)}
        for label, phrases in groups.items():
            docs = [self.nlp.make_doc(prepare(p)) for p in phrases if prepare(p)]  # type: ignore[attr-defined]
            if docs:
                self.matcher.add(label, docs)

    def symbols(self, text: str, punctuation: bool = False) -> List[Symbol]:
        """The text as symbols: a label for each longest listed phrase, NUM for a number in digits,
        WORD for any other word; punctuation is dropped, or kept as SEP when asked for."""
        doc = self.nlp.make_doc(prepare(text))  # type: ignore[attr-defined]
        matches = self.matcher(doc)
        labels: Dict[Tuple[int, int], str] = {}
        for match_id, start, end in sorted(matches, key=lambda m: self.order[doc.vocab.strings[m[0]]]):
            labels.setdefault((start, end), doc.vocab.strings[match_id])  # a phrase in two lists: the first
        by_start = {span.start: span for span in filter_spans([doc[start:end] for _, start, end in matches])}
        symbols: List[Symbol] = []
        i = 0
        while i < len(doc):
            span = by_start.get(i)
            if span is not None:
                symbols.append((labels[(span.start, span.end)], span.text))
                i = span.end
                continue
            token = doc[i]
            if re.fullmatch(r"\d+(?:\.\d+)?", token.text):
                symbols.append(("NUM", token.text))
            elif not token.is_punct:
                symbols.append(("WORD", token.text))
            elif punctuation:
                symbols.append(("SEP", token.text))
            i += 1
        return symbols


@dataclass(frozen=True)
class QuantityWords:
    """A language's words for an amount of some unit ("a few" weeks, "3" times a month): the lexicon,
    the (low, high) value of each quantity phrase and the unit each unit phrase names."""

    lexicon: Lexicon
    quantities: Dict[str, Tuple[float, float]]
    units: Dict[str, str]

    def amount(self, symbol: Symbol) -> Tuple[float, float]:
        """The (low, high) value of a NUM symbol or of a listed quantity phrase."""
        label, text = symbol
        return (float(text), float(text)) if label == "NUM" else self.quantities[text]


def phrases(spec: Mapping[str, object], key: str) -> List[str]:
    """A list of phrases from a word-file section; missing means none."""
    value = spec.get(key, [])
    return [str(v) for v in value] if isinstance(value, list) else []


def value_range(raw: str) -> Tuple[float, float]:
    """A word-file value, "3" or a range "2-4"."""
    low, _, high = str(raw).partition("-")
    return float(low), float(high or low)


@dataclass(frozen=True)
class Span:
    """An interval; open ends exclude the end itself."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    @property
    def is_point(self) -> bool:
        return self.low == self.high

    def contains(self, point: float) -> bool:
        above = point > self.low or (point == self.low and not self.low_open)
        below = point < self.high or (point == self.high and not self.high_open)
        return above and below

    def overlaps(self, other: "Span") -> bool:
        """Whether the two share more than a border (or ``other``, a point, lies inside)."""
        if other.is_point:
            return self.contains(other.low)
        return min(self.high, other.high) - max(self.low, other.low) > 1e-9


def hull(spans: Sequence[Span]) -> Span:
    """The smallest interval holding all of ``spans``."""
    low = min(s.low for s in spans)
    high = max(s.high for s in spans)
    return Span(low, high, low_open=all(s.low_open for s in spans if s.low == low),
                high_open=all(s.high_open for s in spans if s.high == high))


def fitting_bands(bands: Mapping[str, Span], span: Span) -> List[str]:
    """The codes (in band order) whose band ``span`` overlaps."""
    return [code for code, band in bands.items() if band.overlaps(span)]


def at_most_choices(codes: List[str]) -> List[str]:
    """``codes`` as a reading: too many to offer as buttons means asked again (no codes)."""
    return codes if len(codes) <= MAX_CHOICES else []

