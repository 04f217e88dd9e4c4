from __future__ import annotations

from hypothesis import given, strategies as st

from bot.privacy.pseudonym import is_pseudonym, pseudonymise
from bot.reference_code import ALPHABET, is_reference_code, new_reference_code


@given(st.text(min_size=1, max_size=80))
def test_pseudonyms_are_stable_keyed_and_hide_the_id(raw: str) -> None:
    first = pseudonymise(raw, b"key-1")
    assert first == pseudonymise(raw, b"key-1")
    assert first != pseudonymise(raw, b"key-2")
    assert is_pseudonym(first) and len(first) == 42


def test_pseudonymising_a_pseudonym_changes_nothing() -> None:
    once = pseudonymise("web:abc", b"k")
    assert pseudonymise(once, b"k") == once


def test_reference_codes_avoid_ambiguous_characters() -> None:
    assert not set("01OI") & set(ALPHABET)
    for _ in range(200):
        code = new_reference_code()
        assert is_reference_code(code) and len(code) == 12
    assert not is_reference_code("BT-0000-AAAA") and not is_reference_code("BT-ABCD-EFG")
