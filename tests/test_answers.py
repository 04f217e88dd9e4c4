"""Typed answers: understood when clear, refused (None) when not, never guessed."""
from __future__ import annotations

import pytest

from bot.i18n.answers import normalise, parse_choice, parse_number, parse_yes_no, words_for
from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.interpret import interpret

BOTHER = ["not_at_all", "slightly", "moderately", "very_much", "extremely"]


@pytest.mark.parametrize("text", ["yes", "Yes!", "yeah", "y", "yep", "sure", "of course", "YES PLEASE"])
def test_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize("text", ["no", "nope", "n", "not really", "Nah.", "no way", "I don't"])
def test_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", ["banana", "", "maybe", "yes and no", "what?"])
def test_unclear_yes_no_is_not_guessed(text: str) -> None:
    assert parse_yes_no(text) is None


@pytest.mark.parametrize(
    "text, value",
    [("7", 7), ("0", 0), ("10", 10), ("seven", 7), ("Seven out of ten", 7), ("8/10", 8),
     ("about 6", 6), ("i'd say five", 5), ("7 out of 10", 7), ("none", 0)],
)
def test_numbers(text: str, value: int) -> None:
    assert parse_number(text, 0, 10) == value


@pytest.mark.parametrize("text", ["11", "-3", "7.5", "6 or 7", "lots", "", "twenty"])
def test_numbers_refused(text: str) -> None:
    assert parse_number(text, 0, 10) is None


@pytest.mark.parametrize(
    "text, code",
    [("agree", "agree"), ("I agree", "agree"), ("yes", "agree"), ("I don't agree", "disagree"),
     ("do not agree", "disagree"), ("nope", "disagree")],
)
def test_agree_disagree(text: str, code: str) -> None:
    assert parse_choice(text, ["agree", "disagree"]) == code


@pytest.mark.parametrize(
    "text, code",
    [("not at all", "not_at_all"), ("a little", "slightly"), ("Moderately", "moderately"),
     ("very much", "very_much"), ("EXTREMELY!", "extremely"), ("very_much", "very_much")],
)
def test_bothersomeness_words(text: str, code: str) -> None:
    assert parse_choice(text, BOTHER) == code


@pytest.mark.parametrize("text", ["banana", "very much", "seven"])
def test_choice_refuses_what_is_not_an_option(text: str) -> None:
    assert parse_choice(text, ["agree", "disagree"]) is None


def test_normalise_strips_accents_case_and_punctuation() -> None:
    assert normalise("Très  d'accord!") == "tres daccord"


@pytest.mark.parametrize("text", ["I don't know", "not sure", "dunno", "no idea", "maybe"])
def test_not_knowing_is_never_read_as_no(text: str) -> None:
    assert parse_yes_no(text) is None
    assert parse_choice(text, ["agree", "disagree"]) is None


@pytest.mark.parametrize(
    "language, text, value",
    [("de", "Ja", True), ("de", "nein", False), ("da", "nej", False), ("pl", "tak", True), ("pl", "nie", False),
     ("fr", "oui", True), ("es", "si", True), ("pt", "nao", False), ("hr", "da", True), ("nb", "nei", False),
     ("sv", "ja", True), ("nl", "nee", False), ("it", "no", False)],
)
def test_yes_and_no_in_every_language(language: str, text: str, value: bool) -> None:
    assert parse_yes_no(text, language) is value


@pytest.mark.parametrize(
    "language, text, value",
    [("de", "sieben", 7), ("fr", "sept", 7), ("es", "siete", 7), ("it", "sette", 7), ("pl", "siedem", 7),
     ("pt", "sete", 7), ("hr", "sedam", 7), ("nl", "zeven", 7), ("da", "syv", 7), ("sv", "sju", 7), ("nb", "sju", 7)],
)
def test_numbers_as_words_in_every_language(language: str, text: str, value: int) -> None:
    assert parse_number(text, 0, 10, language) == value


@pytest.mark.parametrize(
    "language, text, code",
    [("fr", "très d'accord", "agree"), ("fr", "pas d'accord", "disagree"), ("de", "nicht einverstanden", "disagree"),
     ("pl", "nie zgadzam sie", "disagree"), ("es", "no estoy de acuerdo", "disagree"), ("hr", "ne slazem se", "disagree")],
)
def test_agreement_typed_in_words(language: str, text: str, code: str) -> None:
    assert parse_choice(text, ["agree", "disagree"], language) == code


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_listed_yes_or_no_typed_alone_is_that_answer_to_every_yes_no_question(language: str) -> None:
    """The lists hold whole answers: "no gracias", "nie dziękuję", "ne hvala" were asked again once,
    because the "no" at their start looked like the negation of a statement."""
    words = words_for(language)
    assert not set(words.yes) & set(words.no) and not (set(words.yes) | set(words.no)) & set(words.unsure)
    flow = TriageFlow()
    for item_id in ("rf_cancer", "research_consent", "outlook_offer"):
        item = flow.item(item_id)
        assert {phrase: interpret(item, phrase, language) for phrase in words.yes} == dict.fromkeys(words.yes, True)
        assert {phrase: interpret(item, phrase, language) for phrase in words.no} == dict.fromkeys(words.no, False)


@pytest.mark.parametrize("text, language", [("isso serve pra quê?", "pt"), ("ok, and who reads it?", "en"),
                                            ("ja, aber wofür?", "de"), ("sí, ¿para qué?", "es")])
def test_a_question_in_reply_to_a_yes_no_question_is_not_taken_for_an_answer(text: str, language: str) -> None:
    assert interpret(TriageFlow().item("consent"), text, language) is None
