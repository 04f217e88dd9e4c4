"""Fuzzing the answer parsers (hypothesis): whatever a patient types, in any of the twelve languages, for
any item of any questionnaire, reading it never raises and gives either one of the item's allowed
values or None ("ask again"); the same words in other letter case or spacing read the same; and a
canonical answer read again is itself. Red flags depend on this: a parser that crashes or invents a
value would lose or misread an answer (docs/clinical-safety/hazard-log.yml, H02)."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, List, Tuple

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.i18n.answers import WORDS_DIR, parse_choice, parse_number, parse_yes_no
from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.i18n.durations import duration_bands
from bot.questionnaires.interpret import candidates, interpret
from bot.questionnaires.loader import QUESTIONNAIRE_DIR, load_questionnaire
from bot.questionnaires.model import Item

# 200 examples per property in `make test`; BACKTALK_FUZZ_EXAMPLES=5000 for a long run.
FUZZ = settings(max_examples=int(os.environ.get("BACKTALK_FUZZ_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def all_items() -> Tuple[Item, ...]:
    items = []
    for path in sorted(QUESTIONNAIRE_DIR.glob("*.yml")):
        if path.name != "triage.yml":  # the asking order, not a questionnaire
            items.extend(load_questionnaire(path).items)
    return tuple(items)


def _phrases(node: Any) -> List[str]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in [str(key), *_phrases(value)]]
    if isinstance(node, list):
        return [p for value in node for p in _phrases(value)]
    return [str(node)]


@lru_cache(maxsize=None)
def vocabulary(language: str) -> Tuple[str, ...]:
    """Every word and phrase the language's word list knows (answers, numbers, durations, options):
    the inputs most likely to reach the parsers' corners."""
    raw = yaml.load((WORDS_DIR / f"{language}.yml").read_text("utf-8"), Loader=yaml.BaseLoader)
    return tuple(sorted({p for p in _phrases(raw) if p.strip()}))


languages = st.sampled_from(SUPPORTED_LANGUAGES)
items = st.sampled_from(all_items())
DURATIONS = ["under_1_month", "1_to_3_months", "3_to_6_months", "6_months_to_3_years", "over_3_years"]
FILLER = st.sampled_from(["", "!", "?", ".", "...", "7", "10", "3,5", "½", "-1", "99999999999999999999", "🙂",
                          "\u200b", "weeks", "2-3", "/", "'", "ß", "İ", "ǅ"])


@st.composite
def phrase_answers(draw: st.DrawFn, language: str) -> str:
    """A few of the language's own phrases, numbers and odd tokens, as a patient might combine them."""
    words = draw(st.lists(st.one_of(st.sampled_from(vocabulary(language)), FILLER), min_size=1, max_size=4))
    return " ".join(words)


def allowed(item: Item, value: Any) -> bool:
    return value is None or item.is_valid_value(value)


@FUZZ
@given(item=items, language=languages, data=st.data())
def test_any_typed_answer_reads_as_an_allowed_value_or_ask_again(item: Item, language: str, data: st.DataObject) -> None:
    text = data.draw(st.one_of(st.text(max_size=80), phrase_answers(language)), label="text")
    value = interpret(item, text, language)
    assert allowed(item, value), (item.id, language, text, value)
    for option in candidates(item, text, language):  # the short follow-up question offers real options only
        assert item.option(option) is not None


@FUZZ
@given(item=items, language=languages, data=st.data())
def test_letter_case_and_spacing_do_not_change_the_reading(item: Item, language: str, data: st.DataObject) -> None:
    words = data.draw(phrase_answers(language), label="words")
    spaced = data.draw(st.sampled_from(["  {}  ", "\t{}\n", "{} ", " {}"]), label="spacing").format(
        data.draw(st.sampled_from(["  ", " ", "\u00a0"]), label="gap").join(words.split(" ")))
    cased = data.draw(st.sampled_from([str.upper, str.lower, str.title, str.capitalize, str.swapcase]), label="case")
    assert interpret(item, cased(spaced), language) == interpret(item, words, language), (item.id, language, words)


@FUZZ
@given(item=items, language=languages, data=st.data())
def test_a_reading_read_again_is_itself(item: Item, language: str, data: st.DataObject) -> None:
    """A canonical value (a tapped button's code, a stored answer) is accepted as it is, and so is
    what a typed answer was read as: reading is idempotent."""
    text = data.draw(phrase_answers(language), label="text")
    value = interpret(item, text, language)
    if value is not None:
        assert interpret(item, value, language) == value
    for option in item.options:
        assert interpret(item, option.code, language) == option.code


@FUZZ
@given(language=languages, text=st.text(max_size=80), low=st.integers(-5, 20), span=st.integers(0, 200))
def test_the_word_parsers_never_raise_and_stay_in_range(language: str, text: str, low: int, span: int) -> None:
    assert parse_yes_no(text, language) in (True, False, None)
    number = parse_number(text, low, low + span, language)
    assert number is None or (isinstance(number, int) and low <= number <= low + span)
    codes = ["low", "medium", "high"]
    assert parse_choice(text, codes, language) in (*codes, None)
    bands = duration_bands(text, DURATIONS, language)
    assert bands is None or set(bands) <= set(DURATIONS)
