"""Immutable descriptions of questionnaire items, read from clinician-editable data files."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Optional, Tuple

ItemKind = Literal["boolean", "choice", "integer"]


@dataclass(frozen=True)
class Option:
    """One answer option of a choice item; ``code`` is what gets stored, ``label`` a msgid."""

    code: str
    label: str
    score: Optional[int] = None
    # For agree/disagree style items a plain "yes"/"no" picks this option.
    affirms: Optional[bool] = None


@dataclass(frozen=True)
class Item:
    """One question. ``id`` doubles as the Rasa slot name and the FHIR ``linkId``."""

    id: str
    kind: ItemKind
    text: str
    why: str
    questionnaire: str
    options: Tuple[Option, ...] = ()
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    intro: Tuple[str, ...] = ()
    # A short name (msgid), where a list shows the item without its question (red flags in a care plan).
    short: Optional[str] = None
    # The instrument's intro, shown before whichever of its items a patient is asked first.
    section_intro: Tuple[str, ...] = ()
    sites: Optional[Tuple[str, ...]] = None
    loinc: Optional[str] = None
    subscale: bool = False
    # Asked only when every earlier answer named here is one of the listed values.
    when: Tuple[Tuple[str, Tuple[Any, ...]], ...] = ()
    # Never asked: the value follows from another item's answer (code -> value), so a patient is
    # not asked the same thing twice (e.g. "6 months or more" from the episode duration).
    derived_from: Optional[str] = None
    derived_map: Tuple[Tuple[str, Any], ...] = ()
    # Points per answer for instruments scored from data: option code, "true"/"false", or an
    # integer range "a-b" -> points.
    scoring: Tuple[Tuple[str, int], ...] = ()

    def option(self, code: str) -> Optional[Option]:
        return next((o for o in self.options if o.code == code), None)

    def is_valid_value(self, value: object) -> bool:
        """Whether ``value`` is already a canonical answer for this item."""
        if self.kind == "boolean":
            return isinstance(value, bool)
        if self.kind == "integer":
            return (
                isinstance(value, int)
                and not isinstance(value, bool)
                and self.minimum is not None
                and self.maximum is not None
                and self.minimum <= value <= self.maximum
            )
        return isinstance(value, str) and self.option(value) is not None

    def value_of(self, code: str) -> Any:
        """The canonical value of a stored answer code (the inverse of how answers are stored)."""
        if self.kind == "boolean":
            return code == "true"
        if self.kind == "integer":
            return int(code)
        return code

    def applies_to(self, pain_site: Optional[str]) -> bool:
        return self.sites is None or pain_site in self.sites

    def condition_met(self, answers: Mapping[str, Any]) -> bool:
        return all(answers.get(item_id) in values for item_id, values in self.when)

    def derive(self, source_value: Any) -> Any:
        """This item's value given its source item's answer (None if the source is unanswered)."""
        return dict(self.derived_map).get(str(source_value) if not isinstance(source_value, bool)
                                          else ("true" if source_value else "false"))

    def points(self, value: Any) -> int:
        """Points of a canonical answer under ``scoring``; raises KeyError for an unscored answer."""
        key = ("true" if value else "false") if isinstance(value, bool) else str(value)
        table = dict(self.scoring)
        if key in table:
            return table[key]
        if isinstance(value, int) and not isinstance(value, bool):
            for band, points in self.scoring:
                low, _, high = band.partition("-")
                if high and int(low) <= value <= int(high):
                    return points
        raise KeyError(f"{self.id}: no points for {value!r}")


@dataclass(frozen=True)
class Questionnaire:
    """An instrument file: its items and the facts a clinician needs to trust it."""

    id: str
    source: str
    validated_wording: bool
    items: Tuple[Item, ...] = field(default_factory=tuple)
    copyright: Optional[str] = None
