"""The answer parsers (bot/i18n/ages.py, frequencies.py, degrees.py, stances.py, sites.py) in every
language: one option when the answer is clear, the two or three in question when it is on a border
or hedged, none (asked again) when it cannot be read safely, and None when it says nothing of the
kind. Negation never becomes agreement."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import pytest

from bot.i18n.reading import raw_words
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.interpret import candidates, interpret, reading

FLOW = TriageFlow()
A, D = ["agree"], ["disagree"]
BOTH_OPTIONS = ["agree", "disagree"]
LOW, NECK, BOTH = ["low_back"], ["neck"], ["both"]
ANY_SITE = ["low_back", "neck", "both"]
NONE, FEW, MANY = ["none"], ["once_or_twice"], ["three_or_more"]
SOME = ["once_or_twice", "three_or_more"]

Case = Tuple[str, str, Optional[List[str]]]  # item, typed text, the reading

CASES: Dict[str, List[Case]] = {
    "en": [("age_band", "I'm 47", ["40_to_49"]), ("age_band", "forty-seven", ["40_to_49"]),
           ("age_band", "mid 50s", ["50_to_59"]), ("age_band", "about 50", ["40_to_49", "50_to_59"]),
           ("age_band", "in my forties", ["40_to_49"]), ("age_band", "over 70", ["70_or_over"]),
           ("age_band", "7", []), ("age_band", "between 45 and 55", ["40_to_49", "50_to_59"]),
           ("sbt_1", "that's true", A), ("sbt_1", "I guess so", A), ("sbt_1", "not really", D),
           ("sbt_1", "that's not true", D), ("sbt_1", "I don't agree", D), ("sbt_1", "sort of", BOTH_OPTIONS),
           ("sbt_1", "somewhat", BOTH_OPTIONS), ("sbt_1", "yes, I can't walk far", []),
           ("sbt_1", "I don't disagree", BOTH_OPTIONS), ("sbt_1", "every day", A), ("sbt_1", "now and then", BOTH_OPTIONS),
           ("sbt_9", "quite a lot", ["very_much"]), ("sbt_9", "a bit", ["slightly"]),
           ("sbt_9", "terrible", ["extremely"]), ("sbt_9", "really bad", ["very_much", "extremely"]),
           ("sbt_9", "really terrible", ["extremely"]), ("sbt_9", "pretty bad", ["very_much"]),
           ("sbt_9", "not too bad", ["slightly", "moderately"]), ("sbt_9", "not that bad", ["slightly", "moderately"]),
           ("sbt_9", "not very much", ["slightly"]),
           ("pain_site", "lumbar", LOW), ("pain_site", "my neck and lower back", BOTH),
           ("pain_site", "all along my spine", ANY_SITE), ("pain_site", "neck, not my back", NECK),
           ("pain_site", "no neck pain", []), ("pain_site", "upper back and neck", ["neck", "both"]),
           ("pain_site", "the back of my neck", NECK),
           ("previous_episodes", "never", NONE), ("previous_episodes", "twice", FEW),
           ("previous_episodes", "3 times", MANY), ("previous_episodes", "every year", MANY),
           ("previous_episodes", "a few times", SOME), ("previous_episodes", "once, years ago", FEW),
           ("previous_episodes", "twice a year", MANY)],
    "de": [("age_band", "siebenundvierzig", ["40_to_49"]), ("age_band", "Mitte 50", ["50_to_59"]),
           ("age_band", "so um die 50", ["40_to_49", "50_to_59"]), ("age_band", "ich bin 63", ["60_to_69"]),
           ("sbt_1", "stimmt", A), ("sbt_1", "das stimmt nicht", D), ("sbt_1", "irgendwie schon", BOTH_OPTIONS),
           ("sbt_1", "ja, aber ich kann nicht laufen", []),
           ("sbt_9", "ziemlich stark", ["very_much"]), ("sbt_9", "ein bisschen", ["slightly"]),
           ("sbt_9", "unerträglich", ["extremely"]), ("sbt_9", "nicht so schlimm", ["slightly", "moderately"]),
           ("pain_site", "Nacken und unterer Rücken", BOTH), ("pain_site", "die ganze Wirbelsäule", ANY_SITE),
           ("pain_site", "Lendenwirbelsäule", LOW),
           ("previous_episodes", "noch nie", NONE), ("previous_episodes", "zweimal", FEW),
           ("previous_episodes", "jedes Jahr", MANY), ("previous_episodes", "zweimal jährlich", MANY),
           ("sbt_2", "täglich", A), ("sbt_2", "ja, ab und zu", BOTH_OPTIONS)],
    "es": [("age_band", "cuarenta y siete", ["40_to_49"]), ("age_band", "tengo 35 años", ["30_to_39"]),
           ("age_band", "unos 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "es verdad", A), ("sbt_1", "no es verdad", D), ("sbt_1", "más o menos", BOTH_OPTIONS),
           ("sbt_9", "muchísimo", ["extremely"]), ("sbt_9", "un poco", ["slightly"]),
           ("sbt_9", "no tan mal", ["slightly", "moderately"]),
           ("pain_site", "cuello y zona lumbar", BOTH), ("pain_site", "toda la columna", ANY_SITE),
           ("previous_episodes", "nunca", NONE), ("previous_episodes", "tres veces", MANY),
           ("previous_episodes", "una vez", FEW)],
    "fr": [("age_band", "quarante-sept ans", ["40_to_49"]), ("age_band", "soixante-douze", ["70_or_over"]),
           ("age_band", "la cinquantaine", ["50_to_59"]), ("age_band", "environ 50 ans", ["40_to_49", "50_to_59"]),
           ("sbt_1", "c'est vrai", A), ("sbt_1", "pas du tout", D), ("sbt_1", "ce n'est pas vrai", D),
           ("sbt_1", "un peu", BOTH_OPTIONS),
           ("sbt_9", "énormément", ["extremely"]), ("sbt_9", "un peu", ["slightly"]),
           ("sbt_9", "pas si mal", ["slightly", "moderately"]),
           ("pain_site", "la nuque et le bas du dos", BOTH), ("pain_site", "lombaire", LOW),
           ("pain_site", "tout le long de la colonne", ANY_SITE),
           ("previous_episodes", "jamais", NONE), ("previous_episodes", "deux fois", FEW),
           ("previous_episodes", "tous les ans", MANY)],
    "it": [("age_band", "quarantasette", ["40_to_49"]), ("age_band", "ho 52 anni", ["50_to_59"]),
           ("age_band", "circa 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "è vero", A), ("sbt_1", "non è vero", D), ("sbt_1", "più o meno", BOTH_OPTIONS),
           ("sbt_9", "tantissimo", ["extremely"]), ("sbt_9", "un po'", ["slightly"]),
           ("sbt_9", "molto", ["very_much"]),
           ("pain_site", "collo e zona lombare", BOTH), ("pain_site", "tutta la colonna", ANY_SITE),
           ("previous_episodes", "mai", NONE), ("previous_episodes", "tre volte", MANY),
           ("previous_episodes", "un paio di volte", FEW)],
    "da": [("age_band", "syvogfyrre", ["40_to_49"]), ("age_band", "jeg er 38", ["30_to_39"]),
           ("age_band", "omkring 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "det passer", A), ("sbt_1", "det passer ikke", D), ("sbt_1", "måske", BOTH_OPTIONS),
           ("sbt_9", "frygteligt", ["extremely"]), ("sbt_9", "lidt", ["slightly"]),
           ("sbt_9", "ikke så slemt", ["slightly", "moderately"]),
           ("pain_site", "nakke og lænd", BOTH), ("pain_site", "hele rygsøjlen", ANY_SITE),
           ("previous_episodes", "aldrig", NONE), ("previous_episodes", "to gange", FEW),
           ("previous_episodes", "hvert år", MANY)],
    "sv": [("age_band", "fyrtiosju", ["40_to_49"]), ("age_band", "jag är 29", ["18_to_29"]),
           ("age_band", "runt 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "det stämmer", A), ("sbt_1", "stämmer inte", D), ("sbt_1", "kanske", BOTH_OPTIONS),
           ("sbt_9", "fruktansvärt", ["extremely"]), ("sbt_9", "lite", ["slightly"]),
           ("sbt_9", "inte så farligt", ["slightly", "moderately"]),
           ("pain_site", "nacken och ländryggen", BOTH), ("pain_site", "hela ryggraden", ANY_SITE),
           ("previous_episodes", "aldrig", NONE), ("previous_episodes", "tre gånger", MANY),
           ("previous_episodes", "en gång", FEW)],
    "nl": [("age_band", "zevenenveertig", ["40_to_49"]), ("age_band", "ik ben 61", ["60_to_69"]),
           ("age_band", "rond de 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "dat klopt", A), ("sbt_1", "klopt niet", D), ("sbt_1", "een beetje", BOTH_OPTIONS),
           ("sbt_9", "verschrikkelijk", ["extremely"]), ("sbt_9", "een beetje", ["slightly"]),
           ("sbt_9", "valt mee", ["slightly", "moderately"]),
           ("pain_site", "nek en onderrug", BOTH), ("pain_site", "langs mijn ruggengraat", ANY_SITE),
           ("previous_episodes", "nooit", NONE), ("previous_episodes", "twee keer", FEW),
           ("previous_episodes", "elk jaar", MANY)],
    "pl": [("age_band", "czterdzieści siedem", ["40_to_49"]), ("age_band", "mam 44 lata", ["40_to_49"]), ("age_band", "koło 50", ["40_to_49", "50_to_59"]),
           ("age_band", "około 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "to prawda", A), ("sbt_1", "nieprawda", D), ("sbt_1", "trochę", BOTH_OPTIONS),
           ("sbt_9", "strasznie", ["extremely"]), ("sbt_9", "trochę", ["slightly"]),
           ("sbt_9", "nie tak źle", ["slightly", "moderately"]),
           ("pain_site", "kark i odcinek lędźwiowy", BOTH), ("pain_site", "cały kręgosłup", ANY_SITE),
           ("previous_episodes", "nigdy", NONE), ("previous_episodes", "dwa razy", FEW),
           ("previous_episodes", "co roku", MANY)],
    "pt": [("age_band", "quarenta e sete", ["40_to_49"]), ("age_band", "tenho 33 anos", ["30_to_39"]),
           ("age_band", "cerca de 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "é verdade", A), ("sbt_1", "não é verdade", D), ("sbt_1", "mais ou menos", BOTH_OPTIONS),
           ("sbt_9", "imenso", ["extremely"]), ("sbt_9", "um pouco", ["slightly"]),
           ("sbt_9", "não muito", ["slightly"]),
           ("pain_site", "pescoço e lombar", BOTH), ("pain_site", "a coluna toda", ANY_SITE),
           ("previous_episodes", "nunca", NONE), ("previous_episodes", "três vezes", MANY),
           ("previous_episodes", "uma vez", FEW)],
    "hr": [("age_band", "četrdeset sedam", ["40_to_49"]), ("age_band", "imam 58 godina", ["50_to_59"]),
           ("age_band", "oko 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "istina", A), ("sbt_1", "nije istina", D), ("sbt_1", "donekle", BOTH_OPTIONS),
           ("sbt_9", "užasno", ["extremely"]), ("sbt_9", "malo", ["slightly"]),
           ("sbt_9", "ne tako strašno", ["slightly", "moderately"]),
           ("pain_site", "vrat i križa", BOTH), ("pain_site", "cijela kralježnica", ANY_SITE),
           ("previous_episodes", "nikad", NONE), ("previous_episodes", "dvaput", FEW),
           ("previous_episodes", "svake godine", MANY)],
    "nb": [("age_band", "førtisju", ["40_to_49"]), ("age_band", "jeg er 71", ["70_or_over"]),
           ("age_band", "rundt 50", ["40_to_49", "50_to_59"]),
           ("sbt_1", "det stemmer", A), ("sbt_1", "stemmer ikke", D), ("sbt_1", "kanskje", BOTH_OPTIONS),
           ("sbt_9", "forferdelig", ["extremely"]), ("sbt_9", "litt", ["slightly"]),
           ("sbt_9", "ikke så ille", ["slightly", "moderately"]),
           ("pain_site", "nakken og korsryggen", BOTH), ("pain_site", "hele ryggraden", ANY_SITE),
           ("previous_episodes", "aldri", NONE), ("previous_episodes", "to ganger", FEW),
           ("previous_episodes", "hvert år", MANY)],
}


@pytest.mark.parametrize("language,item_id,text,expected",
                         [(lang, *case) for lang, cases in CASES.items() for case in cases])
def test_parsers_read_each_kind_of_answer(language: str, item_id: str, text: str,
                                          expected: Optional[List[str]]) -> None:
    assert reading(FLOW.item(item_id), text, language) == expected


def test_every_language_has_cases_for_every_parser() -> None:
    for language, cases in CASES.items():
        assert {"age_band", "sbt_1", "sbt_9", "pain_site", "previous_episodes"} <= {c[0] for c in cases}, language
    assert len(CASES) == 12


def test_one_option_answers_and_several_are_offered_as_buttons() -> None:
    item = FLOW.item("age_band")
    assert interpret(item, "I'm 47", "en") == "40_to_49" and candidates(item, "I'm 47", "en") == []
    assert interpret(item, "about 50", "en") is None
    assert candidates(item, "about 50", "en") == ["40_to_49", "50_to_59"]
    assert candidates(FLOW.item("sbt_3"), "sort of", "en") == ["agree", "disagree"]
    assert candidates(FLOW.item("pain_site"), "all along my spine", "en") == ["low_back", "neck", "both"]
    assert candidates(FLOW.item("sbt_9"), "not too bad", "en") == ["slightly", "moderately"]
    # Asked again plainly: nothing to offer.
    assert interpret(FLOW.item("sbt_1"), "yes, I can't walk far", "en") is None
    assert candidates(FLOW.item("sbt_1"), "yes, I can't walk far", "en") == []


@pytest.mark.parametrize("language,text", [
    ("en", "I don't walk far"), ("en", "no, I can't walk far"), ("en", "I do walk a lot"),
    ("en", "not really able to walk far"), ("es", "no puedo caminar mucho"), ("pt", "não consigo andar"),
    ("pl", "w ogóle nie mogę chodzić"), ("hr", "ne mogu dugo hodati"), ("de", "nein, ich kann nicht weit gehen"),
    ("it", "no, non riesco a camminare"), ("fr", "non, je ne peux pas marcher"), ("nl", "nee, ik kan niet ver lopen")])
def test_a_negated_statement_is_asked_again_not_read_as_disagreement(language: str, text: str) -> None:
    """To "I have only walked short distances", "I can't walk far" agrees: a negation that belongs
    to the statement must not become the answer's."""
    assert reading(FLOW.item("sbt_3"), text, language) == []


