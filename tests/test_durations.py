"""The duration parser (bot/i18n/durations.py) in every language: one band when the answer is clear,
the bands in question when it sits on a border, is spread out or vague, nothing when it names no
duration."""
from __future__ import annotations

from typing import List, Optional

import pytest

from bot.i18n.durations import bands_of, duration_bands
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.interpret import candidates, interpret

CODES = [o.code for o in TriageFlow().item("episode_duration").options]
UNDER_1, M1_3, M3_6, M6_Y3, OVER_3 = CODES

CASES = {
    "en": [("about two weeks", [UNDER_1]), ("a month", [M1_3]), ("3 months", [M1_3, M3_6]), ("3months", [M1_3, M3_6]),
           ("13 weeks", [M1_3, M3_6]), ("3 or 4 months", [M3_6]), ("more than 6 months", [M6_Y3, OVER_3]),
           ("just over a year", [M6_Y3]), ("almost 6 months", [M3_6]), ("less than a month", [UNDER_1]),
           ("a couple of months", [M1_3]), ("a few months", [M1_3, M3_6]), ("a year and a half", [M6_Y3]),
           ("I've had it for 2 years now", [M6_Y3]), ("several years", [OVER_3]), ("a while", CODES),
           ("since Christmas", CODES), ("a fortnight", [UNDER_1]), ("yes", None), ("my lower back", None)],
    "de": [("seit 2 Wochen", [UNDER_1]), ("3 Monate", [M1_3, M3_6]), ("anderthalb Jahre", [M6_Y3]),
           ("ein paar Tage", [UNDER_1]), ("knapp 3 Monate", [M1_3]), ("seit über 5 Jahren", [OVER_3]),
           ("mehr als ein halbes Jahr", [M6_Y3, OVER_3]), ("seit Weihnachten", CODES)],
    "es": [("hace 3 meses", [M1_3, M3_6]), ("un año y medio", [M6_Y3]), ("unas semanas", [UNDER_1]),
           ("más de un año", [M6_Y3, OVER_3]), ("desde navidad", CODES), ("dos semanas", [UNDER_1])],
    "fr": [("depuis 3 mois", [M1_3, M3_6]), ("plus d'un an", [M6_Y3, OVER_3]), ("quelques semaines", [UNDER_1]),
           ("un an et demi", [M6_Y3]), ("environ deux semaines", [UNDER_1]), ("depuis 5 ans", [OVER_3])],
    "it": [("un paio di settimane", [UNDER_1]), ("da più di un anno", [M6_Y3, OVER_3]), ("tre mesi", [M1_3, M3_6]),
           ("quattro mesi", [M3_6])],
    "da": [("et par uger", [UNDER_1]), ("halvandet år", [M6_Y3]), ("3 måneder", [M1_3, M3_6]), ("i 10 år", [OVER_3])],
    "sv": [("ett par veckor", [UNDER_1]), ("drygt ett år", [M6_Y3]), ("ett halvår", [M3_6, M6_Y3]),
           ("sedan i somras", CODES), ("tre månader", [M1_3, M3_6])],
    "nl": [("een paar weken", [UNDER_1]), ("anderhalf jaar", [M6_Y3]), ("ruim een jaar", [M6_Y3, OVER_3]),
           ("3 maanden", [M1_3, M3_6])],
    "pl": [("od pół roku", [M3_6, M6_Y3]), ("od dwóch tygodni", [UNDER_1]), ("ponad 3 lata", [OVER_3]),
           ("półtora roku", [M6_Y3]), ("kilka dni", [UNDER_1]), ("3 miesiące", [M1_3, M3_6])],
    "pt": [("há 3 meses", [M1_3, M3_6]), ("umas semanas", [UNDER_1]), ("um ano e meio", [M6_Y3]),
           ("há mais de um ano", [M6_Y3, OVER_3])],
    "hr": [("oko 2 tjedna", [UNDER_1]), ("više od godinu dana", [M6_Y3, OVER_3]), ("pola godine", [M3_6, M6_Y3]),
           ("par dana", [UNDER_1])],
    "nb": [("et par uker", [UNDER_1]), ("halvannet år", [M6_Y3]), ("over 3 år", [OVER_3]), ("tre måneder", [M1_3, M3_6])],
}


@pytest.mark.parametrize("language, text, expected",
                         [(language, text, expected) for language, cases in CASES.items() for text, expected in cases])
def test_durations_pick_their_bands(language: str, text: str, expected: Optional[List[str]]) -> None:
    assert duration_bands(text, CODES, language) == expected


def test_bands_are_read_from_the_option_codes() -> None:
    bands = bands_of(CODES)
    assert bands is not None and [b.high_open for b in bands.values()] == [True, False, False, False, False]
    assert bands_of(["agree", "disagree"]) is None
    assert duration_bands("3 months", ["agree", "disagree"], "en") is None


def test_a_clear_duration_answers_and_an_unclear_one_offers_its_options() -> None:
    item = TriageFlow().item("episode_duration")
    assert interpret(item, "about 10 days", "en") == UNDER_1
    assert interpret(item, "3 months", "en") is None
    assert candidates(item, "3 months", "en") == [M1_3, M3_6]
    assert candidates(item, "banana", "en") == [] and candidates(item, M1_3, "en") == []
