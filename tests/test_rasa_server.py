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