@pytest.mark.parametrize("language,text,expected", [
    ("en", "no it stays in my back", D), ("en", "yes I do", A), ("en", "I do", A), ("en", "no I don't", D),
    ("en", "nope, not at all", D), ("es", "no, para nada", D), ("pl", "nie", D), ("hr", "nisam", D),
    ("de", "habe ich nicht", D)])
def test_plain_answers_and_echoes_on_their_own_are_read(language: str, text: str, expected: List[str]) -> None:
    assert reading(FLOW.item("sbt_3"), text, language) == expected


@pytest.mark.parametrize("text", ["I don't agree", "not true", "that's not right", "I don't think so",
                                  "definitely not", "no it doesn't", "not at all"])
def test_a_negation_is_never_read_as_agreement(text: str) -> None:
    assert interpret(FLOW.item("sbt_5"), text, "en") in ("disagree", None)


@pytest.mark.parametrize("text,expected", [("yes a bit numb", True), ("no nothing like that", False),
                                           ("yes but I can't tell", None), ("I don't think so", False),
                                           ("that's true", True), ("no, not that I know of", False),
                                           ("no, I can't feel anything down there", None)])
def test_yes_no_answers_are_checked_for_negation(text: str, expected: Optional[bool]) -> None:
    assert interpret(FLOW.item("rf_saddle_numbness"), text, "en") is expected


