"""`make run`: train when the data changed, then run Rasa, the action server and bot.web together,
with prefixed logs, and stop all of them (whole process groups) on Ctrl-C or when one dies.

Every service is told the supervisor's pid and ends when the supervisor does, even when it is killed
with SIGKILL and can stop nothing itself (bot/lifeline.py); before anything starts, each port is
checked and a taken one is named with the program holding it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bot.config import Settings, settings
from bot.lifeline import SUPERVISOR_PID_ENV, TakenPort, taken_ports
from bot.paths import PROJECT_ROOT
from bot.rasa_client import auth_headers
from bot.rasa_endpoints import write_endpoints

STOP_GRACE_SECONDS = 15
MODEL_DIR = PROJECT_ROOT / "models"
MODEL_NAME = "backtalk"
# With several Rasa processes (`--workers N`), two action servers: actions are stateless, so one can
# die or restart while the other serves; each Rasa process uses one of them (process i: i mod 2).
SCALED_ACTION_SERVERS = 2


@dataclass
class Service:
    name: str
    command: List[str]
    ready_url: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)  # added to the supervisor's environment
    ready_headers: Dict[str, str] = field(default_factory=dict)  # e.g. Rasa's token, never in the URL


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def train_command(model_dir: Path = MODEL_DIR) -> List[str]:
    """Rasa's fingerprinting makes this a no-op when config, domain and data are unchanged."""
    return [venv_bin("rasa"), "train", "--fixed-model-name", MODEL_NAME, "--out", str(model_dir)]


def rasa_command(config: Settings, endpoints: Path, host: str, port: int, model: Path) -> List[str]:
    # rasa_server is `rasa run` without a repeated JSON-schema meta-check (see rasa_server/__main__.py);
    # it takes the token from RASA_AUTH_TOKEN, so the command line (ps, /proc) does not show it.
    return [
        sys.executable, "-m", "rasa_server", "run", "--enable-api",
        "--interface", host, "--port", str(port), "--model", str(model),
        "--endpoints", str(endpoints), "--credentials", str(PROJECT_ROOT / "credentials.yml"),
    ]


def worker_endpoints(endpoints: Path, index: int) -> Path:
    """Rasa's endpoints file for the Rasa processes that use action server ``index`` (1-based)."""
    return endpoints.with_name(f"{endpoints.stem}-{index}{endpoints.suffix}")


def write_worker_endpoints(config: Settings, endpoints: Path) -> None:
    """One endpoints file per action server, differing only in the action server's URL."""
    action_port = config.action_port
    for index in range(1, SCALED_ACTION_SERVERS + 1):
        url = f"http://127.0.0.1:{action_port + index - 1}/webhook"
        write_endpoints(config.copy(update={"action_server_url": url}), worker_endpoints(endpoints, index))


def services(config: Settings, endpoints: Path, workers: int = 1) -> List[Service]:
    """What `backtalk run` supervises. With ``workers`` > 1: Rasa processes ``rasa-1`` … on
    consecutive ports from RASA_PORT, two action servers on ACTION_PORT and the next port, and the
    channels given every Rasa URL (RASA_URL, comma-separated) to route each conversation to one."""
    rasa_port = config.rasa_port
    web_port = config.web_port
    model = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
    host = config.rasa_host
    rasa_ports = [rasa_port + i for i in range(workers)]
    channel_env: Dict[str, str] = {}
    if workers == 1:
        result = [
            Service("actions", [sys.executable, "-m", "actions"]),
            Service(
                "rasa",
                rasa_command(config, endpoints, host, rasa_port, model),
                # /status answers 409 until the model is loaded
                ready_url=f"http://127.0.0.1:{rasa_port}/status", ready_headers=auth_headers(config.rasa_auth_token),
                env={"RASA_AUTH_TOKEN": config.rasa_auth_token},
            ),
        ]
    else:
        action_port = config.action_port
        result = [
            Service(f"actions-{j}", [sys.executable, "-m", "actions"], env={"ACTION_PORT": str(action_port + j - 1)})
            for j in range(1, SCALED_ACTION_SERVERS + 1)
        ]
        result += [
            Service(
                f"rasa-{i}",
                rasa_command(config, worker_endpoints(endpoints, (i - 1) % SCALED_ACTION_SERVERS + 1), host, port, model),
                ready_url=f"http://127.0.0.1:{port}/status", ready_headers=auth_headers(config.rasa_auth_token),
                env={"RASA_AUTH_TOKEN": config.rasa_auth_token},
            )
            for i, port in enumerate(rasa_ports, start=1)
        ]
        channel_env = {"RASA_URL": ",".join(f"http://127.0.0.1:{port}" for port in rasa_ports)}
    result += [
        Service("web", [sys.executable, "-m", "bot.web"], ready_url=f"http://127.0.0.1:{web_port}/healthz",
                env=channel_env),
        # clinic notifications from the outbox; idles (and says so) when no channel is configured
        Service("worker", [sys.executable, "-m", "bot.notify"]),
    ]
    if config.telegram_bot_token:
        result.append(Service("telegram", [sys.executable, "-m", "bot.telegram"], env=channel_env))
    return result


