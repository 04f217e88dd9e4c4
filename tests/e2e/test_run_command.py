"""`backtalk run` (what `make run` starts): everything comes up, answers a patient, and Ctrl-C
stops every process it started."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.paths import PROJECT_ROOT
from tests.e2e.servers import free_port, http

pytestmark = pytest.mark.e2e


def processes_with_env(marker: str) -> list[int]:
    """Pids whose environment carries ``marker`` (our unique data directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_run_starts_the_stack_and_ctrl_c_leaves_no_process(model: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / f"run-{os.getpid()}"
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "WEB_PORT": free_port()}
    env = {
        **os.environ, **{k: str(v) for k, v in ports.items()},
        "BACKTALK_DATA_DIR": str(data_dir), "RASA_TELEMETRY_ENABLED": "false",
        "RASA_AUTH_TOKEN": "t1", "ACTION_SERVER_TOKEN": "t2", "BACKTALK_PSEUDONYM_KEY": "t3",
        "BACKTALK_ENCRYPTION_KEY": "t4", "TELEGRAM_BOT_TOKEN": "",  # empty: no Telegram channel, even if .env has one
        "DATABASE_URL": f"sqlite:///{data_dir / 'backtalk.db'}",
    }
    env.pop("REDIS_URL", None)
    run = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=PROJECT_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        assert run.stdout is not None
        for line in run.stdout:
            lines.append(line)
            if "BackTalk is up" in line or "exited with" in line:
                break
        assert any("BackTalk is up" in line for line in lines), "".join(lines[-40:])
        assert any(f"http://localhost:{ports['WEB_PORT']}/chat" in line for line in lines)
        status, body = http("POST", f"http://127.0.0.1:{ports['WEB_PORT']}/api/chat",
                            {"conversation_id": "run-test-0001", "message": "hi", "language": "en-GB"})
        assert status == 200 and len(body["messages"]) == 3
        assert processes_with_env(str(data_dir)), "the services should be running"
    finally:
        run.send_signal(signal.SIGINT)
        rest, _ = run.communicate(timeout=60)
    assert run.returncode == 0, rest[-2000:]
    assert "stopped" in rest
    assert processes_with_env(str(data_dir)) == []
    for port in ports.values():
        with pytest.raises(OSError):
            http("GET", f"http://127.0.0.1:{port}/", timeout=2)
