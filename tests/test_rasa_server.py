"""rasa_server's jsonschema.validate: the same verdicts as jsonschema's own, with the schema's
meta-check done once (the cost profiling found; rasa_server/__main__.py)."""
from __future__ import annotations

import jsonschema
import pytest
from jsonschema import SchemaError, ValidationError

import rasa_server.__main__ as launcher

# The shape of Rasa's action server response schema, abridged.
SCHEMA = {
    "type": "object",
    "properties": {
        "events": {"type": "array", "items": {"type": "object", "properties": {"event": {"type": "string"}},
                                              "required": ["event"]}},
        "responses": {"type": "array", "items": {"type": "object"}},
    },
}
INSTANCES = [
    {"events": [{"event": "slot", "name": "sbt_1", "value": True}], "responses": [{"text": "hi"}]},
    {"events": [{"name": "sbt_1"}]},  # an event without its type
    {"events": "not a list"},
    {"responses": [1]},
]


def verdict(validate, instance):  # type: ignore[no-untyped-def]
    try:
        validate(instance, SCHEMA)
        return None
    except ValidationError as error:
        return (error.message, list(error.absolute_path))


@pytest.mark.parametrize("instance", INSTANCES)
def test_same_verdict_and_error_as_jsonschema(instance: dict) -> None:
    assert verdict(launcher.validate, instance) == verdict(jsonschema.validate, instance)


def test_the_schema_is_checked_once_and_a_bad_schema_still_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "_checked", set())
    cls = jsonschema.validators.validator_for(SCHEMA)
    calls = []
    original = cls.check_schema
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s: calls.append(s) or original(s)))
    for instance in INSTANCES[:1] * 5:
        launcher.validate(instance, dict(SCHEMA))  # a new dict each time, as Rasa builds it
    assert len(calls) == 1
    with pytest.raises(SchemaError):
        launcher.validate({}, {"type": 12})



def test_a_tracker_store_error_fails_the_turn_instead_of_starting_an_empty_conversation() -> None:
    """Rasa's FailSafeTrackerStore as rasa_server builds it: a database error reaches Rasa (which
    then answers nothing, and the channel asks the patient to send again) instead of an empty
    in-memory tracker that would greet the patient as a stranger."""
    import asyncio

    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
    from rasa.shared.core.domain import Domain

    class DatabaseDown(InMemoryTrackerStore):
        async def retrieve(self, sender_id):  # type: ignore[no-untyped-def]
            raise ConnectionError("database is down")

        async def save(self, tracker):  # type: ignore[no-untyped-def]
            raise ConnectionError("database is down")

    domain = Domain.empty()
    assert asyncio.run(FailSafeTrackerStore(DatabaseDown(domain)).retrieve("patient")) is None  # Rasa's default
    strict = FailSafeTrackerStore(DatabaseDown(domain), on_tracker_store_error=launcher.refuse)
    with pytest.raises(ConnectionError):
        asyncio.run(strict.retrieve("patient"))


def test_the_sqlite_tracker_store_keeps_its_connections_and_skips_the_fsync_per_turn(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """rasa_server/tracker_speed.py: Rasa's own SQL tracker store, built as `rasa run` builds it,
    gets a pooled engine whose connections use WAL with synchronous=NORMAL, and a conversation
    saved there loads back event for event."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy import text
    from sqlalchemy.pool import QueuePool

    from rasa_server import tracker_speed

    tracker_speed.install()
    domain = Domain.from_dict({"slots": {"pain_now": {"type": "any", "mappings": [{"type": "custom"}]}}})
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    assert isinstance(store.engine.pool, QueuePool)
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == tracker_speed.BUSY_TIMEOUT_MS
    events = [ActionExecuted("action_listen"), UserUttered("4", {"name": "answer"}), SlotSet("pain_now", 4)]
    asyncio.run(store.save(DialogueStateTracker.from_events("p-1", events, domain.slots)))
    loaded = asyncio.run(store.retrieve("p-1"))
    assert loaded is not None and list(loaded.events)[-3:] == events
    assert loaded.get_slot("pain_now") == 4


def test_remembered_event_classes_are_rasas_own_and_unknown_types_still_fail() -> None:
    from rasa.shared.core import events
    from rasa.shared.utils.common import all_subclasses

    from rasa_server.tracker_speed import remembering_resolver

    original = events.Event.resolve_by_type
    resolve = remembering_resolver(original)
    for cls in all_subclasses(events.Event):
        assert resolve(cls.type_name) is original(cls.type_name)
        assert resolve(cls.type_name) is original(cls.type_name)  # the remembered answer
    with pytest.raises(ValueError):
        resolve("no_such_event")
    assert resolve("no_such_event", events.SlotSet) is events.SlotSet
    assert resolve("topic") is None


def test_rasa_keeps_its_own_engine_settings_for_postgresql() -> None:
    from rasa.core.tracker_store import create_engine_kwargs

    from rasa_server.tracker_speed import pooled_engine_kwargs

    url = "postgresql://postgres@127.0.0.1:5432/test"
    assert pooled_engine_kwargs(create_engine_kwargs)(url) == create_engine_kwargs(url)
    assert pooled_engine_kwargs(create_engine_kwargs)("sqlite:///:memory:") == {}
