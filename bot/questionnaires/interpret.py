"""Turning what a patient sent (a button code or typed words) into an item's canonical value."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from bot.i18n.ages import age_bands
from bot.i18n.answers import exactly_yes_no, parse_choice, parse_number, parse_yes_no
from bot.i18n.degrees import degree_codes
from bot.i18n.durations import duration_bands
from bot.i18n.frequencies import count_bands
from bot.i18n.reading import Reading
from bot.i18n.sites import site_codes
from bot.i18n.stances import AGREE, DISAGREE, HEDGE, NEGATED, has_contrast, has_negative_word, stance, stance_codes
from bot.questionnaires.model import Item

Canonical = Union[bool, int, str]
# Parsers of one kind of answer each, tried in turn; a parser says None when the options are not
# of its kind or the text says nothing of it.
READERS: Tuple[Callable[[str, Sequence[str], str], Reading], ...] = (
    duration_bands, age_bands, count_bands, degree_codes, site_codes)


def _stance_options(item: Item) -> Optional[Tuple[str, str]]:
    """The (agreeing, disagreeing) option codes of an agree/disagree style item, else None."""
    agreeing = [o.code for o in item.options if o.affirms is True]
    disagreeing = [o.code for o in item.options if o.affirms is False]
    if len(item.options) == 2 and len(agreeing) == 1 and len(disagreeing) == 1:
        return agreeing[0], disagreeing[0]
    return None


def reading(item: Item, text: str, language: str) -> Reading:
    """What the parsers make of ``text`` as an answer to a choice item (see
    :data:`bot.i18n.reading.Reading`): None when none of them applies."""
    codes = [o.code for o in item.options]
    pair = _stance_options(item)
    if pair is not None:
        return stance_codes(text, pair[0], pair[1], codes, language)
    for reader in READERS:
        found = reader(text, codes, language)
        if found is not None:
            return found
    return None


def _yes_or_no(text: str, language: str) -> Optional[bool]:
    """A yes/no answer. The listed words decide, and the stance reader may only take an answer away
    (a negation anywhere in "yes, I can't feel it" is asked again; "no" with words of agreement,
    or with a negated statement after it, too) or read what the lists do not ("that's true",
    "I don't think so"). A whole answer that is itself a listed phrase ("no gracias") is that answer;
    anything else ending in a question mark is the patient asking ("isso serve pra quê?"), not answering."""
    exact = exactly_yes_no(text, language)
    if exact is not None:
        return exact
    if text.rstrip().endswith(("?", "？", "¿")):
        return None
    if has_contrast(text, language):  # "I had cancer, but my weight is the same": two answers in one
        return None
    listed = parse_yes_no(text, language)
    found = stance(text, language)
    if listed is True:  # a negative word anywhere ("yes, I can't feel it") leaves it to the patient
        return True if found == AGREE or (found in (None, HEDGE) and not has_negative_word(text, language)) else None
    if listed is False:  # "no, I can't feel anything there" may be a yes to numbness: asked again
        return None if found in (AGREE, NEGATED) else False
    return {AGREE: True, DISAGREE: False}.get(found or "")


def interpret(item: Item, value: Any, language: str) -> Optional[Canonical]:
    """The canonical answer to ``item``, or None when the answer is unusable or unclear.

    Only the words decide, never a statistical guess: a red flag answered "no" by a classifier's
    hunch would be worse than asking once more.
    """
    if value is None:
        return None
    if item.is_valid_value(value):
        return value
    text = str(value)
    if item.kind == "integer":
        assert item.minimum is not None and item.maximum is not None
        return parse_number(text, item.minimum, item.maximum, language)
    if item.kind == "boolean":
        return _yes_or_no(text, language)
    found = reading(item, text, language)
    if found is not None:  # a parser read it: one option answers, several are asked about
        return found[0] if len(found) == 1 else None
    code = parse_choice(text, [o.code for o in item.options], language)
    if code is not None:
        return code
    yes_no = parse_yes_no(text, language)  # "yes" agrees, "no" disagrees
    if yes_no is not None:
        matching = [o.code for o in item.options if o.affirms is yes_no]
        if len(matching) == 1:
            return matching[0]
    return None


def candidates(item: Item, value: Any, language: str) -> List[str]:
    """When ``value`` could not be read, the two or three options it may mean (a duration on a
    band's border, "about 50", "sort of", "not too bad", "all along my spine"), for a short
    question with just those buttons; else none."""
    if value is None or item.kind != "choice" or item.is_valid_value(value):
        return []
    found = reading(item, str(value), language)
    return found if found is not None and len(found) > 1 else []
