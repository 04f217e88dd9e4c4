"""Turning what a patient sent (a button code or typed words) into an item's canonical value."""
from __future__ import annotations

from typing import Any, Optional, Union

from bot.i18n.answers import parse_choice, parse_number, parse_yes_no
from bot.questionnaires.model import Item

Canonical = Union[bool, int, str]


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
        return parse_yes_no(text, language)
    code = parse_choice(text, [o.code for o in item.options], language)
    if code is not None:
        return code
    yes_no = parse_yes_no(text, language)  # "yes" agrees, "no" disagrees
    if yes_no is not None:
        matching = [o.code for o in item.options if o.affirms is yes_no]
        if len(matching) == 1:
            return matching[0]
    return None
