"""Reading how long something has lasted ("3 months", "a couple of weeks", "just over a year",
"anderthalb Jahre", "od pół roku") in the twelve languages, and which answer bands that fits.

spaCy tokenises per language (``spacy.blank``: no trained model, nothing downloaded) and a
PhraseMatcher finds the language's quantity words, units and modifiers from ``durations:`` in
bot/i18n/words/<lang>.yml (no maintained number-word parser covers these languages: text2num
knows five, word2number only English). A duration becomes an interval of days: "3 months" is a
point, "a few weeks" 14-28 days, "more than 6 months" anything above 183 days. The answer bands are
read from the item's option codes (``under_1_month``, ``1_to_3_months``, ``6_months_to_3_years``,
``over_3_years``), so an item added later with such codes is understood with no code change.

Nothing is guessed: a duration that fits one band answers the question; one on a shared border
("3 months" is both "1 to 3" and "3 to 6 months") or spread over several bands, and a vague answer
("a while", "since Christmas"), returns the bands in question so the patient can tap one.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

from bot.i18n.reading import INFINITY, Lexicon, QuantityWords, Span, prepare, raw_words, value_range

UNIT_DAYS = {"day": 1.0, "week": 7.0, "fortnight": 14.0, "month": 365.25 / 12, "half_year": 365.25 / 2,
             "year": 365.25}
# A point this close to a band's border (relative) is on it: "13 weeks" is 3 months.
BORDER_TOLERANCE = 0.03
MODIFIERS = ("under", "almost", "over", "just_over", "about")


@lru_cache(maxsize=None)
def _words(language: str) -> QuantityWords:
    raw = raw_words(language)
    spec = raw["durations"]
    quantities = {prepare(k): value_range(v) for k, v in raw["numbers"].items() if int(v) > 0}
    quantities.update({prepare(k): value_range(v) for k, v in spec["quantities"].items()})
    units = {prepare(phrase): unit for unit, phrases in spec["units"].items() for phrase in phrases}
    groups = {"QTY": list(quantities), "UNIT": list(units), "HALF": spec.get("and_a_half", []),
              "TO": [*spec["to"], "-"], "VAGUE": spec["vague"],
              **{m.upper(): spec.get(m, []) for m in MODIFIERS}}
    return QuantityWords(Lexicon(language, groups), quantities, units)


def _symbols(text: str, language: str) -> List[Tuple[str, str]]:
    """The text as (label, words) symbols: QTY, UNIT, HALF, TO, VAGUE, a modifier, NUM or WORD."""
    return [("WORD", text) if label == "NUM" and float(text) == 0 else (label, text)
            for label, text in _words(language).lexicon.symbols(text)]


def _apply(modifier: Optional[str], low: float, high: float) -> Span:
    if modifier == "UNDER":
        return Span(0.0, high, high_open=True)
    if modifier == "ALMOST":
        return Span(0.75 * low, high, high_open=True)
    if modifier == "OVER":
        return Span(low, INFINITY, low_open=True)
    if modifier == "JUST_OVER":
        return Span(low, 1.3 * high, low_open=True)
    if modifier == "ABOUT":
        return Span(0.85 * low, 1.15 * high)
    return Span(low, high)


def read_durations(text: str, language: str) -> Tuple[List[Span], bool]:
    """Every duration in ``text`` as a span of days, and whether the text is vague about it."""
    words = _words(language)
    symbols = _symbols(text, language)
    found: List[Span] = []
    i = 0
    while i < len(symbols):
        modifier = symbols[i][0] if symbols[i][0] in {m.upper() for m in MODIFIERS} else None
        j = i + 1 if modifier else i
        if j < len(symbols) and symbols[j][0] in ("QTY", "NUM"):
            low, high = words.amount(symbols[j])
            j += 1
            if j < len(symbols) and symbols[j][0] == "HALF":
                low, high, j = low + 0.5, high + 0.5, j + 1
            if j + 1 < len(symbols) and symbols[j][0] == "TO" and symbols[j + 1][0] in ("QTY", "NUM"):
                _, high = words.amount(symbols[j + 1])
                j += 2
            if j < len(symbols) and symbols[j][0] == "UNIT":
                days = UNIT_DAYS[words.units[symbols[j][1]]]
                j += 1
                if j < len(symbols) and symbols[j][0] == "HALF":
                    low, high, j = low + 0.5, high + 0.5, j + 1
                if low <= high:
                    found.append(_apply(modifier, low * days, high * days))
                i = j
                continue
        elif j < len(symbols) and symbols[j][0] == "UNIT" and modifier:  # "über Jahre": no number
            days = UNIT_DAYS[words.units[symbols[j][1]]]
            found.append(_apply(modifier, days, days))
            i = j + 1
            continue
        i += 1
    return found, any(label == "VAGUE" for label, _ in symbols)


_UNIT = r"(day|week|month|year)s?"
_BAND_PATTERNS = (
    (re.compile(rf"^under_(\d+)_{_UNIT}$"), lambda m: Span(0.0, _days(m, 1), high_open=True)),
    (re.compile(rf"^over_(\d+)_{_UNIT}$"), lambda m: Span(_days(m, 1), INFINITY, low_open=True)),
    (re.compile(rf"^(\d+)_{_UNIT}_to_(\d+)_{_UNIT}$"), lambda m: Span(_days(m, 1), _days(m, 3))),
    (re.compile(rf"^(\d+)_to_(\d+)_{_UNIT}$"), lambda m: Span(float(m.group(1)) * UNIT_DAYS[m.group(3)],
                                                              float(m.group(2)) * UNIT_DAYS[m.group(3)])),
)


def _days(match: "re.Match[str]", group: int) -> float:
    return float(match.group(group)) * UNIT_DAYS[match.group(group + 1)]


def bands_of(codes: Sequence[str]) -> Optional[Dict[str, Span]]:
    """The day spans the option codes name, or None when they are not all duration bands."""
    bands: Dict[str, Span] = {}
    for code in codes:
        span = next((build(m) for pattern, build in _BAND_PATTERNS if (m := pattern.match(code))), None)
        if span is None:
            return None
        bands[code] = span
    return bands


def _overlaps(band: Span, span: Span) -> bool:
    if span.is_point:
        point = span.low
        for border in (band.low, band.high):
            if border not in (0.0, INFINITY) and abs(point - border) <= BORDER_TOLERANCE * border:
                point = border  # "13 weeks" is on the 3-month border
        return band.contains(point)
    return band.overlaps(span)


def duration_bands(text: str, codes: Sequence[str], language: str) -> Optional[List[str]]:
    """The option codes a typed duration may mean, in option order: one when it is clear, several
    when it is on a border, spread out or vague; None when the text names no duration at all (or
    the options are not duration bands)."""
    bands = bands_of(codes)
    if bands is None:
        return None
    spans, vague = read_durations(text, language)
    if not spans:
        return list(codes) if vague else None
    whole = Span(min(s.low for s in spans), max(s.high for s in spans),
                 low_open=all(s.low_open for s in spans), high_open=all(s.high_open for s in spans))
    fitting = [code for code, band in bands.items() if _overlaps(band, whole)]
    return fitting or None
