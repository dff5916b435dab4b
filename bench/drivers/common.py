"""What every Python driver shares: the job's bookkeeping, the start gate, the CLI.

A driver is run as ``python bench/drivers/<library>.py ROLE --url URL --dir DIR [...]``:

``enqueue-one``   enqueue ``--n`` jobs, one awaited call at a time; prints ``{"seconds": s}``
``enqueue-bulk``  enqueue ``--n`` jobs through the library's batch API, ``--batch`` a call
``fill``          queue ``--n`` jobs for a drain (untimed)
``worker``        start one worker process; it writes ``ready-<pid>`` in DIR once set up,
                  then waits for the file ``go`` before it starts working (so that two
                  worker processes start together), and runs until SIGTERM
``latency``       ``--n`` times: enqueue one job carrying its enqueue time, wait until a
                  worker started it, pause; prints the latencies
``delayed``       enqueue ``--n`` jobs due ``--ahead`` seconds after each enqueue; prints
                  their due times

The job (:func:`job`) is a no-op. Given a probe, the text ``"t=<unix time>"`` (when it was
enqueued, or when it is due: :func:`probe`), it appends ``<start time> <that time>`` to
``samples-<pid>`` in DIR; given anything else it counts (a drain job). While it counts, a
daemon thread writes the drain counters (``count``, first start, last end) to
``count-<pid>.json`` every 10 ms; it sleeps otherwise (so it never disturbs a latency probe).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FLUSH = 0.01  # seconds between two writes of the drain counters

_lock = threading.Lock()
_count = 0
_first = 0.0
_last = 0.0
_samples_fd: int | None = None
_dir: Path | None = None
_dirty = threading.Event()


def probe(at: float) -> str:
    """The argument of a latency or delayed job: the time to compare its start with."""
    return f"t={at!r}"


def job(value: Any = None) -> None:
    """The benchmark's task body."""
    global _count, _first, _last
    if isinstance(value, str) and value.startswith("t="):
        started = time.time()
        assert _samples_fd is not None
        os.write(_samples_fd, f"{started!r} {value[2:]}\n".encode())
        return
    with _lock:
        now = time.time()
        if not _count:
            _first = now
        _count += 1
        _last = now
    if not _dirty.is_set():
        _dirty.set()


_series_fd: int | None = None


def _write_counts() -> None:
    assert _dir is not None and _series_fd is not None
    path = _dir / f"count-{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    with _lock:
        data = {"count": _count, "first": _first, "last": _last}
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    # the series "<last end> <count>" lets the controller see how the count grew
    os.write(_series_fd, f"{data['last']!r} {data['count']}\n".encode())


def _flusher() -> None:
    while True:
        _dirty.wait()
        time.sleep(FLUSH)
        _dirty.clear()
        _write_counts()


def start_recording(directory: str) -> None:
    """Open the sample file and start the counter thread (in a worker process)."""
    global _samples_fd, _series_fd, _dir
    _dir = Path(directory)
    _series_fd = os.open(
        _dir / f"series-{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
    )
    _samples_fd = os.open(
        _dir / f"samples-{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
    )
    _write_counts()
    threading.Thread(target=_flusher, name="bench-counts", daemon=True).start()


def wait_for_go(directory: str) -> None:
    """Say we are ready, then wait until the controller says go."""
    d = Path(directory)
    (d / f"ready-{os.getpid()}").write_text("")
    while not (d / "go").exists():
        time.sleep(0.001)


def on_sigterm(stop: Callable[[], None]) -> None:
    signal.signal(signal.SIGTERM, lambda *_: stop())


def sample_count(directory: str) -> int:
    """How many probe lines the workers wrote so far."""
    return sum(p.read_bytes().count(b"\n") for p in Path(directory).glob("samples-*"))


def latency_gap() -> float:
    """The idle pause between two latency probes (random, so no timer locks in)."""
    return random.uniform(0.005, 0.015)


def wait_started(directory: str, expected: int, deadline: float) -> bool:
    """Spin (politely) until ``expected`` samples exist or ``deadline`` passes."""
    while time.monotonic() < deadline:
        if sample_count(directory) >= expected:
            return True
        time.sleep(0.002)
    return False


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("role")
    p.add_argument("--url", required=True)
    p.add_argument("--dir", default=".")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--ahead", type=float, default=2.0)
    p.add_argument("--budget", type=float, default=15.0, help="latency: seconds at most")
    return p.parse_args(argv)


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def latency_loop(enqueue: Callable[[str], Any], args: argparse.Namespace) -> None:
    """Probe enqueue-to-start latency with an idle worker (sync clients)."""
    budget = time.monotonic() + args.budget
    sent = 0
    while sent < args.n and time.monotonic() < budget:
        enqueue(probe(time.time()))
        sent += 1
        if not wait_started(args.dir, sent, time.monotonic() + 10):
            break
        time.sleep(latency_gap())
    emit({"sent": sent})


async def latency_loop_async(enqueue: Callable[[str], Any], args: argparse.Namespace) -> None:
    """The same for asyncio clients (the wait spins: nothing else runs in the client)."""
    budget = time.monotonic() + args.budget
    sent = 0
    while sent < args.n and time.monotonic() < budget:
        await enqueue(probe(time.time()))
        sent += 1
        if not wait_started(args.dir, sent, time.monotonic() + 10):
            break
        await asyncio.sleep(latency_gap())
    emit({"sent": sent})
