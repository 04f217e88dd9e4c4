"""Reading how much something bothers a patient, in their own words ("quite a lot", "a bit",
"terrible", "not too bad", "really awful"), in the twelve languages.

The five options ``not_at_all``, ``slightly``, ``moderately``, ``very_much``, ``extremely`` are
levels 0-4. Each listed word has a level or a range of levels ("quite a bit" is 2-3); an
intensifier right before a word of level 2 or more opens the level above it too ("very bad": very
much or extremely, asked; "really terrible" stays extremely);
a negation before it ("not that bad", "doesn't bother me much") means less than it, from slightly
up to one level below. One level answers; two or three adjacent levels get a short question with
those buttons; anything wider, or a negated "slightly", is asked again.

Words are in ``degrees:`` and ``negation:`` of bot/i18n/words/<lang>.yml.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, List, Sequence, Tuple

from bot.i18n.reading import Lexicon, Reading, at_most_choices, phrases, prepare, raw_words, value_range

LEVELS = ("not_at_all", "slightly", "moderately", "very_much", "extremely")
_NEGATION_REACH = 4  # "doesn't bother me that much": the negation may stand a few words before


@dataclass(frozen=True)
class DegreeWords:
    lexicon: Lexicon
    levels: Dict[str, Tuple[float, float]]
    intensifiers: FrozenSet[str]


@lru_cache(maxsize=None)
def _words(language: str) -> DegreeWords:
    raw = raw_words(language)
    spec = dict(raw["degrees"])  # type: ignore[arg-type]
    levels = {prepare(k): value_range(v) for k, v in dict(spec["levels"]).items()}  # type: ignore[arg-type]
    intensifiers = phrases(spec, "intensifiers")
    return DegreeWords(Lexicon(language, {"LEVEL": list(levels), "MORE": intensifiers,
                                          "NEG": [str(w) for w in raw["negation"]]}),  # type: ignore[union-attr]
                       levels, frozenset(prepare(w) for w in intensifiers))


def read_levels(text: str, language: str) -> List[Tuple[int, int]]:
    """Each degree word in the text as a (lowest, highest) level; (1, 0) where it cannot be read."""
    words = _words(language)
    symbols = words.lexicon.symbols(text)
    labels = [label for label, _ in symbols]
    found: List[Tuple[int, int]] = []
    for index, (label, phrase) in enumerate(symbols):
        if label != "LEVEL":
            continue
        if phrase in words.intensifiers and index + 1 < len(labels) and labels[index + 1] == "LEVEL":
            labels[index] = "MORE"  # "very" alone is a degree, in "very bad" it strengthens "bad"
            continue
        low, high = (int(v) for v in words.levels[phrase])
        if index and labels[index - 1] == "MORE" and low >= 2:  # "very bad": very much or extremely
            low, high = high, min(high + 1, len(LEVELS) - 1)
        if "NEG" in labels[max(0, index - _NEGATION_REACH):index]:
            low, high = (1, high - 1) if high >= 2 else (1, 0)
        found.append((low, high))
    if not found and "NEG" in labels:
        found.append((1, 0))  # "it doesn't": a negation with no degree to read
    return found


def degree_codes(text: str, codes: Sequence[str], language: str) -> Reading:
    """The bothersomeness options the text may mean (see :data:`Reading`); None when the options are
    not these levels or the text names no degree."""
    if not codes or any(code not in LEVELS for code in codes):
        return None
    found = read_levels(text, language)
    if not found:
        return None
    if any(low > high for low, high in found):
        return []
    low, high = min(f[0] for f in found), max(f[1] for f in found)
    return at_most_choices([code for code in codes if low <= LEVELS.index(code) <= high])
