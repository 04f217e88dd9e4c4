"""Guessing the language of a patient's first free-text message when the channel gave no hint.

A message that is only a greeting ("hi", "hallo", "hej") starts in the language data/greetings.yml
gives it, even when several languages share it: the patient is greeted and asked for consent at
once, with the language chooser one tap away, instead of meeting the chooser first. Other short chat
messages ("ok", "ja") defeat statistical detectors, so the next opinion comes
from BackTalk's own vocabulary (the NLU examples and answer words of each language): a word that
only one language uses decides. Longer texts with no decisive word go to an offline detector
(lingua) restricted to the twelve languages. Anything unclear returns None, and the patient picks
from the language buttons: a wrong guess would ask a whole questionnaire in the wrong language.
"""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Dict, Iterable, Optional, Set, Tuple

import yaml

from bot.i18n.answers import WORDS_DIR, normalise
from bot.paths import DATA_DIR

MIN_CHARS_FOR_STATISTICS = 12
MIN_CONFIDENCE = 0.6


def _nlu_examples(language: str) -> Iterable[str]:
    path = DATA_DIR / "nlu" / f"{language}.yml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            yield line.strip().lstrip("- ").strip()


def _word_lists(language: str) -> Iterable[str]:
    raw = yaml.load((WORDS_DIR / f"{language}.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    yield from raw.get("yes", [])
    yield from raw.get("no", [])
    yield from raw.get("numbers", {})
    for phrases in raw.get("options", {}).values():
        yield from phrases


@lru_cache(maxsize=1)
def _token_languages(languages: Tuple[str, ...]) -> Dict[str, Set[str]]:
    owners: Dict[str, Set[str]] = defaultdict(set)
    for language in languages:
        for text in [*_nlu_examples(language), *_word_lists(language)]:
            for token in normalise(text).split():
                if not token.isdigit():
                    owners[token].add(language)
    return owners


def guess_by_vocabulary(text: str, languages: Tuple[str, ...]) -> Optional[str]:
    owners = _token_languages(languages)
    scores: Dict[str, float] = defaultdict(float)
    for token in normalise(text).split():
        langs = owners.get(token, set())
        for language in langs:
            scores[language] += 1 / len(langs)
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    return best if score >= 1 and score - runner_up >= 0.5 else None


@lru_cache(maxsize=1)
def _lingua(languages: Tuple[str, ...]):  # type: ignore[no-untyped-def]
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
    return LanguageDetectorBuilder.from_languages(*chosen).build()


def guess_by_statistics(text: str, languages: Tuple[str, ...]) -> Optional[str]:
    if len(text.strip()) < MIN_CHARS_FOR_STATISTICS:
        return None
    values = _lingua(languages).compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return values[0].language.iso_code_639_1.name.lower()


@lru_cache(maxsize=1)
def _greetings() -> Dict[str, str]:
    raw = yaml.safe_load((DATA_DIR / "greetings.yml").read_text(encoding="utf-8"))
    owners: Dict[str, str] = {}
    for language, greetings in raw.items():
        for greeting in greetings:
            key = normalise(str(greeting))
            if owners.setdefault(key, language) != language:
                raise ValueError(f"greetings.yml: {greeting!r} is listed for {owners[key]} and {language}")
    return owners


def guess_by_greeting(text: str, languages: Tuple[str, ...]) -> Optional[str]:
    """The language of a message that is nothing but a greeting."""
    language = _greetings().get(normalise(text))
    return language if language in languages else None


def detect_language(text: str, languages: Tuple[str, ...]) -> Optional[str]:
    """The language of ``text`` among ``languages``, or None when it is not clear."""
    return (guess_by_greeting(text, languages) or guess_by_vocabulary(text, languages)
            or guess_by_statistics(text, languages))
