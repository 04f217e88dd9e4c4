"""Reading an age ("47", "forty-seven", "siebenundvierzig", "in my forties", "mid 50s", "about 50",
"over 70") in the twelve languages, and which age bands that fits.

The bands come from the item's option codes (``40_to_49``, ``70_or_over``). An age becomes an
interval of years: "47" is [47, 48), "mid 50s" [53, 57), "about 50" [47, 54). One band answers;
an interval across a border ("about 50" is 40-49 or 50-59) offers those bands as buttons; a number
no adult's age can be, or several ages far apart, is asked again. Only the band is kept, never the
age itself (data minimisation).

Number words 11-99 are composed from the ``ages:`` words of bot/i18n/words/<lang>.yml (units,
teens, tens and how a language joins them: "forty-seven", "quarantasette", "siebenundvierzig",
"syvogfyrre"), so no language needs a hundred listed numbers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

from bot.i18n.reading import (INFINITY, Lexicon, Reading, Span, Symbol, at_most_choices, fitting_bands, hull,
                              phrases, prepare, raw_words)

_BAND = re.compile(r"^(\d+)_(?:to_(\d+)|or_over)$")
MODIFIERS = ("about", "almost", "over", "under", "just_over")
PARTS = ("early", "mid", "late")
# Where in a decade "early", "mid" and "late" put an age (years after the decade's start).
_PART_SPANS = {"EARLY": (0.0, 4.0), "MID": (3.0, 7.0), "LATE": (6.0, 10.0), None: (0.0, 10.0)}
OLDEST = 120
# Words said after a number ("50-ish", "70 plus") and the modifier they are before one.
_AFTER = {"ABOUT_AFTER": "ABOUT", "OVER_AFTER": "OVER"}


def bands_of(codes: Sequence[str]) -> Optional[Dict[str, Span]]:
    """Age bands named by the codes ("40_to_49" is [40, 50)), or None when they are not all bands."""
    bands: Dict[str, Span] = {}
    for code in codes:
        match = _BAND.match(code)
        if match is None:
            return None
        high = float(match.group(2)) + 1 if match.group(2) else INFINITY
        bands[code] = Span(float(match.group(1)), high, high_open=True)
    return bands or None


def _compose(spec: Dict[str, object]) -> Dict[str, float]:
    """Every number word 1-99 the language's units, teens and tens make."""
    units = {prepare(k): float(v) for k, v in dict(spec.get("units", {})).items()}  # type: ignore[arg-type]
    tens = {prepare(k): float(v) for k, v in dict(spec.get("tens", {})).items()}  # type: ignore[arg-type]
    words = {**units, **{prepare(k): float(v) for k, v in dict(spec.get("teens", {})).items()}, **tens}  # type: ignore[arg-type]
    for ten, ten_value in tens.items():
        for unit, unit_value in units.items():
            if unit_value >= 10:
                continue
            for joiner in phrases(spec, "tens_first"):
                joined = joiner.strip()
                words[" ".join(f"{ten} {joined} {unit}".split())] = ten_value + unit_value
                if joiner == "" or joiner == "_":  # written as one word: "quarantasette", "fyrtiosju"
                    words[f"{ten}{unit}"] = ten_value + unit_value
                    if ten[-1] in "aeiou" and unit[0] in "aeiou":  # "quarantotto", "ventuno"
                        words[f"{ten[:-1]}{unit}"] = ten_value + unit_value
            for joiner in phrases(spec, "units_first"):  # "siebenundvierzig", "syv og fyrre"
                words[f"{unit}{joiner.strip()}{ten}"] = ten_value + unit_value
                words[" ".join(f"{unit} {joiner} {ten}".split())] = ten_value + unit_value
    words.update({prepare(k): float(v) for k, v in dict(spec.get("numbers", {})).items()})  # type: ignore[arg-type]
    return words


@dataclass(frozen=True)
class AgeWords:
    lexicon: Lexicon
    numbers: Dict[str, float]
    decades: Dict[str, float]


