"""bot/config.py: one typed settings object, read from the environment and .env, checked with clear
messages; and no other module reading the environment for a BackTalk setting."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from bot.config import (
    DEFAULT_ACTION_PORT, DEFAULT_RASA_PORT, DEFAULT_WEB_PORT, SECRET_NAMES, ConfigError, Settings, settings,
    settings_from, variable,
)
from bot.paths import PROJECT_ROOT

SECRETS = {name: f"secret-{i}" for i, name in enumerate(SECRET_NAMES)}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No BackTalk variable in this process's environment, whatever the shell running the tests set."""
    for field in Settings.__fields__:
        monkeypatch.delenv(variable(field), raising=False)
    return monkeypatch


def write_env(path: Path, values: Dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


def test_defaults(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = settings(env_file=write_env(tmp_path / ".env", SECRETS))
    assert config.environment == "development" and not config.production
    assert (config.rasa_port, config.action_port, config.web_port) == (5005, 5055, 8000)
    assert config.rasa_url == f"http://127.0.0.1:{DEFAULT_RASA_PORT}"
    assert config.action_server_url == f"http://127.0.0.1:{DEFAULT_ACTION_PORT}/webhook"
    assert config.public_url == f"http://127.0.0.1:{DEFAULT_WEB_PORT}"
    assert config.data_dir == PROJECT_ROOT / "var"
    assert config.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'backtalk.db'}"
    assert config.redis_url is None and config.telegram_bot_token is None and config.smtp_host is None
    assert (config.rasa_host, config.action_host, config.web_host) == ("127.0.0.1",) * 3
    assert (config.log_level, config.timezone, config.notify_poll_seconds) == ("INFO", "UTC", 5.0)
    assert (config.retention_unfinished_days, config.retention_days) == (30, None)
    assert config.pseudonym_key == SECRETS["BACKTALK_PSEUDONYM_KEY"].encode()


def test_the_urls_follow_the_ports_and_the_database_the_data_directory(clean_env: pytest.MonkeyPatch) -> None:
    config = settings_from({"RASA_PORT": "6005", "ACTION_PORT": "6055", "WEB_PORT": "9000",
                            "BACKTALK_DATA_DIR": "/srv/backtalk"})
    assert config.rasa_url == "http://127.0.0.1:6005"
    assert config.action_server_url == "http://127.0.0.1:6055/webhook"
    assert config.public_url == "http://127.0.0.1:9000"
    assert config.database_url == "sqlite:////srv/backtalk/backtalk.db"
    assert settings_from({"BACKTALK_PUBLIC_URL": "https://bt.example/"}).public_url == "https://bt.example"


def test_env_file_fills_in_but_never_overrides_the_real_environment(clean_env: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    env_file = write_env(tmp_path / ".env", {**SECRETS, "WEB_PORT": "8100", "LOG_LEVEL": "DEBUG",
                                             "SOMETHING_ELSE": "ignored"})
    clean_env.setenv("WEB_PORT", "8200")
    clean_env.setenv("RASA_AUTH_TOKEN", "from-the-environment")
    config = settings(env_file=env_file)
    assert config.web_port == 8200 and config.rasa_auth_token == "from-the-environment"
    assert config.log_level == "DEBUG"  # only .env says it
    assert config.action_server_token == SECRETS["ACTION_SERVER_TOKEN"]
    assert "LOG_LEVEL" not in os.environ  # reading .env does not leak it into this process's environment


def test_settings_are_read_on_each_call(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = write_env(tmp_path / ".env", SECRETS)
    clean_env.setenv("DATABASE_URL", "sqlite:///one.db")
    assert settings(env_file=env_file).database_url == "sqlite:///one.db"
    clean_env.setenv("DATABASE_URL", "sqlite:///two.db")
    assert settings(env_file=env_file).database_url == "sqlite:///two.db"


def test_an_empty_variable_counts_as_unset(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("WEB_PORT", "")
    clean_env.setenv("DATABASE_URL", "")
    config = settings(env_file=write_env(tmp_path / ".env", SECRETS))
    assert config.web_port == 8000 and config.database_url.startswith("sqlite:///")


@pytest.mark.parametrize("environment, hint", [("production", "set them in the environment"),
                                               ("development", "backtalk init-env")])
def test_missing_secrets_are_refused_with_what_to_do(clean_env: pytest.MonkeyPatch, tmp_path: Path,
                                                     environment: str, hint: str) -> None:
    clean_env.setenv("BACKTALK_ENV", environment)
    clean_env.setenv("RASA_AUTH_TOKEN", "set")
    clean_env.setenv("ACTION_SERVER_TOKEN", "")  # empty is missing too
    with pytest.raises(ConfigError) as error:
        settings(env_file=tmp_path / "absent.env")
    message = str(error.value)
    assert message.startswith("missing secrets ACTION_SERVER_TOKEN, BACKTALK_PSEUDONYM_KEY, BACKTALK_ENCRYPTION_KEY: ")
    assert hint in message and "RASA_AUTH_TOKEN" not in message


def test_production_starts_with_its_secrets(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in SECRETS.items():
        clean_env.setenv(name, value)
    clean_env.setenv("BACKTALK_ENV", "production")
    assert settings(env_file=tmp_path / "absent.env").production


@pytest.mark.parametrize("name, value, problem", [
    ("WEB_PORT", "abc", "not a valid integer"),
    ("RASA_PORT", "70000", "less than or equal to 65535"),
    ("NOTIFY_POLL_SECONDS", "0", "greater than 0"),
    ("SMTP_STARTTLS", "maybe", "could not be parsed to a boolean"),
    ("BACKTALK_TIMEZONE", "Mars/Olympus", "not a time zone"),
])
def test_a_bad_value_names_its_variable(clean_env: pytest.MonkeyPatch, tmp_path: Path,
                                        name: str, value: str, problem: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^invalid settings: {name}: .*{problem}"):
        settings(env_file=write_env(tmp_path / ".env", SECRETS))


def test_a_bad_value_stops_a_service_with_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), **SECRETS, "WEB_PORT": "abc"}
    done = subprocess.run([sys.executable, "-m", "bot.web"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr  # (TensorFlow's start-up lines come before it, from an import)
    assert done.stderr.strip().splitlines()[-1] == "backtalk web: invalid settings: WEB_PORT: value is not a valid integer"


def test_secret_values_never_appear_in_messages_or_repr(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("WEB_PORT", "abc")
    with pytest.raises(ConfigError) as error:
        settings(env_file=write_env(tmp_path / ".env", {**SECRETS, "RASA_PORT": "secret-0"}))
    assert "secret-" not in str(error.value)
    config = settings_from({**SECRETS, "SMTP_PASSWORD": "smtp-pw", "TELEGRAM_BOT_TOKEN": "1:tg"})
    assert not any(s in repr(config) for s in [*SECRETS.values(), "smtp-pw", "1:tg"])


def test_postgres_scheme_is_normalised(clean_env: pytest.MonkeyPatch) -> None:
    url = settings_from({"DATABASE_URL": "postgres://u:p@db:5432/backtalk"}).database_url
    assert url == "postgresql://u:p@db:5432/backtalk"
    assert settings_from({"DATABASE_URL": "postgresql://u@db/x"}).database_url == "postgresql://u@db/x"


def test_settings_from_a_mapping_ignores_the_process_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WEB_PORT", "8300")
    assert settings_from({}).web_port == 8000
    with pytest.raises(ConfigError, match="missing secrets"):
        settings_from({}, require_secrets=True)


# -- one place reads the environment ---------------------------------------------------------------

SCANNED = ("bot", "actions", "rasa_server", "nlu_components", "benchmarks")
ENVIRONMENT_READ = re.compile(r"\bos\.environ\b|\bgetenv\b|\bfrom os import\b.*\benviron\b")
# (file, the line's text): reads that are not a BackTalk setting, each with its reason
ALLOWED = {
    # children inherit the supervisor's environment whole (each reads its settings through bot/config.py)
    ("bot/stack.py", "env={**os.environ, **service.env, **supervisor},"),
    # the supervisor's pid, set by `backtalk run` for its children only (bot/lifeline.py), is a
    # process relation, not a setting, and is removed once read
    ("bot/lifeline.py", 'named = os.environ.pop(SUPERVISOR_PID_ENV, "")'),
    # log redaction masks every secret the process's environment holds, whoever set it (bot/logsafe.py)
    ("bot/logsafe.py", "values = [*secrets_in(os.environ if env is None else env), *extra]"),
    # benchmark harnesses: their own knobs and their children's environment, not BackTalk settings
    ("benchmarks/latency.py", 'CHILD_ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}'),
    ("benchmarks/notify_latency.py", 'env = {**os.environ, "DATABASE_URL": database_url, "BACKTALK_DATA_DIR": str(data_dir),'),
    ("benchmarks/nlu_report.py", 'os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")'),
    ("benchmarks/nlu_report.py", 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")'),
    ("benchmarks/nlu_report.py", 'CONFIG = os.environ.get("NLU_REPORT_CONFIG", str(PROJECT_ROOT / "config.yml"))'),
    ("benchmarks/followup_scheduler.py",
     'POSTGRES_URL = os.environ.get("BACKTALK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")'),
    ("benchmarks/transcripts_export.py",
     'parser.add_argument("--database-url", default=os.environ.get("BACKTALK_TEST_POSTGRES_URL", TEST_POSTGRES_URL))'),
}


def environment_reads() -> set:
    found = set()
    for top in SCANNED:
        for path in sorted((PROJECT_ROOT / top).rglob("*.py")):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            if relative == "bot/config.py":
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                code = line.split("#", 1)[0]
                if ENVIRONMENT_READ.search(code):
                    found.add((relative, line.strip()))
    return found


def test_only_bot_config_reads_the_environment_for_a_setting() -> None:
    reads = environment_reads()
    assert reads - ALLOWED == set(), "read it from bot.config.settings() instead (or justify it in ALLOWED)"
    assert ALLOWED - reads == set(), "an allowed read is gone: drop it from ALLOWED"


def test_the_scan_would_catch_a_new_read(tmp_path: Path) -> None:
    assert ENVIRONMENT_READ.search('port = int(os.environ.get("WEB_PORT", "8000"))')
    assert ENVIRONMENT_READ.search('token = os.getenv("RASA_AUTH_TOKEN")')
    assert ENVIRONMENT_READ.search("from os import environ, path")
    assert not ENVIRONMENT_READ.search("config.web_port")


def test_port_defaults_are_written_once() -> None:
    """5005, 5055 and 8000 appear as defaults only in bot/config.py (docs and compose.yaml aside)."""
    offenders = []
    for top in ("bot", "actions", "rasa_server"):
        for path in (PROJECT_ROOT / top).rglob("*.py"):
            if path.relative_to(PROJECT_ROOT).as_posix() == "bot/config.py":
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.name}: {port}" for port in ("5005", "5055", "8000") if re.search(rf"\b{port}\b", text)]
    assert offenders == []
