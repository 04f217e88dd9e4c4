"""Starts the real Rasa server, action server and bot.web on free ports, for end-to-end tests and
benchmarks; can kill them (SIGKILL, like a crash) and start them again on the same database."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot import stack
from bot.config import Settings
from bot.paths import PROJECT_ROOT
from bot.rasa_client import auth_headers
from bot.rasa_endpoints import write_endpoints

STARTUP_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_model(model_dir: Path = stack.MODEL_DIR) -> Path:
    """Train (a no-op when Rasa's fingerprint says nothing changed) and return the model file."""
    subprocess.run(stack.train_command(model_dir), cwd=PROJECT_ROOT, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    return model_dir / f"{stack.MODEL_NAME}.tar.gz"


def http(method: str, url: str, body: Any = None, timeout: float = 60,
         headers: Optional[Dict[str, str]] = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a server and everything it started (its own process group), like a crash, and reap
    it; one that has already gone is fine."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@dataclass
class RunningStack:
    config: Settings
    model: Path
    with_web: bool = False
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _env(self) -> Dict[str, str]:
        return {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "BACKTALK_DATA_DIR": str(self.config.data_dir),
            "DATABASE_URL": self.config.database_url,
            "RASA_AUTH_TOKEN": self.config.rasa_auth_token,
            "ACTION_SERVER_TOKEN": self.config.action_server_token,
            "BACKTALK_PSEUDONYM_KEY": self.config.pseudonym_key.decode(),
            "BACKTALK_ENCRYPTION_KEY": self.config.encryption_key.decode(),
            "ACTION_PORT": str(self.action_port),
            "RASA_URL": self.rasa_url,
            "WEB_PORT": str(self.web_port),
            **({"REDIS_URL": self.config.redis_url} if self.config.redis_url else {}),
        }

    def _spawn(self, name: str, command: List[str]) -> None:
        log = (self.config.data_dir / f"{name}.log").open("ab")
        self.commands[name] = command
        self.processes[name] = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def restart(self, *names: str) -> None:
        """Crash ``names`` (SIGKILL, nothing flushed) and start them again on the same ports and
        database; returns when the whole stack answers again."""
        for name in names:
            kill_group(self.processes.pop(name))
        for name in names:
            self._spawn(name, self.commands[name])
        self._wait_ready()

    def start(self) -> "RunningStack":
        config = self.config
        action_url = f"http://127.0.0.1:{self.action_port}/webhook"
        endpoints = write_endpoints(
            Settings(**{**config.__dict__, "action_server_url": action_url}), config.data_dir / "endpoints.yml"
        )
        self._spawn("actions", [sys.executable, "-m", "actions"])
        self._spawn("rasa", stack.rasa_command(config, endpoints, "127.0.0.1", self.rasa_port, self.model))
        if self.with_web:
            self._spawn("web", [sys.executable, "-m", "bot.web"])
        self._wait_ready()
        return self

    def _ready(self) -> bool:
        try:
            status, body = http("GET", f"{self.rasa_url}/status", timeout=5,
                                headers=auth_headers(self.config.rasa_auth_token))
            if status != 200 or not body.get("model_id"):
                return False
            if http("GET", f"http://127.0.0.1:{self.action_port}/health", timeout=5)[0] != 200:
                return False
            return not self.with_web or http("GET", f"{self.web_url}/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited during start-up; see {self.config.data_dir}/*.log")
            if self._ready():
                return
            time.sleep(0.5)  # polling a server that is starting, not synchronising a test
        raise TimeoutError(f"stack not ready after {STARTUP_TIMEOUT}s; see {self.config.data_dir}/*.log")

    def _signal_all(self, signum: int) -> None:
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                pass
        for process in self.processes.values():
            process.wait(timeout=30)
        self.processes.clear()

    def kill(self) -> None:
        """Crash every server at once (SIGKILL): nothing gets to flush or say goodbye."""
        self._signal_all(signal.SIGKILL)

    def stop(self) -> None:
        self._signal_all(signal.SIGTERM)

    def say(self, sender: str, message: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        status, reply = http("POST", f"{self.rasa_url}/webhooks/rest/webhook", body)
        assert status == 200, (status, reply)
        return reply

    def tracker(self, sender: str) -> Dict[str, Any]:
        status, body = http("GET", f"{self.rasa_url}/conversations/{sender}/tracker",
                            headers=auth_headers(self.config.rasa_auth_token))
        assert status == 200, (status, body)
        return body


@dataclass
class ScaledStack:
    """The scaled-out shape (`backtalk run --workers N`, compose.yaml): ``rasa_count`` Rasa processes,
    two action servers (Rasa process i uses action server i mod 2) and, with ``with_web``, bot.web
    routing each conversation to one Rasa process. Any one server can be killed (SIGKILL) and
    started again on its port, for the fault tests and the scale-out benchmark."""

    config: Settings
    model: Path
    rasa_count: int = 2
    action_count: int = stack.SCALED_ACTION_SERVERS
    with_web: bool = True
    rasa_ports: List[int] = field(default_factory=list)
    action_ports: List[int] = field(default_factory=list)
    web_port: int = field(default_factory=free_port)
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    extra_env: Dict[str, str] = field(default_factory=dict)  # for every server, e.g. a rate limit

    def __post_init__(self) -> None:
        self.rasa_ports = self.rasa_ports or [free_port() for _ in range(self.rasa_count)]
        self.action_ports = self.action_ports or [free_port() for _ in range(self.action_count)]

    @property
    def rasa_urls(self) -> List[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _env(self, **extra: str) -> Dict[str, str]:
        return {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "BACKTALK_DATA_DIR": str(self.config.data_dir),
            "DATABASE_URL": self.config.database_url,
            "RASA_AUTH_TOKEN": self.config.rasa_auth_token,
            "ACTION_SERVER_TOKEN": self.config.action_server_token,
            "BACKTALK_PSEUDONYM_KEY": self.config.pseudonym_key.decode(),
            "BACKTALK_ENCRYPTION_KEY": self.config.encryption_key.decode(),
            "RASA_URL": ",".join(self.rasa_urls),
            "WEB_PORT": str(self.web_port),
            **({"REDIS_URL": self.config.redis_url} if self.config.redis_url else {}),
            **self.extra_env,
            **extra,
        }

    def command(self, name: str) -> Tuple[List[str], Dict[str, str]]:
        """How ``name`` (``actions-<i>``, ``rasa-<i>``, ``web``; 1-based) is started."""
        kind, _, number = name.partition("-")
        if kind == "actions":
            return [sys.executable, "-m", "actions"], self._env(ACTION_PORT=str(self.action_ports[int(number) - 1]))
        if kind == "rasa":
            index = int(number) - 1
            action_port = self.action_ports[index % len(self.action_ports)]
            endpoints = write_endpoints(
                Settings(**{**self.config.__dict__, "action_server_url": f"http://127.0.0.1:{action_port}/webhook"}),
                self.config.data_dir / f"endpoints-{name}.yml",
            )
            port = self.rasa_ports[index]
            return stack.rasa_command(self.config, endpoints, "127.0.0.1", port, self.model), self._env()
        if kind == "web":
            return [sys.executable, "-m", "bot.web"], self._env()
        raise ValueError(name)

    @property
    def names(self) -> List[str]:
        return ([f"actions-{i}" for i in range(1, len(self.action_ports) + 1)]
                + [f"rasa-{i}" for i in range(1, len(self.rasa_ports) + 1)] + (["web"] if self.with_web else []))

    def spawn(self, name: str) -> None:
        command, env = self.command(name)
        log = (self.config.data_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self, name: str) -> bool:
        kind, _, number = name.partition("-")
        try:
            if kind == "rasa":
                url = f"{self.rasa_urls[int(number) - 1]}/status"
                status, body = http("GET", url, timeout=5, headers=auth_headers(self.config.rasa_auth_token))
                return status == 200 and bool(body.get("model_id"))
            if kind == "actions":
                return http("GET", f"http://127.0.0.1:{self.action_ports[int(number) - 1]}/health", timeout=5)[0] == 200
            return http("GET", f"{self.web_url}/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    def wait_ready(self, names: List[str]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        pending = list(names)
        while pending:
            dead = [n for n in pending if self.processes[n].poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited during start-up; see {self.config.data_dir}/*.log")
            pending = [n for n in pending if not self.ready(n)]
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{pending} not ready after {STARTUP_TIMEOUT}s; see {self.config.data_dir}/*.log")
            if pending:
                time.sleep(0.5)  # polling servers that are starting, not synchronising a test

    def start(self) -> "ScaledStack":
        for name in self.names:
            self.spawn(name)
        self.wait_ready(self.names)
        return self

    def kill(self, name: str) -> None:
        """SIGKILL one server (and its process group), like a crash."""
        kill_group(self.processes.pop(name))

    def restart(self, name: str) -> None:
        self.spawn(name)
        self.wait_ready([name])

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            for signum in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, signum)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=20)
                    break
                except subprocess.TimeoutExpired:
                    continue

    def chat(self, conversation_id: str, message: str, language: str = "en") -> Tuple[int, Any]:
        """One message through bot.web's /api/chat, as the widget sends it."""
        return http("POST", f"{self.web_url}/api/chat",
                    {"conversation_id": conversation_id, "message": message, "language": language})
