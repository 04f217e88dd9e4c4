"""Reading how often something happens or happened ("never", "once", "a couple of times", "3 times",
"every day", "most days", "twice a week", "every few months") in the twelve languages.

Two things can be said: a count ("twice", "a few times": how many times in all) and a rate ("every
day", "twice a week": how many times a week, as an interval). Counts answer "how many earlier
episodes?" (option codes ``none``, ``once_or_twice``, ``three_or_more``); a habit ("every year",
"all the time") means it keeps coming back, three times or more. Rates also answer the "in the last
two weeks" statements: "every day" agrees, "never" disagrees, "sometimes" is asked about
(bot/i18n/stances.py).

Words are in ``frequencies:`` of bot/i18n/words/<lang>.yml; number words and periods come from
``numbers`` and the duration units, so "3 times a month" needs no extra listing.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence

from bot.i18n.reading import (INFINITY, Lexicon, QuantityWords, Reading, Span, at_most_choices, fitting_bands,
                              hull, phrases, prepare, raw_words, value_range)

WEEKS = {"day": 1 / 7, "week": 1.0, "fortnight": 2.0, "month": 52.18 / 12, "half_year": 26.09, "year": 52.18}
# Option codes that count times, and the counts they mean.
# Counts are whole numbers: "2" is [2, 3).
COUNT_BANDS = {"none": Span(0, 1, high_open=True), "once_or_twice": Span(1, 3, high_open=True),
               "three_or_more": Span(3, INFINITY)}
# Rates of words that name a habit, in times a week.
HABITS = {"always": Span(7, INFINITY), "daily": Span(7, 7), "most": Span(4, 7), "often": Span(2, 7),
          "sometimes": Span(0.1, 3), "rarely": Span(0.01, 0.5), "weekly": Span(1, 1), "monthly": Span(0.2, 0.3),
          "yearly": Span(0.01, 0.03)}


@dataclass(frozen=True)
class Frequency:
    """What a text says about how often: a total count and/or a rate in times a week."""

    count: Optional[Span] = None
    rate: Optional[Span] = None
    # Only "sometimes" / "rarely" was said: a habit, but not how many times it came.
    occasional: bool = False


@lru_cache(maxsize=None)
def _words(language: str) -> QuantityWords:
    raw = raw_words(language)
    spec = dict(raw["frequencies"])  # type: ignore[arg-type]
    durations = dict(raw["durations"])  # type: ignore[arg-type]
    quantities = {prepare(k): value_range(v) for k, v in dict(raw["numbers"]).items()  # type: ignore[arg-type]
                  if value_range(v)[0] > 0}
    quantities.update({prepare(k): value_range(v) for k, v in dict(durations["quantities"]).items()})  # type: ignore[arg-type]
    quantities.update({prepare(k): value_range(v) for k, v in dict(spec.get("counts", {})).items()})  # type: ignore[arg-type]
    units = {prepare(p): unit for unit, ps in dict(durations["units"]).items() for p in ps}  # type: ignore[arg-type]
    units.update({prepare(p): unit for unit, ps in dict(spec.get("periods", {})).items() for p in ps})  # type: ignore[arg-type]
    # Adverbs that are a period themselves ("wöchentlich", "dziennie", "tjedno"): "twice" + one of them.
    adverbs = {prepare(p): unit for unit, ps in dict(spec.get("per_period", {})).items() for p in ps}  # type: ignore[arg-type]
    groups = {"TIMES_N": list(dict(spec.get("times_words", {}))), "NEVER": phrases(spec, "never"),  # type: ignore[arg-type]
              "TIMES": phrases(spec, "times"), "EVERY": phrases(spec, "every"), "PER": phrases(spec, "per"),
              "PER_UNIT": list(adverbs), "QTY": list(quantities), "UNIT": list(units),
              **{h.upper(): phrases(spec, h) for h in HABITS}}
    quantities.update({prepare(k): value_range(v) for k, v in dict(spec.get("times_words", {})).items()})  # type: ignore[arg-type]
    return QuantityWords(Lexicon(language, groups), quantities, {**units, **adverbs})


def read_frequency(text: str, language: str) -> Optional[Frequency]:
    """What the text says about how often, or None when it says nothing of it."""
    words = _words(language)
    symbols = words.lexicon.symbols(text)
    labels = [label for label, _ in symbols]
    counts: List[Span] = []
    rates: List[Span] = []
    habits: List[str] = []
    i = 0
    while i < len(symbols):
        label = labels[i]
        if label == "NEVER":
            counts.append(Span(0, 1, high_open=True))
            rates.append(Span(0, 0))
            i += 1
            continue
        if label in {h.upper() for h in HABITS}:
            j = i + 1
            if label == "MOST" and j < len(symbols) and labels[j] == "UNIT":  # "most days", "most weeks"
                per_week = 1 / WEEKS[words.units[symbols[j][1]]]
                rates.append(Span(0.6 * per_week, per_week))
                i = j + 1
                continue
            if label != "MOST":
                rates.append(HABITS[label.lower()])
                habits.append(label)
            i = j
            continue
        if label == "PER_UNIT":  # "täglich", "tjedno" on their own: once a day, once a week
            weeks = WEEKS[words.units[symbols[i][1]]]
            rates.append(Span(1 / weeks, 1 / weeks))
            i += 1
            continue
        if label == "EVERY":  # "every day", "every few months", "every other week"
            j = i + 1
            low = high = 1.0
            if j < len(symbols) and labels[j] in ("QTY", "NUM"):
                low, high = words.amount(symbols[j])
                j += 1
            if j < len(symbols) and labels[j] == "UNIT" and low > 0:
                weeks = WEEKS[words.units[symbols[j][1]]]
                rates.append(Span(1 / (high * weeks), 1 / (low * weeks)))
                i = j + 1
                continue
            i += 1
            continue
        if label in ("QTY", "NUM", "TIMES_N"):  # "3 times", "twice a week", "a few times a year"
            low, high = words.amount(symbols[i])
            j = i + 1
            said_times = label == "TIMES_N"
            if j < len(symbols) and labels[j] == "TIMES":
                said_times, j = True, j + 1
            if j + 1 < len(symbols) and labels[j] in ("PER", "EVERY", "QTY") and labels[j + 1] == "UNIT" \
                    and (said_times or labels[j] == "PER"):
                weeks = WEEKS[words.units[symbols[j + 1][1]]]
                rates.append(Span(low / weeks, high / weeks))
                i = j + 2
                continue
            if said_times and j < len(symbols) and labels[j] == "PER_UNIT":  # "zweimal wöchentlich"
                weeks = WEEKS[words.units[symbols[j][1]]]
                rates.append(Span(low / weeks, high / weeks))
                i = j + 1
                continue
            if said_times:
                counts.append(Span(low, high + 1, high_open=True))
                i = j
                continue
        i += 1
    if not counts and not rates:
        return None
    occasional = bool(habits) and len(rates) == len(habits) and set(habits) <= {"SOMETIMES", "RARELY"}
    return Frequency(hull(counts) if counts else None, hull(rates) if rates else None, occasional)


def count_bands(text: str, codes: Sequence[str], language: str) -> Reading:
    """The count options ("none", "once_or_twice", "three_or_more") the text may mean; None when the
    options do not count times or the text says nothing of how often."""
    if not codes or any(code not in COUNT_BANDS for code in codes):
        return None
    frequency = read_frequency(text, language)
    if frequency is None:
        return None
    bands = {code: COUNT_BANDS[code] for code in codes}
    if frequency.rate is not None and frequency.rate.high > 0:
        if frequency.count is not None:  # "twice, then every year": asked again
            return []
        # A habit ("every year", "all the time") keeps coming back: three times or more; only
        # "sometimes" or "rarely" does not say whether it came twice or more often.
        return at_most_choices(fitting_bands(bands, Span(1, INFINITY) if frequency.occasional
                                             else Span(3, INFINITY)))
    assert frequency.count is not None  # "never" is a count of none as well as a rate
    return at_most_choices(fitting_bands(bands, frequency.count))
