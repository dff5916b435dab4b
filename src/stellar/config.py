"""Settings from ``stellar.toml`` (section ``[tasks]``), overridden by ``STELLAR_*`` variables.

Every value is checked; a bad one stops start-up with a :class:`~stellar.errors.ConfigError`
that names the file (or variable), the key and what is wrong with it.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from stellar.errors import ConfigError

CONFIG_FILE = "stellar.toml"
DEFAULT_BACKEND = "sqlite:///.stellar/tasks.db"


@dataclass(frozen=True)
class Settings:
    """The ``[tasks]`` settings. Durations are seconds."""

    backend: str = DEFAULT_BACKEND
    namespace: str = "resque"
    queues: tuple[str, ...] = ("*",)
    scheduler: bool = True
    min_processors: int = 1
    max_processors: int = 10
    poll_interval: float = 0.5
    ping_interval: float = 5.0
    scheduler_interval: float = 1.0
    leader_lock_timeout: float = 30.0
    stuck_worker_timeout: float = 60.0
    retry_stuck_jobs: bool = False
    shutdown_timeout: float = 30.0
    job_timeout: float = 0.0
    check_interval: float = 0.5
    max_loop_lag: float = 0.05
    modules: str = "modules"

    def __post_init__(self) -> None:
        if self.min_processors > self.max_processors:
            raise ConfigError(
                f"min_processors ({self.min_processors}) is larger than "
                f"max_processors ({self.max_processors})"
            )
        if self.ping_interval >= self.stuck_worker_timeout:
            raise ConfigError(
                f"ping_interval ({self.ping_interval}) must be smaller than "
                f"stuck_worker_timeout ({self.stuck_worker_timeout}), or live workers "
                "would be cleaned as dead"
            )
        if self.scheduler_interval >= self.leader_lock_timeout:
            raise ConfigError(
                f"scheduler_interval ({self.scheduler_interval}) must be smaller than "
                f"leader_lock_timeout ({self.leader_lock_timeout}), or the leader would lose "
                "its lock between renewals"
            )


_KINDS: dict[str, str] = {f.name: str(f.type) for f in fields(Settings)}
_POSITIVE = {
    "poll_interval", "ping_interval", "scheduler_interval", "leader_lock_timeout",
    "stuck_worker_timeout", "shutdown_timeout", "check_interval", "max_loop_lag",
}  # fmt: skip


def _as_str(value: Any, problem: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{problem}: expected a non-empty string")
    return value.strip()


def _as_bool(value: Any, problem: str) -> bool:
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
        return False
    if not isinstance(value, bool):
        raise ConfigError(f"{problem}: expected true or false")
    return value


def _as_int(value: Any, problem: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(f"{problem}: expected a whole number") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{problem}: expected a whole number >= 0")
    return value


def _as_seconds(value: Any, problem: str, positive: bool) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{problem}: expected a number of seconds") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"{problem}: expected a number of seconds")
    if value < 0 or (positive and value == 0) or math.isinf(value):
        limit = "> 0" if positive else ">= 0"
        raise ConfigError(f"{problem}: expected a finite number of seconds {limit}")
    return float(value)


def _as_queues(value: Any, problem: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [q.strip() for q in value.split(",")]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(q, str) and q.strip() for q in value)
    ):
        raise ConfigError(f'{problem}: expected a list of queue names such as ["default"]')
    return tuple(q.strip() for q in value)


def _coerce(key: str, value: Any, where: str) -> Any:
    kind = _KINDS[key]
    problem = f"{where}: {key} = {value!r}"
    if kind == "str":
        return _as_str(value, problem)
    if kind == "bool":
        return _as_bool(value, problem)
    if kind == "int":
        return _as_int(value, problem)
    if kind == "float":
        return _as_seconds(value, problem, key in _POSITIVE)
    return _as_queues(value, problem)


def _unknown(key: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(_KINDS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"{where}: unknown setting {key!r}{hint}")


def load_settings(root: Path, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read ``root/stellar.toml`` (optional), then ``STELLAR_*`` variables, then overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = root / CONFIG_FILE
    if path.exists():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        section = document.get("tasks", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [tasks] must be a table")
        for key, value in section.items():
            if key not in _KINDS:
                raise _unknown(key, str(path))
            values[key] = _coerce(key, value, f"{path} [tasks]")
    for name, value in env.items():
        if not name.startswith("STELLAR_"):
            continue
        key = name.removeprefix("STELLAR_").lower()
        if key in _KINDS:
            values[key] = _coerce(key, value, f"environment {name}")
    for key, value in overrides.items():
        if key not in _KINDS:
            raise _unknown(key, "App()")
        if value is not None:
            values[key] = _coerce(key, value, "App()")
    return replace(Settings(), **values)
