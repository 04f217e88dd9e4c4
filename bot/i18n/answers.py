"""Understanding typed answers per language: yes/no, numbers as digits or words, choice options.

An answer that is not clearly one thing is returned as None so the bot asks again: in triage a
wrong guess (a missed red flag, a wrong risk group) is worse than one more question.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.i18n.catalog import DEFAULT_LANGUAGE, normalise_language

WORDS_DIR = Path(__file__).resolve().parent / "words"
UNSURE = "\0unsure"  # a key no option code can take


# Letters that Unicode does not decompose into a base letter plus an accent.
_TRANSLITERATE = str.maketrans({"æ": "ae", "ø": "o", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th", "ð": "d"})


def normalise(text: str) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces ("Très  d'accord!" -> "tres daccord")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATE))
    no_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    no_marks = no_marks.replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[\W_]+", " ", no_marks).split())


@dataclass(frozen=True)
class LanguageWords:
    yes: Tuple[str, ...]
    no: Tuple[str, ...]
    # "I don't know", "not sure": never read as an answer, even though they contain "don't"/"not".
    unsure: Tuple[str, ...]
    numbers: Mapping[str, int]
    scale_suffixes: Tuple[str, ...]
    options: Mapping[str, Tuple[str, ...]]


@lru_cache(maxsize=None)
def words_for(language: str) -> LanguageWords:
    # BaseLoader keeps every scalar a string: YAML 1.1 would turn "yes", "no", "y" and "n" into booleans.
    path = WORDS_DIR / f"{normalise_language(language)}.yml"
    raw = yaml.load(path.read_text("utf-8"), Loader=yaml.BaseLoader)
    return LanguageWords(
        yes=tuple(normalise(str(w)) for w in raw["yes"]),
        no=tuple(normalise(str(w)) for w in raw["no"]),
        unsure=tuple(normalise(str(w)) for w in raw["unsure"]),
        numbers={normalise(str(k)): int(v) for k, v in raw["numbers"].items()},
        scale_suffixes=tuple(normalise(str(w)) for w in raw.get("scale_suffixes", ())),
        options={code: tuple(normalise(str(w)) for w in ws) for code, ws in raw["options"].items()},
    )


def longest_match(text: str, candidates: Mapping[str, Iterable[str]]) -> Optional[str]:
    """The candidate whose phrase is the longest whole-word match in ``text``; None if unclear."""
    padded = f" {normalise(text)} "
    best_len, best = 0, set()
    for key, phrases in candidates.items():
        for phrase in phrases:
            if phrase and f" {phrase} " in padded:
                length = len(phrase.split())
                if length > best_len:
                    best_len, best = length, {key}
                elif length == best_len:
                    best.add(key)
    return best.pop() if len(best) == 1 else None


def parse_yes_no(text: str, language: str = DEFAULT_LANGUAGE) -> Optional[bool]:
    words = words_for(language)
    found = longest_match(text, {"yes": words.yes, "no": words.no, UNSURE: words.unsure})
    return None if found in (None, UNSURE) else found == "yes"


def exactly_yes_no(text: str, language: str = DEFAULT_LANGUAGE) -> Optional[bool]:
    """True or False when the whole answer is one of the language's listed yes or no phrases ("no
    gracias", "ne, hvala", "pas de souci"): each was listed as a complete answer, so no reading of
    its parts (a "no" followed by a word, taken for a negated statement) may overrule it."""
    words = words_for(language)
    cleaned = normalise(text)
    if cleaned in words.yes:
        return True
    return False if cleaned in words.no else None


_SLASH_SCALE = re.compile(r"/\s*10\b")
_DECIMAL_OR_NEGATIVE = re.compile(r"\d[.,]\d|(?<!\w)-\s*\d")


def parse_number(text: str, minimum: int, maximum: int, language: str = DEFAULT_LANGUAGE) -> Optional[int]:
    """One whole number in range, typed as digits ("7", "7/10") or as words ("seven out of ten")."""
    words = words_for(language)
    lowered = _SLASH_SCALE.sub(" ", text.casefold())
    if _DECIMAL_OR_NEGATIVE.search(lowered):
        return None
    cleaned = f" {normalise(lowered)} "
    for suffix in words.scale_suffixes:  # "out of ten" names the scale, not the answer
        cleaned = cleaned.replace(f" {suffix} ", " ")
    values = {int(token) for token in cleaned.split() if token.isdigit()}
    values |= {value for word, value in words.numbers.items() if f" {word} " in cleaned}
    if len(values) != 1:
        return None
    value = values.pop()
    return value if minimum <= value <= maximum else None


def parse_choice(
    text: str, codes: Sequence[str], language: str = DEFAULT_LANGUAGE
) -> Optional[str]:
    """The option code the text names, among ``codes``; None when none or several fit."""
    words = words_for(language)
    candidates: Dict[str, List[str]] = {c: list(words.options.get(c, ())) for c in codes}
    # The canonical code itself ("very_much") is always understood, e.g. from a button payload.
    for code in codes:
        candidates[code].append(normalise(code.replace("_", " ")))
    if "unsure" in candidates:
        # "I don't know" IS an answer when the question offers it ("when do you expect to be better?").
        candidates["unsure"] += list(words.unsure)
        return longest_match(text, candidates)
    found = longest_match(text, {**candidates, UNSURE: list(words.unsure)})
    return None if found == UNSURE else found
