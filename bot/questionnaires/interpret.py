"""Turning what a patient sent (a button code or typed words) into an item's canonical value."""
from __future__ import annotations

import re
from typing import Any, List, Optional, Union

from bot.i18n.answers import parse_choice, parse_number, parse_yes_no
from bot.i18n.durations import duration_bands
from bot.questionnaires.model import Item

Canonical = Union[bool, int, str]


_BAND = re.compile(r"^(\d+)_(?:to_(\d+)|or_over)$")


def _band_of_number(item: Item, text: str, language: str) -> Optional[str]:
    """For banded options ("40_to_49", "70_or_over"), a typed number picks its band: "I'm 52" is
    understood, and only the band is kept (never the age itself)."""
    bands = []
    for option in item.options:
        match = _BAND.match(option.code)
        if match is None:
            return None
        low = int(match.group(1))
        bands.append((low, int(match.group(2)) if match.group(2) else 200, option.code))
    if not bands:
        return None
    number = parse_number(text, min(b[0] for b in bands), max(b[1] for b in bands), language)
    return next((code for low, high, code in bands if number is not None and low <= number <= high), None)


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
    durations = duration_bands(text, [o.code for o in item.options], language)
    if durations is not None:  # a duration was read: one band answers, several are asked about
        return durations[0] if len(durations) == 1 else None
    code = parse_choice(text, [o.code for o in item.options], language)
    if code is not None:
        return code
    band = _band_of_number(item, text, language)
    if band is not None:
        return band
    yes_no = parse_yes_no(text, language)  # "yes" agrees, "no" disagrees
    if yes_no is not None:
        matching = [o.code for o in item.options if o.affirms is yes_no]
        if len(matching) == 1:
            return matching[0]
    return None


def candidates(item: Item, value: Any, language: str) -> List[str]:
    """When ``value`` could not be read, the two or more options it may mean (a duration on a
    band's border, or a vague one), for a short question with just those buttons; else none."""
    if value is None or item.kind != "choice" or item.is_valid_value(value):
        return []
    bands = duration_bands(str(value), [o.code for o in item.options], language)
    return bands if bands is not None and len(bands) > 1 else []