def test_only_the_band_is_kept_and_implausible_ages_are_asked_again() -> None:
    item = FLOW.item("age_band")
    assert interpret(item, "150", "en") is None
    assert interpret(item, "I'm 47 and my son is 20", "en") is None  # two ages far apart
    assert interpret(item, "a man in my fifties", "en") == "50_to_59"


@pytest.mark.parametrize("language", sorted(CASES))
def test_no_listed_agreement_with_a_negation_is_read_as_agreement(language: str) -> None:
    """Every word of agreement and every "yes" of the language's word file, with every negation
    before or after it: never an "agree" nor a "yes" to a red flag (asked again or disagreeing)."""
    words = raw_words(language)
    statement, red_flag = FLOW.item("sbt_5"), FLOW.item("rf_saddle_numbness")
    misread = []
    for agreement in [*words["stances"]["agree"], *words["yes"]]:
        for negation in words["negation"]:
            for text in (f"{negation} {agreement}", f"{agreement}, {negation} it", f"{agreement} {negation}"):
                if interpret(statement, text, language) == "agree" or interpret(red_flag, text, language) is True:
                    misread.append(text)
    assert misread == []


CONTRASTED = {
    "en": "i had cancer but my weight is the same", "de": "ja, aber nur einmal",
    "es": "si pero solo una vez", "fr": "oui mais juste une fois", "it": "si ma solo una volta",
    "da": "ja men kun en gang", "sv": "ja men bara en gang", "nl": "ja maar maar een keer",
    "pl": "tak ale tylko raz", "pt": "tive cancer ha anos mas o peso ta estavel",
    "hr": "da ali samo jednom", "nb": "ja men bare en gang",
}


@pytest.mark.parametrize("language", sorted(CONTRASTED))
def test_a_yes_or_no_with_a_but_is_asked_again(language: str) -> None:
    """Two answers in one ("I had cancer, but my weight is the same") are never read as either;
    the same words without the contrast still are."""
    item = next(i for i in TriageFlow().items if i.id == "rf_cancer")
    assert interpret(item, CONTRASTED[language], language) is None
    plain_yes = {"en": "yes", "de": "ja", "es": "si", "fr": "oui", "it": "si", "da": "ja", "sv": "ja",
                 "nl": "ja", "pl": "tak", "pt": "sim", "hr": "da", "nb": "ja"}[language]
    assert interpret(item, plain_yes, language) is True
