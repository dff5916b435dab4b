"""What only the SQLite backend promises: files, URLs, sharing, errors, lifecycle."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stellar.backends import Backend, open_backend
from stellar.backends.sqlite import SqliteBackend
from stellar.backends.sqlite.backend import SCHEMA_VERSION
from stellar.errors import BackendError, BackendUnavailable, ConfigError

from .payloads import job


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[SqliteBackend, SqliteBackend]]:
    """Two backends, as two processes would open them, on one file."""
    url = f"sqlite:///{tmp_path}/shared.db"
    first, second = SqliteBackend(url), SqliteBackend(url)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_sqlite_two_instances_share_one_file(
    pair: tuple[SqliteBackend, SqliteBackend],
) -> None:
    first, second = pair
    await first.push("q", [job()])
    assert await second.queued("q") == [job()]
    claimed = await second.claim(["q"], "w", "q", 1.0)
    assert claimed is not None
    assert await first.working_on("w", "q") == claimed.record
    assert await first.length("q") == 0
    assert await first.acquire_leader("a", 60)
    assert await second.acquire_leader("b", 60) is False
    assert await second.leader() == "a"


async def test_sqlite_concurrent_claims_take_each_job_once(
    pair: tuple[SqliteBackend, SqliteBackend],
) -> None:
    first, second = pair
    payloads = [job(params={"i": i}) for i in range(300)]
    await first.push("q", payloads)

    async def drain(store: SqliteBackend, worker: str) -> list[str]:
        got = []
        while (claimed := await store.claim(["q"], worker, "q", 1.0)) is not None:
            got.append(claimed.payload)
            await store.finish(worker, "q")
        return got

    a, b = await asyncio.gather(drain(first, "a"), drain(second, "b"))
    assert sorted(a + b) == sorted(payloads)
    assert a == [p for p in payloads if p in set(a)]  # each worker saw FIFO order
    assert (await first.stats())["processed"] == 300


async def test_sqlite_namespaces_share_a_file_without_mixing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ns.db"
    async with SqliteBackend(url) as one, SqliteBackend(url, namespace="other") as two:
        await one.push("q", [job(params=1)])
        await one.push_delayed(job(params=2), 100)
        await one.incr_stats({"processed": 1})
        await one.acquire_lock("lock:x", "1", 60)
        await one.acquire_leader("a", 60)
        await one.register_worker("w", "q", 1.0)
        await one.stop_recurrent("t")
        await one.finish("w", "q", failure="{}")
        assert await two.queues() == []
        assert await two.length("q") == 0
        assert await two.timestamps() == []
        assert await two.stats() == {}
        assert await two.locks() == {}
        assert await two.leader() is None
        assert await two.workers() == {}
        assert await two.stopped_recurrent() == set()
        assert await two.failed_count() == 0
        assert await two.claim(["q"], "w", "q", 1.0) is None
        assert await two.promote_due(1_000) == 0
        assert await one.delayed_count() == 1


def test_sqlite_backend_implements_the_protocol() -> None:
    assert isinstance(SqliteBackend("sqlite://:memory:"), Backend)


async def test_sqlite_relative_url_resolves_against_root_lazily(tmp_path: Path) -> None:
    store = SqliteBackend("sqlite:///data/deep/tasks.db", root=tmp_path)
    assert store.path == tmp_path / "data" / "deep" / "tasks.db"
    assert not (tmp_path / "data").exists()  # nothing happens before the first call
    try:
        await store.check()
        assert store.path.is_file()
    finally:
        await store.aclose()


async def test_sqlite_absolute_url_and_open_backend(tmp_path: Path) -> None:
    store = open_backend(f"sqlite:///{tmp_path}/abs.db", namespace="ns", root=Path("/else"))
    assert isinstance(store, SqliteBackend)
    assert store.path == tmp_path / "abs.db"
    assert (store.url, store.namespace) == (f"sqlite:///{tmp_path}/abs.db", "ns")
    await store.aclose()


async def test_sqlite_memory_databases_are_private() -> None:
    async with SqliteBackend("sqlite://:memory:") as one, SqliteBackend("sqlite://:memory:") as two:
        assert one.path is None
        await one.push("q", [job()])
        assert await one.queued("q") == [job()]
        assert await two.queued("q") == []


@pytest.mark.parametrize("url", ["sqlite:", "sqlite://", "sqlite://host/x.db", "redis:///x.db"])
def test_sqlite_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="sqlite"):
        SqliteBackend(url)


async def test_sqlite_directory_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a directory")
    path = tmp_path / "blocker" / "sub" / "tasks.db"
    async with SqliteBackend(f"sqlite:///{path}") as store:
        with pytest.raises(BackendUnavailable, match=str(path)):
            await store.push("q", [job()])
        with pytest.raises(BackendUnavailable, match=str(path)):
            await store.check()


async def test_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "adir.db").mkdir()
    async with SqliteBackend(f"sqlite:///{tmp_path}/adir.db") as store:
        with pytest.raises(BackendUnavailable, match="adir.db"):
            await store.length("q")


async def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"this is not an SQLite database file" * 100)
    async with SqliteBackend(f"sqlite:///{tmp_path}/junk.db") as store:
        with pytest.raises(BackendError, match="junk.db") as caught:
            await store.queues()
        assert not isinstance(caught.value, BackendUnavailable)


async def test_sqlite_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    async with SqliteBackend(f"sqlite:///{tmp_path}/v.db") as store:
        await store.check()
    with sqlite3.connect(tmp_path / "v.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    # reopening an up-to-date file keeps its data
    async with SqliteBackend(f"sqlite:///{tmp_path}/v.db") as store:
        await store.push("q", [job()])
    async with SqliteBackend(f"sqlite:///{tmp_path}/v.db") as store:
        assert await store.length("q") == 1


async def test_sqlite_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "new.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    async with SqliteBackend(f"sqlite:///{tmp_path}/new.db") as store:
        with pytest.raises(BackendError, match="upgrade stellar"):
            await store.check()


async def test_sqlite_aclose_is_idempotent_and_final(tmp_path: Path) -> None:
    store = SqliteBackend(f"sqlite:///{tmp_path}/c.db")
    await store.push("q", [job()])
    await store.aclose()
    await store.aclose()
    with pytest.raises(BackendError, match="closed"):
        await store.length("q")
    never_opened = SqliteBackend(f"sqlite:///{tmp_path}/never/c.db")
    await never_opened.aclose()
    assert not (tmp_path / "never").exists()


async def test_sqlite_write_failure_rolls_back_the_whole_step(tmp_path: Path) -> None:
    async with SqliteBackend(f"sqlite:///{tmp_path}/r.db") as store:
        await store.push("q", [job(params=1)])
        with pytest.raises(UnicodeEncodeError):
            await store.push("q", [job(params=2), "\ud800 lone surrogate"])
        assert await store.queued("q") == [job(params=1)]


async def test_sqlite_cancelled_caller_leaves_the_backend_usable(tmp_path: Path) -> None:
    async with SqliteBackend(f"sqlite:///{tmp_path}/x.db") as store:
        await store.push("q", [job()])
        task = asyncio.create_task(store.queued("q"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await store.queued("q") == [job()]


async def test_sqlite_many_concurrent_calls_on_one_backend(tmp_path: Path) -> None:
    async with SqliteBackend(f"sqlite:///{tmp_path}/x.db") as store:
        payloads = [job(params={"i": i}) for i in range(100)]
        await asyncio.gather(*(store.push("q", [p]) for p in payloads))
        assert sorted(await store.queued("q")) == sorted(payloads)


async def test_sqlite_another_process_shares_the_file(tmp_path: Path) -> None:
    db = tmp_path / "procs.db"
    script = (
        "import asyncio, sys\n"
        "from stellar.backends.sqlite import SqliteBackend\n"
        "async def main():\n"
        "    async with SqliteBackend(sys.argv[1]) as b:\n"
        "        for i in range(200):\n"
        "            await b.push('q', [f'job-{i}'])\n"
        "        await b.acquire_lock('lock:child', 'yes', 60)\n"
        "asyncio.run(main())\n"
    )
    async with SqliteBackend(f"sqlite:///{db}") as store:
        await store.check()
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, f"sqlite:///{db}"
        )
        got: list[str] = []
        while True:  # drain while the child pushes
            claimed = await store.claim(["q"], "w", "q", 1.0)
            if claimed is not None:
                got.append(claimed.payload)
                await store.finish("w", "q")
            elif child.returncode is not None:
                break
            else:
                await asyncio.sleep(0.005)
        assert await child.wait() == 0
        while (claimed := await store.claim(["q"], "w", "q", 1.0)) is not None:
            got.append(claimed.payload)
        assert got == [f"job-{i}" for i in range(200)]
        assert await store.get_lock("lock:child") == "yes"
