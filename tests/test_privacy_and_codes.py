from __future__ import annotations

from hypothesis import given, strategies as st

from bot.privacy.pseudonym import channel_sender, is_pseudonym, pseudonymise
from bot.reference_code import ALPHABET, is_reference_code, new_reference_code


@given(st.text(min_size=1, max_size=80))
def test_pseudonyms_are_stable_keyed_and_hide_the_id(raw: str) -> None:
    first = pseudonymise(raw, b"key-1")
    assert first == pseudonymise(raw, b"key-1")
    assert first != pseudonymise(raw, b"key-2")
    assert is_pseudonym(first) and len(first) == 42


@given(st.text(min_size=1, max_size=80))
def test_pseudonymising_is_one_way_for_pseudonyms_too(raw: str) -> None:
    """A pseudonym given as input is hashed like any id (no pass-through): knowing a patient's
    pseudonym does not let anyone name that patient's conversation."""
    once = pseudonymise(raw, b"k")
    twice = pseudonymise(once, b"k")
    assert is_pseudonym(twice) and twice != once and twice != raw


def test_the_rasa_sender_and_the_stored_pseudonym_differ_and_are_derived_one_way() -> None:
    sender = channel_sender("web", "abc", b"k")
    assert sender == pseudonymise("web:abc", b"k") and channel_sender("telegram", "abc", b"k") != sender
    assert pseudonymise(sender, b"k") not in (sender, pseudonymise("web:abc", b"k2"))


def test_reference_codes_avoid_ambiguous_characters() -> None:
    assert not set("01OI") & set(ALPHABET)
    for _ in range(200):
        code = new_reference_code()
        assert is_reference_code(code) and len(code) == 12
    assert not is_reference_code("BT-0000-AAAA") and not is_reference_code("BT-ABCD-EFG")
