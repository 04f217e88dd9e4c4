"""One real stack per backend for the e2e module: SQLite (embedded default) and PostgreSQL with
the Redis lock store (production parts), both over real connections."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy

from tests.conftest import POSTGRES_URL, make_settings
from tests.e2e.servers import RunningStack

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module", params=["sqlite", "postgresql+redis"])
def stack(request: pytest.FixtureRequest, model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    data_dir = tmp_path_factory.mktemp("stack")
    database = None
    if request.param == "sqlite":
        config = make_settings(f"sqlite:///{data_dir / 'backtalk.db'}", data_dir)
    else:
        database = f"bt_e2e_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
        url = sqlalchemy.engine.make_url(POSTGRES_URL).set(database=database)
        config = make_settings(url.render_as_string(hide_password=False), data_dir)
        config = type(config)(**{**config.__dict__, "redis_url": REDIS_URL})
    from bot.store.migrate import upgrade

    upgrade(config.database_url)
    running = RunningStack(config=config, model=model, with_web=True).start()
    yield running
    running.stop()
    if database:
        from bot.store.db import engine_for

        engine_for(config.database_url).dispose()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE "{database}" WITH (FORCE)'))
        admin.dispose()
