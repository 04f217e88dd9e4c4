"""`backtalk run` (what `make run` starts): everything comes up, answers a patient, and Ctrl-C
stops every process it started; killed with SIGKILL, it still leaves no service behind (each ends
with its supervisor, bot/lifeline.py); a taken port is named with its holder before anything starts."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

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


def run_environment(data_dir: Path, ports: Dict[str, int]) -> Dict[str, str]:
    env = {
        **os.environ, **{k: str(v) for k, v in ports.items()},
        "BACKTALK_DATA_DIR": str(data_dir), "RASA_TELEMETRY_ENABLED": "false",
        "RASA_AUTH_TOKEN": "t1", "ACTION_SERVER_TOKEN": "t2", "BACKTALK_PSEUDONYM_KEY": "t3",
        "BACKTALK_ENCRYPTION_KEY": "t4", "TELEGRAM_BOT_TOKEN": "",  # empty: no Telegram channel, even if .env has one
        "DATABASE_URL": f"sqlite:///{data_dir / 'backtalk.db'}",
    }
    env.pop("REDIS_URL", None)
    return env


def start_run(data_dir: Path, ports: Dict[str, int]) -> Tuple[subprocess.Popen, List[str]]:
    """`backtalk run` on ``ports``, read until it says it is up (or a service exited)."""
    run = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=PROJECT_ROOT, env=run_environment(data_dir, ports),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert run.stdout is not None
    for line in run.stdout:
        lines.append(line)
        if "BackTalk is up" in line or "exited with" in line:
            break
    return run, lines


def test_run_starts_the_stack_and_ctrl_c_leaves_no_process(model: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / f"run-{os.getpid()}"
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "WEB_PORT": free_port()}
    run, lines = start_run(data_dir, ports)
    try:
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


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended: only its exit status waits for a parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def port_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_kill_9_of_run_takes_every_service_with_it(model: Path, tmp_path: Path) -> None:
    """The supervisor cannot clean up after SIGKILL: its services must notice and end by themselves,
    so the next `make run` finds its ports free."""
    data_dir = tmp_path / f"kill-{os.getpid()}"
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "WEB_PORT": free_port()}
    run, lines = start_run(data_dir, ports)
    children: List[int] = []
    try:
        assert any("BackTalk is up" in line for line in lines), "".join(lines[-40:])
        children = processes_with_env(str(data_dir))
        # Rasa, the action server, bot.web and the worker (no Telegram without a token)
        assert len(children) >= 4, children
        assert all(port_listening(port) for port in ports.values())
        run.kill()
        run.wait(timeout=10)
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)  # polling for processes to end, bounded by the deadline
        assert [pid for pid in children if alive(pid)] == [], "services outlived their supervisor"
        assert not any(port_listening(port) for port in ports.values())
    finally:
        for pid in children:  # never leave a stray stack on the machine, whatever failed above
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if run.poll() is None:
            run.kill()
        run.communicate(timeout=30)


def test_a_taken_port_is_named_with_its_holder_before_anything_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / f"taken-{os.getpid()}"
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "WEB_PORT": free_port()}
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", ports["WEB_PORT"]))
        holder.listen()
        done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=PROJECT_ROOT,
                              env=run_environment(data_dir, ports), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert (f"port {ports['WEB_PORT']} (WEB_PORT) is already in use by pid {os.getpid()} "
            in done.stderr), done.stderr
    assert "RASA_PORT" not in done.stderr and "ACTION_PORT" not in done.stderr  # the free ones are not blamed
    assert processes_with_env(str(data_dir)) == []  # nothing was started
