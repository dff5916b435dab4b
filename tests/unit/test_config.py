from pathlib import Path

import pytest

from stellar.config import Settings, load_settings
from stellar.errors import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "stellar.toml").write_text(body, encoding="utf-8")
    return tmp_path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, env={})
    assert settings == Settings()
    assert settings.backend == "sqlite:///.stellar/tasks.db"
    assert settings.queues == ("*",)


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    write(tmp_path, '[tasks]\nqueues = ["high", "low"]\nmax_processors = 3\npoll_interval = 0.2\n')
    env = {"STELLAR_BACKEND": "redis://127.0.0.1:1/0", "STELLAR_MAX_PROCESSORS": "7",
           "STELLAR_QUEUES": "a, b", "STELLAR_APP": "ignored", "OTHER": "x"}  # fmt: skip
    settings = load_settings(tmp_path, env=env, min_processors=2)
    assert settings.backend == "redis://127.0.0.1:1/0"
    assert settings.max_processors == 7
    assert settings.queues == ("a", "b")
    assert settings.poll_interval == 0.2
    assert settings.min_processors == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tasks]\nmax_procesors = 3\n", "unknown setting 'max_procesors' (did you mean 'max_processors'?)"),
        ("[tasks]\nmax_processors = -1\n", "max_processors = -1: expected a whole number >= 0"),
        ("[tasks]\nmax_processors = 'many'\n", "max_processors = 'many': expected a whole number"),
        ("[tasks]\npoll_interval = 0\n", "poll_interval = 0: expected a finite number of seconds > 0"),
        ("[tasks]\njob_timeout = -5\n", "job_timeout = -5: expected a finite number of seconds >= 0"),
        ("[tasks]\nscheduler = 'maybe'\n", "scheduler = 'maybe': expected true or false"),
        ("[tasks]\nqueues = []\n", "queues = []: expected a list of queue names"),
        ("[tasks]\nqueues = ['a', '']\n", "expected a list of queue names"),
        ("[tasks]\nbackend = ''\n", "backend = '': expected a non-empty string"),
        ("[tasks\n", "not valid TOML"),
        ("tasks = 3\n", "[tasks] must be a table"),
        ("[tasks]\nmin_processors = 5\nmax_processors = 2\n", "min_processors (5) is larger than max_processors (2)"),
        ("[tasks]\nping_interval = 90\n", "ping_interval (90.0) must be smaller than stuck_worker_timeout"),
    ],
)  # fmt: skip
def test_invalid_file_values_are_refused_with_file_and_key(
    tmp_path: Path, body: str, message: str
) -> None:
    write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env={})
    assert message in str(caught.value)
    if "larger than" not in message and "smaller than" not in message:
        assert "stellar.toml" in str(caught.value)


def test_invalid_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment STELLAR_POLL_INTERVAL: .*number"):
        load_settings(tmp_path, env={"STELLAR_POLL_INTERVAL": "soon"})


def test_unknown_backend_scheme_is_refused() -> None:
    from stellar.backends import open_backend

    with pytest.raises(ConfigError, match="unknown scheme 'mysql'"):
        open_backend("mysql://localhost/db")
