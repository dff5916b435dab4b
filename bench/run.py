"""Side-by-side benchmark: this project (Redis and SQLite) against RQ, arq, SAQ, Dramatiq,
Celery, Huey and node-resque, measured in one run on one machine.

One command does everything::

    python3 bench/run.py                 # the full run (about 12 minutes on 2 cores)
    python3 bench/run.py --quick         # small numbers, one repetition: a smoke test
    python3 bench/run.py --only stellar-redis,huey --workloads drain1,latency
    python3 bench/run.py profile         # py-spy profile of one drain -> bench/profiles/

It creates the benchmark's environments when they are missing or their pins changed
(``bench/.env/main`` from ``requirements.txt``, ``bench/.env/async`` from
``requirements-async.txt``, node-resque from ``node/package-lock.json`` with ``npm ci``),
starts a private ``redis-server`` on a free port in a temporary directory (never a server
it did not start), runs every workload through every library, interleaved (repetition by
repetition, library order rotated each time), prints one table with medians and the ratio
of each figure to the best peer, and writes the whole run as JSON (``--out``, default
``bench/results.json``).

Workloads (no-op jobs; see ``drivers/common.py`` for what a driver does):

``enqueue1``  jobs enqueued one awaited call at a time, per second
``bulk``      jobs enqueued through the library's batch API, 1,000 a call, per second
``drain1``    10,000 queued jobs drained by one worker process, per second (first start
              to last end), and that process's RSS (its whole process tree) afterwards
``drain2``    the same with two worker processes started together
``latency``   enqueue-to-start latency with an idle worker: 200 probes (or 15 s), p50/p99
``delayed``   200 jobs due 2 s after their enqueue: lateness p50/p99 and how many started
              before their time
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ENV = BENCH / ".env"
NODE = BENCH / "node"
DRIVERS = BENCH / "drivers"

# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Sizes:
    enqueue1: int = 10_000  # ~1.5 s a run: shorter runs swung by 2x on a shared machine
    bulk: int = 20_000
    drain: int = 10_000
    latency: int = 200
    latency_budget: float = 15.0
    delayed: int = 200
    ahead: float = 2.0
    reps: dict[str, int] = field(
        default_factory=lambda: {
            "enqueue1": 5, "bulk": 3, "drain1": 3, "drain2": 3, "latency": 3, "delayed": 3,
        }
    )  # fmt: skip


QUICK = Sizes(
    enqueue1=500, bulk=2_000, drain=2_000, latency=30, latency_budget=5.0, delayed=30,
    reps={"enqueue1": 1, "bulk": 1, "drain1": 1, "drain2": 1, "latency": 1, "delayed": 1},
)  # fmt: skip

WORKLOADS = ("enqueue1", "bulk", "drain1", "drain2", "latency", "delayed")
SLOW = 15.0  # seconds: a library whose measurement took longer is not measured again


@dataclass(frozen=True)
class Library:
    name: str
    runtime: str  # "main", "async" (a Python env) or "node"
    driver: str
    concurrency: int
    setting: str  # what the concurrency means, in the library's own terms
    ours: bool = False
    sqlite: bool = False


LIBRARIES = (
    Library("stellar-redis", "main", "stellar_driver.py", 10,
            "min_processors = max_processors = 10", ours=True),
    Library("stellar-sqlite", "main", "stellar_driver.py", 10,
            "min_processors = max_processors = 10", ours=True, sqlite=True),
    Library("rq", "main", "rq_driver.py", 1, "SimpleWorker (one job at a time)"),
    Library("arq", "async", "arq_driver.py", 10, "max_jobs = 10 (default)"),
    Library("saq", "async", "saq_driver.py", 10, "concurrency = 10 (default)"),
    Library("dramatiq", "main", "dramatiq_driver.py", 8, "worker_threads = 8 (default)"),
    Library("celery", "main", "celery_driver.py", 8, "--pool threads --concurrency 8"),
    Library("huey", "main", "huey_driver.py", 8, "workers = 8, worker_type = thread"),
    Library("node-resque", "node", "driver.js", 10,
            "MultiWorker min = max = 10 task processors"),
)  # fmt: skip

# metric -> (label, unit, higher is better)
METRICS: dict[str, tuple[str, str, bool]] = {
    "enqueue1": ("enqueue, one at a time", "jobs/s", True),
    "bulk": ("enqueue, batch API", "jobs/s", True),
    "drain1": ("drain, 1 process", "jobs/s", True),
    "drain2": ("drain, 2 processes", "jobs/s", True),
    "drain_scaling": ("  2 processes / 1 process", "x", True),
    "rss": ("worker RSS after drain", "MB", False),
    "latency_p50": ("idle pickup p50", "ms", False),
    "latency_p99": ("idle pickup p99", "ms", False),
    "late_p50": ("delayed lateness p50", "ms", False),
    "late_p99": ("delayed lateness p99", "ms", False),
    "early": ("delayed: started early", "of 200", False),
}

# --------------------------------------------------------------------------- environment


def _stamp_ok(target: Path, source: Path) -> bool:
    stamp = target / ".bench-stamp"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return stamp.exists() and stamp.read_text() == digest


def _write_stamp(target: Path, source: Path) -> None:
    (target / ".bench-stamp").write_text(hashlib.sha256(source.read_bytes()).hexdigest())


def ensure_python_env(name: str, requirements: Path) -> Path:
    target = ENV / name
    python = target / "bin" / "python"
    if python.exists() and _stamp_ok(target, requirements):
        return python
    print(f"setting up bench/.env/{name} from {requirements.name} ...", flush=True)
    if target.exists():
        shutil.rmtree(target)
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(requirements)],
        check=True,
    )  # fmt: skip
    _write_stamp(target, requirements)
    return python


def ensure_node() -> None:
    modules = NODE / "node_modules"
    lock = NODE / "package-lock.json"
    if modules.exists() and _stamp_ok(modules, lock):
        return
    print("installing node-resque (npm ci) ...", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=NODE, check=True)
    _write_stamp(modules, lock)


def environments() -> dict[str, Path]:
    ENV.mkdir(exist_ok=True)
    pythons = {
        "main": ensure_python_env("main", BENCH / "requirements.txt"),
        "async": ensure_python_env("async", BENCH / "requirements-async.txt"),
    }
    ensure_node()
    return pythons


# --------------------------------------------------------------------------- redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own on a free port in a temporary directory."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="stellar-bench-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.command("PING") == b"+PONG\r\n":
                    return
            time.sleep(0.02)
        raise SystemExit(f"redis-server did not start on port {self.port}")

    def command(self, *words: str) -> bytes:
        payload = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(payload.encode())
            return s.recv(65536)

    def flush(self) -> None:
        self.command("FLUSHALL")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- processes


class Runner:
    """Builds and runs driver commands for each library."""

    def __init__(self, pythons: dict[str, Path], redis: PrivateRedis, work: Path) -> None:
        self.pythons = pythons
        self.redis = redis
        self.work = work
        self._sqlite_n = 0

    def command(self, lib: Library, role: str, *extra: str) -> list[str]:
        if lib.runtime == "node":
            head = ["node", str(NODE / lib.driver)]
        else:
            head = [str(self.pythons[lib.runtime]), str(DRIVERS / lib.driver)]
        return [*head, role, "--url", self.url(lib), *extra]

    def url(self, lib: Library) -> str:
        if lib.sqlite:
            return f"sqlite:///{self.work}/stellar-{self._sqlite_n}.db"
        return self.redis.url

    def env(self, lib: Library) -> dict[str, str]:
        env = dict(os.environ)
        if lib.ours:
            env["PYTHONPATH"] = str(ROOT / "src")
        env.setdefault("PYTHONHASHSEED", "0")
        return env

    def reset(self, lib: Library) -> None:
        """Empty the storage before a measurement."""
        self.redis.flush()
        if lib.sqlite:
            self._sqlite_n += 1

    def client(self, lib: Library, role: str, *extra: str, timeout: float = 300) -> Any:
        done = subprocess.run(
            self.command(lib, role, *extra), env=self.env(lib), capture_output=True,
            text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{lib.name} {role} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    @contextlib.contextmanager
    def workers(
        self, lib: Library, count: int, stats: Path, *, go: bool = True
    ) -> Iterator[list[int]]:
        """Start ``count`` worker processes, wait until all are set up, say go (unless
        ``go`` is False: then the caller writes the ``go`` file)."""
        log = open(stats / "workers.log", "ab")  # noqa: SIM115
        procs = [
            subprocess.Popen(
                self.command(
                    lib, "worker", "--dir", str(stats), "--concurrency", str(lib.concurrency)
                ),
                env=self.env(lib),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )  # fmt: skip
            for _ in range(count)
        ]
        try:
            deadline = time.monotonic() + 60
            while len(list(stats.glob("ready-*"))) < count:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"{lib.name}: workers did not start; see {log.name}")
                time.sleep(0.005)
            if go:
                (stats / "go").write_text("")
            yield [p.pid for p in procs]
        finally:
            for p in procs:
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for p in procs:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            log.close()


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def read_counts(stats: Path) -> list[dict[str, float]]:
    found = []
    for path in stats.glob("count-*.json"):
        with contextlib.suppress(OSError, ValueError):
            found.append(json.loads(path.read_text()))
    return found


def read_samples(stats: Path) -> list[tuple[float, float]]:
    found = []
    for path in stats.glob("samples-*"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                found.append((float(parts[0]), float(parts[1])))
    return found


def together_rate(stats: Path, processes: int) -> float | None:
    """Jobs per second while every worker process was draining: from each process's
    series of ``(time, count)``, the jobs done between the last first start and the first
    last end, over that window. None when the window is too short to tell (< 0.2 s)."""
    series = []
    for path in stats.glob("series-*"):
        points = []
        for line in path.read_text().splitlines():
            t, c = line.split()
            if int(c):
                points.append((float(t), int(c)))
        if points:
            series.append(points)
    if len(series) < processes:
        return None
    start = max(points[0][0] for points in series)
    end = min(points[-1][0] for points in series)
    if end - start < 0.2:
        return None

    def at(points: list[tuple[float, int]], t: float) -> float:
        for (t0, c0), (t1, c1) in zip(points, points[1:], strict=False):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1
        return float(points[0][1] if t < points[0][0] else points[-1][1])

    done = sum(at(points, end) - at(points, start) for points in series)
    return done / (end - start)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --------------------------------------------------------------------------- workloads


class Bench:
    def __init__(self, runner: Runner, sizes: Sizes, base: Path) -> None:
        self.runner = runner
        self.sizes = sizes
        self.base = base
        self._n = 0

    def stats_dir(self, lib: Library, workload: str) -> Path:
        self._n += 1
        d = self.base / f"{self._n:03d}-{lib.name}-{workload}"
        d.mkdir()
        return d

    def enqueue1(self, lib: Library) -> dict[str, float]:
        self.runner.reset(lib)
        n = self.sizes.enqueue1
        out = self.runner.client(lib, "enqueue-one", "--n", str(n))
        return {"enqueue1": n / out["seconds"]}

    def bulk(self, lib: Library) -> dict[str, float]:
        self.runner.reset(lib)
        n = self.sizes.bulk
        out = self.runner.client(lib, "enqueue-bulk", "--n", str(n), "--batch", "1000")
        return {"bulk": n / out["seconds"]}

    def _drain(self, lib: Library, processes: int) -> dict[str, float]:
        self.runner.reset(lib)
        n = self.sizes.drain
        self.runner.client(lib, "fill", "--n", str(n), "--batch", "1000")
        stats = self.stats_dir(lib, f"drain{processes}")
        result: dict[str, float] = {}
        with self.runner.workers(lib, processes, stats) as pids:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                counts = read_counts(stats)
                if sum(c["count"] for c in counts) >= n:
                    break
                time.sleep(0.02)
            else:
                raise RuntimeError(f"{lib.name}: drain did not finish in time")
            busy = [c for c in counts if c["count"]]
            seconds = max(c["last"] for c in busy) - min(c["first"] for c in busy)
            if processes == 1:
                result["drain1"] = n / seconds
            else:
                result["drain2_wall"] = n / seconds
                result["drain2"] = together_rate(stats, processes) or n / seconds
            if processes == 1:
                time.sleep(0.2)
                result["rss"] = tree_rss_mb(pids[0])
        return result

    def drain1(self, lib: Library) -> dict[str, float]:
        return self._drain(lib, 1)

    def drain2(self, lib: Library) -> dict[str, float]:
        return self._drain(lib, 2)

    def latency(self, lib: Library) -> dict[str, float]:
        self.runner.reset(lib)
        stats = self.stats_dir(lib, "latency")
        with self.runner.workers(lib, 1, stats):
            time.sleep(1.0)  # let it settle into idle
            self.runner.client(
                lib, "latency", "--n", str(self.sizes.latency), "--dir", str(stats),
                "--budget", str(self.sizes.latency_budget),
            )  # fmt: skip
            samples = read_samples(stats)
        latencies = [(start - sent) * 1000 for start, sent in samples]
        return {
            "latency_p50": percentile(latencies, 50),
            "latency_p99": percentile(latencies, 99),
            "latency_n": len(latencies),
        }

    def delayed(self, lib: Library) -> dict[str, float]:
        self.runner.reset(lib)
        stats = self.stats_dir(lib, "delayed")
        n = self.sizes.delayed
        with self.runner.workers(lib, 1, stats):
            time.sleep(0.5)
            out = self.runner.client(
                lib, "delayed", "--n", str(n), "--ahead", str(self.sizes.ahead)
            )
            deadline = time.time() + (max(out["due"]) - time.time()) + 12
            while time.time() < deadline and len(read_samples(stats)) < n:
                time.sleep(0.05)
            samples = read_samples(stats)
        late = [(start - due) * 1000 for start, due in samples]
        return {
            "late_p50": percentile(late, 50),
            "late_p99": percentile(late, 99),
            "early": float(sum(1 for x in late if x < 0)),
            "late_missing": float(n - len(late)),
        }


# --------------------------------------------------------------------------- reporting


def medians(runs: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {
        lib: {metric: statistics.median(values) for metric, values in metrics.items() if values}
        for lib, metrics in runs.items()
    }


SIGNED = {"late_p50", "late_p99"}  # lateness: early (< 0) is as bad as late, so compare |x|


def best_peer(table: dict[str, dict[str, float]], metric: str) -> tuple[str, float] | None:
    higher = METRICS[metric][2]
    peers = [
        (lib.name, abs(table[lib.name][metric]) if metric in SIGNED else table[lib.name][metric])
        for lib in LIBRARIES
        if not lib.ours
        and lib.name in table
        and metric in table[lib.name]
        and table[lib.name][metric] == table[lib.name][metric]  # not NaN
    ]
    if not peers:
        return None
    return (max if higher else min)(peers, key=lambda p: p[1])


def ratio(value: float, best: float, higher: bool) -> float:
    """How many times better than the best peer (> 1: better), whatever the direction
    (lateness is compared by its size: starting early is no better than late)."""
    value, best = abs(value), abs(best)
    if higher:
        return value / best if best else float("inf")
    if value <= 0:
        return float("inf") if best > 0 else 1.0
    return best / value


def render(table: dict[str, dict[str, float]], libs: list[Library]) -> str:
    names = [lib.name for lib in libs]
    width = max(12, *(len(n) for n in names))
    lines = []
    head = f"{'metric':<28} {'unit':<7}" + "".join(f" {n:>{width}}" for n in names)
    lines += [head, "-" * len(head)]
    for metric, (label, unit, higher) in METRICS.items():
        if not any(metric in table.get(n, {}) for n in names):
            continue
        best = best_peer(table, metric)
        cells, ratios = [], []
        for n in names:
            value = table.get(n, {}).get(metric)
            if value is None or value != value:
                cells.append(f" {'-':>{width}}")
                ratios.append(f" {'':>{width}}")
                continue
            cells.append(f" {_fmt(value):>{width}}")
            r = ratio(value, best[1], higher) if best else float("nan")
            ratios.append(f" {'x' + format(r, '.2f'):>{width}}")
        lines.append(f"{label:<28} {unit:<7}" + "".join(cells))
        better = "higher" if higher else "lower"
        lines.append(f"{'  vs best peer (' + better + ' better)':<36}" + "".join(ratios))
    return "\n".join(lines)


def render_markdown(table: dict[str, dict[str, float]], libs: list[Library]) -> str:
    """The same table in Markdown: each cell is the median and its ratio to the best peer
    (> 1 means better than the best peer, whichever way the metric points)."""
    names = [lib.name for lib in libs]
    lines = [
        "| metric | unit | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
    ]
    for metric, (label, unit, higher) in METRICS.items():
        if not any(metric in table.get(n, {}) for n in names):
            continue
        best = best_peer(table, metric)
        cells = []
        for n in names:
            value = table.get(n, {}).get(metric)
            if value is None or value != value:
                cells.append("-")
                continue
            r = ratio(value, best[1], higher) if best else float("nan")
            cells.append(f"{_fmt(value)} (x{r:.2f})")
        arrow = "higher is better" if higher else "lower is better"
        lines.append(f"| {label.strip()} | {unit}, {arrow} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def versions(pythons: dict[str, Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for env in ("main", "async"):
        for line in (BENCH / ("requirements.txt" if env == "main" else "requirements-async.txt")
                     ).read_text().splitlines():  # fmt: skip
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==")
                name = name.split("[")[0].lower()
                if name in ("rq", "arq", "saq", "dramatiq", "celery", "huey", "redis", "hiredis",
                            "kombu", "py-spy"):  # fmt: skip
                    found[f"{name} ({env} env)" if name in ("redis", "hiredis") else name] = version
    lock = json.loads((NODE / "package-lock.json").read_text())
    found["node-resque"] = lock["packages"]["node_modules/node-resque"]["version"]
    found["ioredis"] = lock["packages"]["node_modules/ioredis"]["version"]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    found["node"] = node.stdout.strip()
    found["python"] = subprocess.run(
        [str(pythons["main"]), "--version"], capture_output=True, text=True
    ).stdout.strip()
    found["redis-server"] = (
        subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
        .stdout.split()[2]
        .removeprefix("v=")
    )
    init = (ROOT / "src" / "stellar" / "__init__.py").read_text()
    found["stellar"] = next(
        (line.split('"')[1] for line in init.splitlines() if line.startswith("__version__")), "?"
    )
    return found


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    return {
        "cpu": model, "cores": os.cpu_count(), "memory": memory,
        "kernel": platform.release(), "load_average_at_start": os.getloadavg(),
    }  # fmt: skip


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else Sizes()
    libs = [lib for lib in LIBRARIES if not args.only or lib.name in args.only.split(",")]
    workloads = [w for w in WORKLOADS if not args.workloads or w in args.workloads.split(",")]
    pythons = environments()
    redis = PrivateRedis()
    redis.start()
    started = time.monotonic()
    runs: dict[str, dict[str, list[float]]] = {lib.name: {} for lib in libs}
    base = Path(tempfile.mkdtemp(prefix="stellar-bench-"))
    try:
        runner = Runner(pythons, redis, base)
        bench = Bench(runner, sizes, base)
        reps = max(sizes.reps[w] for w in workloads)
        slow: set[tuple[str, str]] = set()  # (library, workload) too slow to repeat
        for rep in range(reps):
            order = libs[rep % len(libs) :] + libs[: rep % len(libs)]
            for workload in workloads:
                if rep >= sizes.reps[workload]:
                    continue
                for lib in order:
                    if (lib.name, workload) in slow:
                        continue
                    measure: Callable[[Library], dict[str, float]] = getattr(bench, workload)
                    t0 = time.monotonic()
                    try:
                        result = measure(lib)
                    except Exception as exc:  # one library failing must not sink the run
                        print(f"  {lib.name} {workload}: FAILED: {exc}", flush=True)
                        continue
                    for metric, value in result.items():
                        runs[lib.name].setdefault(metric, []).append(value)
                    if time.monotonic() - t0 > SLOW:
                        slow.add((lib.name, workload))
                    shown = ", ".join(f"{k}={_fmt(v)}" for k, v in result.items())
                    print(f"  rep {rep + 1} {workload:<8} {lib.name:<15} {shown} "
                          f"({time.monotonic() - t0:.1f} s)", flush=True)  # fmt: skip
    finally:
        redis.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    elapsed = time.monotonic() - started
    table = medians(runs)
    for metrics in table.values():
        if metrics.get("drain1") and metrics.get("drain2"):
            metrics["drain_scaling"] = metrics["drain2"] / metrics["drain1"]
    print()
    print(render(table, libs))
    print(f"\n{len(libs)} libraries, {elapsed / 60:.1f} min; medians of up to "
          + ", ".join(f"{w} x{sizes.reps[w]}" for w in workloads)
          + f" runs (a measurement that took over {SLOW:.0f} s is not repeated)")  # fmt: skip
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 1),
        "machine": machine(),
        "versions": versions(pythons),
        "sizes": {k: v for k, v in vars(sizes).items()},
        "settings": {lib.name: lib.setting for lib in libs},
        "runs": runs,
        "medians": table,
        "best_peer": {m: best_peer(table, m) for m in METRICS},
        "ratios_to_best_peer": {
            lib.name: {
                m: ratio(v, bp[1], METRICS[m][2])
                for m, v in table[lib.name].items()
                if m in METRICS and (bp := best_peer(table, m)) is not None and v == v
            }
            for lib in libs
        },
    }
    record["markdown"] = render_markdown(table, libs)
    out = Path(args.out)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written {out}")


def profile(args: argparse.Namespace) -> None:
    """Profile one worker process of this project draining ``--jobs`` jobs: py-spy
    attaches to it once it is set up and records (idle samples included, so the share of
    time spent waiting on Redis shows) from the go signal until the last job ended."""
    pythons = environments()
    redis = PrivateRedis()
    redis.start()
    base = Path(tempfile.mkdtemp(prefix="stellar-bench-profile-"))
    lib = next(lib for lib in LIBRARIES if lib.name == args.library)
    try:
        runner = Runner(pythons, redis, base)
        runner.reset(lib)
        runner.client(lib, "fill", "--n", str(args.jobs), "--batch", "1000")
        stats = base / "stats"
        stats.mkdir()
        raw = base / "profile.raw"
        spy = str(pythons["main"].parent / "py-spy")
        with runner.workers(lib, 1, stats, go=False) as (pid,):
            recorder = subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "500",
                 "--idle", "--output", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)  # py-spy attached
            (stats / "go").write_text("")
            while sum(c["count"] for c in read_counts(stats)) < args.jobs:
                time.sleep(0.02)
            recorder.send_signal(signal.SIGINT)
            recorder.wait(60)
        counts = [c for c in read_counts(stats) if c["count"]]
        seconds = max(c["last"] for c in counts) - min(c["first"] for c in counts)
        text = summarize(raw, args.jobs, seconds, lib)
        target = BENCH / "profiles" / f"drain-{lib.name}.txt"
        target.write_text(text)
        print(text)
        print(f"written {target}")
    finally:
        redis.stop()
        shutil.rmtree(base, ignore_errors=True)


def summarize(raw: Path, jobs: int, seconds: float, lib: Library) -> str:
    """Self and inclusive time per function from py-spy's raw (collapsed) stacks, counting
    only samples taken while the worker drained (the event loop running jobs)."""
    import re
    from collections import Counter

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = [re.sub(r" \((?:.*/)?([^/]+):\d+\)", r" (\1)", f) for f in stack.split(";")]
        if not any("run_forever" in f for f in frames):
            continue  # other threads (the bench's counter, SQLite's), start-up
        total += int(n)
        if frames[-1].startswith("select (selectors.py)") or "EpollSelector.select" in frames[-1]:
            idle += int(n)
        own[frames[-1]] += int(n)
        for f in set(frames):
            inclusive[f] += int(n)
    out = [
        f"py-spy 0.4.3 profile of one {lib.name} worker process draining {jobs:,} no-op jobs",
        f"({lib.setting}); {jobs / seconds:,.0f} jobs/s under the profiler.",
        f"Samples of the event loop thread: {total} at 500 Hz, idle ones included: waiting "
        f"in epoll (for Redis) {100 * idle / max(total, 1):.1f}% of the time.",
        "",
        "Self time (top 40):",
    ]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(40)]
    out += ["", "Inclusive time (top 60):"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(60)]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "profile"])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--only", help="comma-separated library names")
    parser.add_argument("--workloads", help=f"comma-separated, of {','.join(WORKLOADS)}")
    parser.add_argument("--out", default=str(BENCH / "results.json"))
    parser.add_argument("--keep", action="store_true", help="keep the stats directories")
    parser.add_argument("--library", default="stellar-redis", help="profile: which library")
    parser.add_argument("--jobs", type=int, default=50_000, help="profile: jobs to drain")
    args = parser.parse_args()
    # started in the background, SIGINT may be ignored: make both signals unwind cleanly
    # (stop the workers and the private redis-server) instead of leaving them behind
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    (profile if args.command == "profile" else run)(args)


if __name__ == "__main__":
    main()
