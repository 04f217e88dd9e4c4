"""Which question a patient means when they ask to change an answer ("change my answer about sleep",
"go back to the pain question"): the words per question and language live in data/topics/<lang>.yml,
written from the questions' own wording, so a translator can add a word without touching code."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import re

import yaml

from bot.i18n.answers import normalise
from bot.paths import DATA_DIR

TOPIC_DIR = DATA_DIR / "topics"
# "sull'umore", "l'épaule": the apostrophe separates words here (normalise() would join them).
ELISION = re.compile(r"['\u2019]")


@dataclass(frozen=True)
class Phrase:
    """Normalised words; a word ending in ``*`` matches any word it begins ("sleep*" = "sleeping")."""

    words: Tuple[str, ...]

    def found_in(self, tokens: List[str]) -> bool:
        size = len(self.words)
        return any(all(_word_matches(w, t) for w, t in zip(self.words, tokens[start:start + size]))
                   for start in range(len(tokens) - size + 1))


def _word_matches(pattern: str, token: str) -> bool:
    return token.startswith(pattern[:-1]) if pattern.endswith("*") else token == pattern


def _phrase(raw: str) -> Phrase:
    words = []
    for word in ELISION.sub(" ", str(raw)).split():
        stem = word.endswith("*")
        core = normalise(word.rstrip("*"))
        if not core:
            continue
        words.extend(core.split())
        if stem:
            words[-1] += "*"
    return Phrase(tuple(words))


@lru_cache(maxsize=None)
def topics(language: str, directory: Path = TOPIC_DIR) -> Dict[str, Tuple[Phrase, ...]]:
    """Item id -> its phrases in ``language`` (empty when the language has no file)."""
    path = directory / f"{language}.yml"
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {item_id: tuple(p for p in map(_phrase, phrases) if p.words)
            for item_id, phrases in (raw.get("topics") or {}).items()}


def items_named(text: str, language: str, among: Iterable[str]) -> List[str]:
    """The items among ``among`` that ``text`` names, in ``among``'s order: those whose longest
    matching phrase is the longest of all ("pain score" beats "pain"); several when tied, none
    when nothing matches. Nothing is guessed beyond the words: a tie is for the patient to settle."""
    tokens = normalise(ELISION.sub(" ", text)).split()
    table = topics(language)
    best: Dict[str, int] = {}
    for item_id in among:
        lengths = [len(p.words) for p in table.get(item_id, ()) if p.found_in(tokens)]
        if lengths:
            best[item_id] = max(lengths)
    if not best:
        return []
    top = max(best.values())
    return [item_id for item_id, length in best.items() if length == top]
