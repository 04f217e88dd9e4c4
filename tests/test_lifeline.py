"""bot/lifeline.py: a service ends when its supervisor is killed (by the kernel's parent-death signal
and, separately, by the portable watchdog), and a taken port is named with the process holding it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.lifeline import SUPERVISOR_PID_ENV, port_holder, port_is_free, taken_ports

# A stand-in supervisor: starts one "service" that calls watch_supervisor(), prints its pid, waits.
SUPERVISOR = textwrap.dedent("""
    import os, subprocess, sys, threading
    service = subprocess.Popen([sys.executable, "-c", sys.argv[1]], start_new_session=True,
                               env={**os.environ, %(env)r: str(os.getpid())} if sys.argv[2] == "named" else os.environ)
    print(service.pid, flush=True)
    threading.Event().wait()
""") % {"env": SUPERVISOR_PID_ENV}
SERVICE = textwrap.dedent("""
    import signal, sys, threading
    import bot.lifeline as lifeline
    if %(watchdog_only)r:
        lifeline.set_parent_death_signal = lambda *args: False
    lifeline.watch_supervisor(poll=0.2)
    threading.Event().wait()
""")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for a process to end, bounded by the deadline
    return not alive(pid)


def start(watchdog_only: bool, named: bool = True) -> tuple[subprocess.Popen, int]:
    service = SERVICE % {"watchdog_only": watchdog_only}
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, service, "named" if named else "unnamed"],
                                  stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert supervisor.stdout is not None
    return supervisor, int(supervisor.stdout.readline())


@pytest.mark.parametrize("watchdog_only", [False, True], ids=["parent-death signal", "watchdog"])
def test_a_service_ends_when_its_supervisor_is_killed(watchdog_only: bool) -> None:
    supervisor, service = start(watchdog_only)
    try:
        assert alive(service)
        supervisor.kill()
        supervisor.wait(10)
        assert wait_until_gone(service, 20), "the service outlived its supervisor"
    finally:
        if alive(service):
            os.kill(service, signal.SIGKILL)


def test_a_service_started_without_a_supervisor_keeps_running() -> None:
    """The control: with no supervisor named, nothing ends it (so the test above measures the lifeline)."""
    supervisor, service = start(watchdog_only=False, named=False)
    try:
        supervisor.kill()
        supervisor.wait(10)
        assert not wait_until_gone(service, 1.5)
    finally:
        os.kill(service, signal.SIGKILL)
        wait_until_gone(service, 10)


def test_a_taken_port_names_its_holder() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert not port_is_free(port)
        assert port_holder(port)[0] == os.getpid()
        [taken] = taken_ports({"WEB_PORT": ("127.0.0.1", port)})
        assert taken.message().startswith(f"port {port} (WEB_PORT) is already in use by pid {os.getpid()} (")
        assert "WEB_PORT=" in taken.message()
    assert port_is_free(port) and taken_ports({"WEB_PORT": ("127.0.0.1", port)}) == []
