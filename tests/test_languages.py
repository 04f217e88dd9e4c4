"""Choosing and detecting the conversation's language."""
from __future__ import annotations

import pytest

from bot.i18n.catalog import SUPPORTED_LANGUAGES, supported_language
from bot.i18n.detect import detect_language, guess_by_vocabulary
from bot.i18n.languages import label, language_buttons, named_language


@pytest.mark.parametrize(
    "text, code",
    [("in English please", "en"), ("auf Deutsch bitte", "de"), ("po polsku", "pl"), ("PO POLSKU!", "pl"),
     ("na hrvatskom", "hr"), ("på norsk takk", "nb"), ("pa svenska", "sv"), ("en français svp", "fr"),
     ("in het nederlands graag", "nl"), ("em português", "pt"), ("in italiano", "it"), ("på dansk", "da"),
     ("en español", "es"), ("de", "de")],
)
def test_a_named_language_is_found_in_any_language(text: str, code: str) -> None:
    assert named_language(text) == code


@pytest.mark.parametrize("text", ["klingon please", "change language", "hello"])
def test_no_language_named(text: str) -> None:
    assert named_language(text) is None


@pytest.mark.parametrize(
    "tag, code", [("de-CH", "de"), ("pt_BR", "pt"), ("no", "nb"), ("nn-NO", "nb"), ("EN", "en"), ("tr", None), (None, None)]
)
def test_channel_hints_map_to_supported_languages(tag: object, code: object) -> None:
    assert supported_language(tag) == code


def test_every_language_button_names_itself() -> None:
    buttons = language_buttons()
    assert [b["title"] for b in buttons] == [label(c) for c in SUPPORTED_LANGUAGES]
    assert {b["payload"] for b in buttons} == {f'/language{{"code":"{c}"}}' for c in SUPPORTED_LANGUAGES}


@pytest.mark.parametrize(
    "text, code",
    [("mir tut der Rücken weh", "de"), ("me duele mucho la espalda", "es"), ("boli mnie kręgosłup", "pl"),
     ("ik heb last van mijn rug", "nl"), ("j'ai très mal au dos depuis hier", "fr"), ("hola", "es"),
     ("bonjour", "fr"), ("cześć", "pl"), ("ciao", "it")],
)
def test_free_text_is_detected(text: str, code: str) -> None:
    assert detect_language(text, SUPPORTED_LANGUAGES) == code


@pytest.mark.parametrize("text", ["ok", "123", "?", "hmm"])
def test_unclear_text_is_not_guessed(text: str) -> None:
    assert detect_language(text, SUPPORTED_LANGUAGES) is None


def test_a_word_shared_by_languages_decides_nothing() -> None:
    # "ja" is yes in German, Dutch, Danish, Swedish and Norwegian
    assert guess_by_vocabulary("ja", SUPPORTED_LANGUAGES) is None


@pytest.mark.parametrize(
    "text, code",
    [("hi", "en"), ("Hello!", "en"), ("hallo", "de"), ("hej", "sv"), ("ciao", "it"), ("hola", "es"),
     ("bok", "hr"), ("hei", "nb"), ("hoi", "nl"), ("olá", "pt"), ("goddag", "da"), ("cześć", "pl"),
     ("salut", "fr")],
)
def test_a_greeting_alone_starts_in_a_language(text: str, code: str) -> None:
    """Greetings several languages share go to one (data/greetings.yml); the chooser is a tap away."""
    assert detect_language(text, SUPPORTED_LANGUAGES) == code


def test_each_greeting_belongs_to_one_language() -> None:
    from bot.i18n.detect import _greetings

    assert len(_greetings()) > 60 and set(_greetings().values()) == set(SUPPORTED_LANGUAGES)
