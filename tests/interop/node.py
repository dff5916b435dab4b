"""Run the real node-resque (``tests/interop/js/*.js``) beside our code, on one Redis.

Each script reads a JSON spec on stdin and prints one JSON object per line (an
``event`` field names it); see the scripts' headers. :class:`Node` starts them against
the private redis-server of the test, :class:`NodeProcess` reads what they print.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

INTEROP = Path(__file__).resolve().parent
JS = INTEROP / "js"
NODE_RESQUE = INTEROP / "node_modules" / "node-resque" / "package.json"

Event = dict[str, Any]


class NodeError(AssertionError):
    """A node script failed, or did not print what the test waited for."""


class NodeProcess:
    """One running script: its events so far, its stderr, and ways to stop it."""

    def __init__(self, script: str, process: asyncio.subprocess.Process) -> None:
        self.script = script
        self.process = process
        self.events: list[Event] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Event()
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.ensure_future(self._read_events(process.stdout)),
            asyncio.ensure_future(self._read_stderr(process.stderr)),
        ]

    @property
    def pid(self) -> int:
        return self.process.pid

    async def _read_events(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.stderr.append(f"(stdout, not JSON) {line.decode(errors='replace')}")
            self._changed.set()
        self._changed.set()

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode(errors="replace").rstrip("\n"))

    def of(self, kind: str) -> list[Event]:
        """Every event of that kind so far."""
        return [e for e in self.events if e.get("event") == kind]

    def _describe(self) -> str:
        tail = "\n".join(self.stderr[-30:])
        return f"node {self.script} (pid {self.pid}) events={self.events[-10:]} stderr:\n{tail}"

    async def wait_for(
        self,
        kind: str,
        check: Callable[[list[Event]], bool] | None = None,
        timeout: float = 15,
    ) -> list[Event]:
        """Wait until the events of ``kind`` satisfy ``check`` (default: there is one)."""
        check = check or bool
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(kind)
            if check(found):
                return found
            if self.process.returncode is not None and self._readers[0].done():
                raise NodeError(f"exited ({self.process.returncode}) before {kind!r}: "
                                + self._describe())  # fmt: skip
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NodeError(f"no {kind!r} within {timeout} s: " + self._describe())
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.2)):
                    await self._changed.wait()

    async def wait(self, timeout: float = 30) -> list[Event]:
        """Wait for the script to exit by itself; it must succeed."""
        try:
            async with asyncio.timeout(timeout):
                code = await self.process.wait()
                await asyncio.gather(*self._readers)
        except TimeoutError:
            self.kill()
            raise NodeError(f"did not finish within {timeout} s: " + self._describe()) from None
        if code != 0:
            raise NodeError(f"exited with {code}: " + self._describe())
        return self.events

    async def stop(self, timeout: float = 15) -> list[Event]:
        """SIGTERM: the script ends its worker or scheduler gracefully, then exits 0."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: nothing is cleaned up (a crashed or stuck node process)."""
        if self.process.returncode is None:
            self.process.kill()

    async def reap(self) -> None:
        self.kill()
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


class Node:
    """Starts node-resque scripts against one Redis and namespace."""

    def __init__(self, node: str, redis_url: str, namespace: str = "resque") -> None:
        parts = urlsplit(redis_url)
        self.node = node
        self.connection = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 6379,
            "database": int(parts.path.strip("/") or 0),
            "namespace": namespace,
        }
        self.started: list[NodeProcess] = []

    async def start(self, script: str, **spec: Any) -> NodeProcess:
        process = await asyncio.create_subprocess_exec(
            self.node, str(JS / f"{script}.js"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=str(INTEROP),
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )  # fmt: skip
        assert process.stdin is not None
        process.stdin.write(json.dumps({"connection": self.connection, **spec}).encode())
        await process.stdin.drain()
        process.stdin.close()
        handle = NodeProcess(script, process)
        self.started.append(handle)
        return handle

    async def queue(self, *calls: Sequence[Any], jobs: dict[str, Any] | None = None) -> list[Any]:
        """Run Queue API calls in order; returns their results (raises on an error)."""
        outcomes = await self.queue_outcomes(*calls, jobs=jobs)
        for call, outcome in zip(calls, outcomes, strict=True):
            if "error" in outcome:
                raise NodeError(f"queue.{call[0]} failed: {outcome['error']}")
        return [outcome["result"] for outcome in outcomes]

    async def queue_outcomes(
        self, *calls: Sequence[Any], jobs: dict[str, Any] | None = None
    ) -> list[Event]:
        """Run Queue API calls; returns ``{"result": ...}`` or ``{"error": ...}`` each."""
        handle = await self.start("queue", calls=[list(c) for c in calls], jobs=jobs or {})
        events = await handle.wait()
        return [e for e in events if e.get("event") == "result"]

    async def worker(
        self, queues: Sequence[str], *, count: int = 0, jobs: dict[str, Any] | None = None,
        timeout: int = 50, **spec: Any,
    ) -> NodeProcess:  # fmt: skip
        """A Worker (``multi=True``: a MultiWorker) on ``queues``, registered when this
        returns; it exits by itself after ``count`` jobs (0: on :meth:`NodeProcess.stop`)."""
        handle = await self.start(
            "worker", queues=list(queues), count=count, jobs=jobs or {}, timeout=timeout, **spec
        )
        await handle.wait_for("ready")
        return handle

    async def scheduler(self, **spec: Any) -> NodeProcess:
        """A Scheduler (``timeout`` ms defaults to 50), started when this returns."""
        handle = await self.start("scheduler", **{"timeout": 50, **spec})
        await handle.wait_for("ready")
        return handle

    async def close(self) -> None:
        for handle in self.started:
            await handle.reap()
        self.started.clear()
