"""The scaled-out shape as configuration: `backtalk run --workers N` and compose.yaml route each
conversation to one Rasa process and give every Rasa process an action server (docs/deployment.md).
compose.yaml is checked as data here; it was not run on the development machine (no Docker)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot import stack
from bot.paths import PROJECT_ROOT
from bot.rasa_endpoints import tracker_store
from tests.conftest import make_settings

COMPOSE = PROJECT_ROOT / "compose.yaml"


@pytest.fixture
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_workers_start_n_rasa_processes_two_action_servers_and_route_the_channels(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"RASA_PORT": "6005", "ACTION_PORT": "6055", "TELEGRAM_BOT_TOKEN": "123:abc"}.items():
        monkeypatch.setenv(name, value)
    config = make_settings(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    endpoints = tmp_path / "endpoints.yml"
    services = {s.name: s for s in stack.services(config, endpoints, workers=3)}
    assert sorted(services) == ["actions-1", "actions-2", "rasa-1", "rasa-2", "rasa-3", "telegram", "web", "worker"]
    assert [services[f"actions-{j}"].env["ACTION_PORT"] for j in (1, 2)] == ["6055", "6056"]
    for i, action in zip((1, 2, 3), (1, 2, 1)):
        command = services[f"rasa-{i}"].command
        assert command[command.index("--port") + 1] == str(6004 + i)
        assert command[command.index("--endpoints") + 1] == str(stack.worker_endpoints(endpoints, action))
        assert services[f"rasa-{i}"].ready_url.startswith(f"http://127.0.0.1:{6004 + i}/status")
    urls = "http://127.0.0.1:6005,http://127.0.0.1:6006,http://127.0.0.1:6007"
    assert services["web"].env == {"RASA_URL": urls} and services["telegram"].env == {"RASA_URL": urls}
    stack.write_worker_endpoints(config, endpoints)
    for j in (1, 2):
        written = yaml.safe_load(stack.worker_endpoints(endpoints, j).read_text())
        assert written["action_endpoint"]["url"] == f"http://127.0.0.1:{6054 + j}/webhook"
        assert written["tracker_store"] == tracker_store(config.database_url)


def test_one_worker_is_the_shape_make_run_always_had(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    services = stack.services(make_settings("sqlite://", tmp_path), tmp_path / "endpoints.yml")
    assert [s.name for s in services] == ["actions", "rasa", "web", "worker"]
    # the Rasa token reaches Rasa by environment, not on its command line (tests/test_rasa_token.py)
    assert {s.name: s.env for s in services if s.env} == {"rasa": {"RASA_AUTH_TOKEN": "test-rasa-token"}}


def test_compose_routes_every_rasa_process_and_gives_each_an_action_server(compose: dict) -> None:
    services = compose["services"]
    rasas = sorted(name for name in services if re.fullmatch(r"rasa-\d+", name))
    actions = sorted(name for name in services if re.fullmatch(r"actions-\d+", name))
    assert len(rasas) >= 2 and len(actions) == stack.SCALED_ACTION_SERVERS
    expected_urls = ",".join(f"http://{name}:5005" for name in rasas)
    for name in ("web", "telegram"):
        assert services[name]["environment"]["RASA_URL"] == expected_urls
        assert set(rasas) <= set(services[name]["depends_on"])
    used = set()
    for name in rasas:
        service = services[name]
        url = service["environment"]["ACTION_SERVER_URL"]
        host = re.fullmatch(r"http://(actions-\d+):5055/webhook", url).group(1)
        assert host in actions
        used.add(host)
        script = " ".join(service["command"])
        assert "python -m rasa_server run" in script and "--port 5005" in script and "RASA_AUTH_TOKEN" not in script
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")  # the lock store
        assert "postgres" in service["depends_on"] and "ports" not in service  # only on the compose network
    assert used == set(actions)


def test_compose_stores_and_start_order(compose: dict) -> None:
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:") and "postgres-data" in compose["volumes"]
    assert services["redis"]["command"][:3] == ["redis-server", "--save", ""]
    assert services["migrate"]["command"] == ["python", "-m", "bot.cli", "db", "upgrade"]
    for name, service in services.items():
        if name in ("postgres", "redis", "migrate"):
            continue
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://backtalk:"), name
        assert service["environment"]["BACKTALK_ENV"] == "production", name
    assert [name for name, s in services.items() if "ports" in s] == ["web"]
    assert services["telegram"]["profiles"] == ["telegram"]
    assert services["actions-1"]["environment"]["ACTION_HOST"] == "0.0.0.0"


def test_the_image_installs_from_the_lock_file_and_carries_the_models() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.10" in dockerfile
    assert "--constraint requirements.lock" in dockerfile and "pip check" in dockerfile
    assert "rasa train --fixed-model-name backtalk --out models" in dockerfile
    assert "predictor train --synthetic" in dockerfile and "\nUSER backtalk\n" in dockerfile
