"""The encrypted chat mapping and /forget's erasure, on SQLite and on the real PostgreSQL server."""
from __future__ import annotations

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import inspect, select, text

from bot.config import Settings
from bot.privacy.pseudonym import is_pseudonym, pseudonymise
from bot.store.db import engine_for, session_scope
from bot.store.migrate import downgrade, upgrade
from bot.store.models import TelegramChat, TriageSession
from bot.telegram.chats import ChatCipher, ChatDirectory, telegram_pseudonym, telegram_sender, valid_clinic_code
from bot.telegram.forget import erase_chat
from bot.triage.service import TriageService
from tests.test_store import LOW_RISK, answer_all

CHAT_ID = 5550123456789


def directory(settings: Settings) -> ChatDirectory:
    return ChatDirectory(settings.database_url, settings.pseudonym_key, settings.encryption_key)


def test_the_chat_id_is_encrypted_and_decrypts_only_with_its_key() -> None:
    cipher = ChatCipher(b"one secret")
    token = cipher.encrypt(CHAT_ID)
    assert str(CHAT_ID) not in token
    assert token != cipher.encrypt(CHAT_ID)  # a fresh IV each time: the ciphertext identifies nobody
    assert cipher.decrypt(token) == CHAT_ID
    with pytest.raises(InvalidToken):
        ChatCipher(b"another secret").decrypt(token)
    with pytest.raises(InvalidToken):
        cipher.decrypt(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    with pytest.raises(ValueError):
        ChatCipher(b"")


def test_the_pseudonym_is_the_keyed_hmac_of_the_telegram_chat() -> None:
    pseudonym = telegram_pseudonym(CHAT_ID, b"k")
    sender = telegram_sender(CHAT_ID, b"k")
    assert sender == pseudonymise(f"telegram:{CHAT_ID}", b"k") and is_pseudonym(sender)
    assert pseudonym == pseudonymise(sender, b"k") != sender and is_pseudonym(pseudonym)
    assert str(CHAT_ID) not in pseudonym and pseudonym != telegram_pseudonym(CHAT_ID, b"other")


@pytest.mark.parametrize("value, valid", [
    ("clinic42", True), ("Clinic_North-2", True), ("a" * 64, True),
    ("a" * 65, False), ("", False), (None, False), ("clinic 42", False), ("klinik-ø", False), ("x;drop", False),
])
def test_clinic_codes_are_validated(value, valid) -> None:  # type: ignore[no-untyped-def]
    assert valid_clinic_code(value) == (value if valid else None)


def test_the_mapping_stores_no_raw_chat_id(settings: Settings) -> None:
    chats = directory(settings)
    pseudonym = chats.remember(CHAT_ID, language_hint="de-AT", clinic_code="clinic42")
    with session_scope(settings.database_url) as db:
        row = db.get(TelegramChat, pseudonym)
        assert (row.clinic_code, row.language_code) == ("clinic42", "de-AT")
        assert str(CHAT_ID) not in row.chat_id_encrypted and str(CHAT_ID) not in row.pseudonym
        stored = " ".join(str(v) for v in db.execute(text("SELECT * FROM telegram_chats")).one())
    assert str(CHAT_ID) not in stored
    assert chats.chat_id(pseudonym) == CHAT_ID
    other_key = ChatDirectory(settings.database_url, settings.pseudonym_key, b"another key")
    with pytest.raises(InvalidToken):
        other_key.chat_id(pseudonym)


def test_remember_keeps_what_it_is_not_told_and_a_chosen_language_wins(settings: Settings) -> None:
    chats = directory(settings)
    pseudonym = chats.remember(CHAT_ID, language_hint="en", clinic_code="clinic42")
    assert chats.remember(CHAT_ID, language_hint="fr") == pseudonym
    record = chats.get(pseudonym)
    assert (record.clinic_code, record.language_code) == ("clinic42", "en")
    chats.remember(CHAT_ID, language_hint="en", chosen_language="de")
    chats.remember(CHAT_ID, language_hint="en", clinic_code="other_clinic")
    record = chats.get(pseudonym)
    assert (record.clinic_code, record.language_code) == ("other_clinic", "de")
    assert chats.get(telegram_pseudonym(CHAT_ID + 1, settings.pseudonym_key)) is None


def test_erasure_removes_triages_rasa_events_and_the_mapping_and_counts_them(settings: Settings) -> None:
    chats = directory(settings)
    pseudonym = chats.remember(CHAT_ID, language_hint="en")
    other = chats.remember(CHAT_ID + 1, language_hint="en")
    sender, other_sender = chats.sender(CHAT_ID), chats.sender(CHAT_ID + 1)
    service = TriageService(settings)  # the action server: Rasa's sender id in, the pseudonym stored
    answer_all(service, sender, LOW_RISK)
    service.finish(sender, LOW_RISK, "en")
    answer_all(service, other_sender, LOW_RISK)
    # Rasa's SQL tracker store table, as Rasa creates it (the columns this code relies on)
    with engine_for(settings.database_url).begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, data TEXT)"))
        for n, sender in enumerate([sender] * 5 + [other_sender] * 2):
            connection.execute(text("INSERT INTO events (id, sender_id, data) VALUES (:i, :s, '{}')"), {"i": n, "s": sender})
    try:
        erased = erase_chat(settings.database_url, pseudonym)
        assert (erased.triages, erased.events, erased.chat_link) == (1, 5, True)
        with session_scope(settings.database_url) as db:
            assert db.execute(select(TriageSession).where(TriageSession.pseudonym == pseudonym)).first() is None
            assert db.get(TelegramChat, pseudonym) is None
            senders = [r[0] for r in db.execute(text("SELECT sender_id FROM events"))]
            assert senders == [other_sender, other_sender]
            assert db.get(TelegramChat, other) is not None  # the other chat is untouched
            assert len(db.execute(select(TriageSession).where(TriageSession.pseudonym == other)).all()) == 1
        again = erase_chat(settings.database_url, pseudonym)
        assert not again.anything
    finally:
        with engine_for(settings.database_url).begin() as connection:
            connection.execute(text("DROP TABLE events"))


def test_erasure_works_before_rasa_created_its_table(settings: Settings) -> None:
    chats = directory(settings)
    pseudonym = chats.remember(CHAT_ID)
    erased = erase_chat(settings.database_url, pseudonym)
    assert (erased.triages, erased.events, erased.chat_link) == (0, 0, True)


def test_the_migration_creates_and_removes_telegram_chats(database_url: str) -> None:
    upgrade(database_url)
    assert "telegram_chats" in inspect(engine_for(database_url)).get_table_names()
    downgrade(database_url, "0001")
    tables = set(inspect(engine_for(database_url)).get_table_names())
    assert "telegram_chats" not in tables and "triage_sessions" in tables
    upgrade(database_url)


def test_the_models_match_the_migrations(database_url: str) -> None:
    """Alembic's autogenerate finds nothing to add: the model and migration 0002 agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.store.models import metadata

    upgrade(database_url)
    with engine_for(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": lambda name, type_, parents: type_ != "table" or name in metadata.tables})
        diff = compare_metadata(context, metadata)
    assert diff == [], diff
