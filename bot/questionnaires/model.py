"""Immutable descriptions of questionnaire items, read from clinician-editable data files."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Tuple

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
    # The instrument's intro, shown before whichever of its items a patient is asked first.
    section_intro: Tuple[str, ...] = ()
    sites: Optional[Tuple[str, ...]] = None
    loinc: Optional[str] = None
    subscale: bool = False

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

    def applies_to(self, pain_site: Optional[str]) -> bool:
        return self.sites is None or pain_site in self.sites


@dataclass(frozen=True)
class Questionnaire:
    """An instrument file: its items and the facts a clinician needs to trust it."""

    id: str
    source: str
    validated_wording: bool
    items: Tuple[Item, ...] = field(default_factory=tuple)
    copyright: Optional[str] = None
