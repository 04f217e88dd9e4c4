"""Reading where the pain is ("lumbar", "my neck and lower back", "not the neck, the low back",
"all along my spine") in the twelve languages.

The options are ``low_back``, ``neck`` and ``both``. Each mention of the neck or the low back
counts unless a negation stands just before it ("no neck pain"); both mentioned means both.
Words for the whole spine or a part that is neither ("all along my spine", "upper back", "whole
back") say too little: the patient picks from the options those words leave open. A negated site
with nothing else is asked again.

Words are in ``sites:`` and ``negation:`` of bot/i18n/words/<lang>.yml.
"""
from __future__ import annotations

from functools import lru_cache
from typing import List, Sequence, Set

from bot.i18n.reading import Lexicon, Reading, phrases, raw_words

SITES = ("low_back", "neck", "both")
_NEGATION_REACH = 3  # "no pain in my neck": how far before a site a negation reaches


@lru_cache(maxsize=None)
def _lexicon(language: str) -> Lexicon:
    raw = raw_words(language)
    spec = dict(raw["sites"])  # type: ignore[arg-type]
    return Lexicon(language, {"LOW_BACK": phrases(spec, "low_back"), "NECK": phrases(spec, "neck"),
                              "SPINE": phrases(spec, "spine"), "BOTH": phrases(spec, "both"),
                              "NEG": [*(str(w) for w in raw["negation"]), *phrases(spec, "no")]})  # type: ignore[union-attr]


def site_codes(text: str, codes: Sequence[str], language: str) -> Reading:
    """The pain-site options the text may mean (see :data:`Reading`); None when the options are not
    pain sites or the text names no part of the spine."""
    if not codes or any(code not in SITES for code in codes):
        return None
    symbols = _lexicon(language).symbols(text)
    labels = [label for label, _ in symbols]
    named: Set[str] = set()
    negated = False
    for index, label in enumerate(labels):
        if label not in ("LOW_BACK", "NECK", "SPINE", "BOTH"):
            continue
        before = labels[max(0, index - _NEGATION_REACH):index]
        # A negation reaches the next site only: in "no neck pain, lower back" not "lower back".
        if "NEG" in before and not any(other in ("LOW_BACK", "NECK", "SPINE", "BOTH")
                                       for other in before[before.index("NEG"):]):
            negated = True
            continue
        named.add(label)
    if not named:
        return [] if negated else None
    if "BOTH" in named or {"LOW_BACK", "NECK"} <= named:
        found: List[str] = ["both"]
    elif "SPINE" in named:
        found = [code for code in SITES if code != ("low_back" if "NECK" in named else "neck")] \
            if named & {"LOW_BACK", "NECK"} else list(SITES)
    else:
        found = ["low_back" if "LOW_BACK" in named else "neck"]
    if negated and "BOTH" in named:
        return []  # "both, but not the neck": contradictory
    return [code for code in codes if code in found]
