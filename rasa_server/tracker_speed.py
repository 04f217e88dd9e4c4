"""Cheaper tracker loads and saves in the Rasa process: the two costs profiling found next.

Profiling the Rasa server during 20 concurrent triages on the embedded SQLite default (py-spy,
benchmarks/README.md) put 54 % of message handling into the SQL tracker store: loading a
conversation (28 %) and saving it (25 %). Three parts of that repeat work that changes nothing:

- **A new SQLite connection per load and per save.** SQLAlchemy 1.4 gives a file database a
  ``NullPool``: every ``session.close()`` closes the file, and the next turn opens it, reads its
  schema and sets up again (8 % on its own). Here Rasa's engine gets a ``QueuePool`` for a SQLite
  file, as SQLAlchemy 2 does by default; PostgreSQL keeps Rasa's own pool settings.
- **An fsync per commit.** SQLite's default journal with ``synchronous=FULL`` syncs the disk on
  every save (18 %). Each connection here uses write-ahead logging with ``synchronous=NORMAL``:
  a commit is still atomic and survives the process being killed (the fault tests kill -9 it);
  only a power cut or kernel crash can lose the last turns before the next checkpoint. That is
  the embedded default's trade-off; production runs on PostgreSQL (docs/deployment.md). A busy
  timeout lets two Rasa processes share one file instead of failing with "database is locked".
- **Finding each event's class by walking the class tree.** ``Event.resolve_by_type`` lists all
  subclasses of ``Event`` (recursively, checking each for abstractness) for *every* stored event
  it deserialises: 7 % of message handling for a conversation of a few hundred events. Here the
  answer is remembered per type name; a type name it has not seen still takes Rasa's own path,
  so unknown events fail exactly as before.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Callable, Dict, Optional, Type, Union

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

BUSY_TIMEOUT_MS = 30_000


def is_sqlite_file(url: Union[str, URL]) -> bool:
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def pooled_engine_kwargs(original: Callable[[Any], Dict[str, Any]]) -> Callable[[Any], Dict[str, Any]]:
    """Rasa's ``create_engine_kwargs`` with a connection pool for a SQLite file."""

    def engine_kwargs(url: Union[str, URL]) -> Dict[str, Any]:
        kwargs = dict(original(url))
        if is_sqlite_file(url):
            # Rasa's tracker store runs on the event loop's thread, but a pooled connection may be
            # handed to another thread later; the pool gives each checkout to one user at a time.
            kwargs.update(poolclass=QueuePool, connect_args={"check_same_thread": False})
        return kwargs

    return engine_kwargs


def tune_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """WAL, ``synchronous=NORMAL`` and a busy timeout on every new SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def remembering_resolver(original: Callable[..., Optional[Type[Any]]]) -> Callable[..., Optional[Type[Any]]]:
    """``Event.resolve_by_type`` that walks the class tree once per type name."""
    known: Dict[str, Type[Any]] = {}

    def resolve_by_type(type_name: str, default: Optional[Type[Any]] = None) -> Optional[Type[Any]]:
        cls = known.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default:
                known[type_name] = cls
        return cls

    return resolve_by_type


def install() -> None:
    """Apply the three changes; called by ``python -m rasa_server`` before Rasa starts."""
    import rasa.core.tracker_store as tracker_store
    from rasa.shared.core.events import Event

    tracker_store.create_engine_kwargs = pooled_engine_kwargs(tracker_store.create_engine_kwargs)
    if not event.contains(Engine, "connect", tune_sqlite_connection):
        event.listen(Engine, "connect", tune_sqlite_connection)
    Event.resolve_by_type = staticmethod(remembering_resolver(Event.resolve_by_type))  # type: ignore[assignment]
