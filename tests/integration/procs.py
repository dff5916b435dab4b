"""Run ``stellar`` commands as real processes for multi-process tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STELLAR = [sys.executable, "-m", "stellar.cli"]


def spawn(app: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None
          ) -> subprocess.Popen[bytes]:  # fmt: skip
    full_env = {**os.environ, **(env or {})}
    command = [*STELLAR, "--app", str(app), *args]
    if log is None:
        return subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=full_env, stdout=out, stderr=out)


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"process {process.args} did not stop within {timeout} s") from None


def wait_for(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)