@lru_cache(maxsize=None)
def _words(language: str) -> AgeWords:
    spec = dict(raw_words(language)["ages"])  # type: ignore[arg-type]
    numbers = _compose(spec)
    decades = {prepare(k): float(v) for k, v in dict(spec.get("decades", {})).items()}  # type: ignore[arg-type]
    groups = {"NUMW": list(numbers), "DECADE": list(decades), "DECADE_MARK": phrases(spec, "decade_marks"),
              "DECADE_BEFORE": phrases(spec, "decade_before"), "TO": [*phrases(spec, "to"), "-"],
              "ABOUT_AFTER": phrases(spec, "about_after"), "OVER_AFTER": [*phrases(spec, "over_after"), "+"],
              **{m.upper(): phrases(spec, m) for m in (*MODIFIERS, *PARTS)}}
    return AgeWords(Lexicon(language, groups), numbers, decades)


def _value(symbol: Symbol, words: AgeWords) -> Optional[float]:
    label, text = symbol
    if label == "NUM":
        return float(text)
    if label == "NUMW":
        return words.numbers[text]
    return None


def _modified(modifier: Optional[str], value: float) -> Span:
    if modifier == "ABOUT":
        return Span(value - 3, value + 4, high_open=True)
    if modifier == "ALMOST":
        return Span(value - 2, value, high_open=True)
    if modifier == "OVER":
        return Span(value, INFINITY, high_open=True)
    if modifier == "UNDER":
        return Span(0.0, value, high_open=True)
    if modifier == "JUST_OVER":
        return Span(value, value + 3, high_open=True)
    return Span(value, value + 1, high_open=True)


def read_ages(text: str, language: str) -> Tuple[List[Span], bool]:
    """Every age in the text as an interval of years, and whether a number was implausible."""
    words = _words(language)
    symbols = words.lexicon.symbols(re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", text))
    labels = [label for label, _ in symbols]
    found: List[Span] = []
    implausible = False
    i = 0
    while i < len(symbols):
        modifier = part = None
        j = i
        while j < len(symbols) and labels[j] in {m.upper() for m in (*MODIFIERS, *PARTS)} | set(_AFTER):
            if labels[j] in {p.upper() for p in PARTS}:
                part = labels[j]
            else:  # "environ 50" as well as "50 environ"
                modifier = _AFTER.get(labels[j], labels[j])
            j += 1
        decade_before = j < len(symbols) and labels[j] == "DECADE_BEFORE"
        j += decade_before
        if j >= len(symbols):
            break
        if labels[j] == "DECADE":
            start, end = _PART_SPANS[part]
            decade = words.decades[symbols[j][1]]
            found.append(Span(decade + start, decade + end, high_open=True))
            i = j + 1
            continue
        value = _value(symbols[j], words)
        if labels[j] == "NUMW" and value is not None and value < 10:
            value = None  # "a", "one", "en": an article or a count, never an adult's age
        if value is None:
            i = j + 1 if j > i else i + 1
            continue
        j += 1
        if j < len(symbols) and labels[j] == "DECADE_MARK" or (decade_before and value % 10 == 0):
            j += labels[j] == "DECADE_MARK" if j < len(symbols) else 0
            if value % 10 or not 10 <= value <= 110:
                implausible = True
            else:
                start, end = _PART_SPANS[part]
                found.append(Span(value + start, value + end, high_open=True))
            i = j
            continue
        if j + 1 < len(symbols) and labels[j] == "TO" and _value(symbols[j + 1], words) is not None:
            high = _value(symbols[j + 1], words) or 0.0
            if value <= high <= OLDEST and value >= 1:
                found.append(Span(value, high + 1, high_open=True))
            else:
                implausible = True
            i = j + 2
            continue
        if j < len(symbols) and labels[j] in ("ABOUT_AFTER", "OVER_AFTER"):
            modifier = "ABOUT" if labels[j] == "ABOUT_AFTER" else "OVER"
            j += 1
        if value != int(value) or not 1 <= value <= OLDEST:
            implausible = True
        else:
            found.append(_modified(modifier, value))
        i = j
    return found, implausible


def age_bands(text: str, codes: Sequence[str], language: str) -> Reading:
    """The age bands a typed age may mean (see :data:`bot.i18n.reading.Reading`); None when the
    options are not age bands or the text names no age."""
    bands = bands_of(codes)
    if bands is None:
        return None
    spans, implausible = read_ages(text, language)
    if implausible:
        return []
    if not spans:
        return None
    return at_most_choices(fitting_bands(bands, hull(spans)))
