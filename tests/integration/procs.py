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
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with process
    return subprocess.Popen([*STELLAR, "--app", str(app), *args], env=full_env,
                            stdout=out, stderr=out)  # fmt: skip


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