def service_ports(workers: int = 1) -> Dict[str, Tuple[str, int]]:
    """Every (host, port) `backtalk run` will listen on, by the setting that chose it."""
    config = settings(require_secrets=False)
    rasa, action = (config.rasa_host, config.rasa_port), (config.action_host, config.action_port)
    ports = {"RASA_PORT": rasa, "ACTION_PORT": action}
    if workers > 1:
        ports.update({f"RASA_PORT+{i}": (rasa[0], rasa[1] + i) for i in range(1, workers)})
        ports.update({f"ACTION_PORT+{j}": (action[0], action[1] + j) for j in range(1, SCALED_ACTION_SERVERS)})
    ports["WEB_PORT"] = (config.web_host, config.web_port)
    return ports


def ports_taken(workers: int = 1) -> List[TakenPort]:
    """The ports a service of this stack could not listen on now (checked before training, which is slow)."""
    return taken_ports(service_ports(workers))


class Supervisor:
    def __init__(self, services: List[Service]) -> None:
        self.services = services
        self.processes: Dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()
        self.print_lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        with self.print_lock:
            sys.stdout.write(f"[{name:>7}] {line}")
            if not line.endswith("\n"):
                sys.stdout.write("\n")
            sys.stdout.flush()

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            self.say(name, raw.decode("utf-8", "replace"))

    def start(self) -> None:
        """Start every service. Call it from the main thread: Linux's parent-death signal fires when
        the *thread* that forked a child ends (bot/lifeline.py), and the main thread ends only with
        the supervisor."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("fork services from the main thread (bot/lifeline.py)")
        supervisor = {SUPERVISOR_PID_ENV: str(os.getpid())}
        for service in self.services:
            process = subprocess.Popen(
                service.command,
                cwd=PROJECT_ROOT,
                env={**os.environ, **service.env, **supervisor},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches its children
            )
            self.processes[service.name] = process
            threading.Thread(target=self._pump, args=(service.name, process), daemon=True).start()

    def wait_ready(self, timeout: float = 300) -> bool:
        deadline = time.monotonic() + timeout
        pending = [s for s in self.services if s.ready_url]
        while pending and time.monotonic() < deadline and not self.stopping.is_set():
            if self.first_exited():
                return False
            for service in list(pending):
                try:
                    ready = urllib.request.Request(service.ready_url, headers=service.ready_headers)
                    with urllib.request.urlopen(ready, timeout=2):
                        pending.remove(service)
                except OSError:
                    pass
            if pending:
                self.stopping.wait(1)
        return not pending

    def first_exited(self) -> Optional[str]:
        return next((n for n, p in self.processes.items() if p.poll() is not None), None)

    def stop(self) -> None:
        self.stopping.set()
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in self.processes.items():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("stack", f"{name} did not stop in time; killing it")
            try:  # also reaps any child left in the group (e.g. a Sanic worker)
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def run(config: Settings, endpoints: Path, workers: int = 1) -> int:
    if workers > 1:
        write_worker_endpoints(config, endpoints)
    supervisor = Supervisor(services(config, endpoints, workers))

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    supervisor.start()
    try:
        if supervisor.wait_ready():
            supervisor.say("stack", f"BackTalk is up. Chat at http://localhost:{config.web_port}/chat  (Ctrl-C stops)")
            supervisor.say("stack", f"Rasa REST channel: http://localhost:{config.rasa_port}/webhooks/rest/webhook"
                                    + (f" (and the {workers - 1} next ports)" if workers > 1 else ""))
        while not supervisor.stopping.is_set():
            exited = supervisor.first_exited()
            if exited:
                supervisor.say("stack", f"{exited} exited with code {supervisor.processes[exited].returncode}; stopping")
                return 1
            supervisor.stopping.wait(0.5)
        return 0
    finally:
        supervisor.say("stack", "stopping all services")
        supervisor.stop()
        supervisor.say("stack", "stopped")
