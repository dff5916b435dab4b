"""Every management command against a real application: output and exit code."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from stellar import Tasks
from stellar.api import failed_id
from stellar.backends import Backend
from stellar.codec import encode_job
from tests.api.helpers import add_failed, failure_record
from tests.cli.conftest import Application

T0 = 4_000_000_000


def rows(text: str) -> list[list[str]]:
    """The cells of a rich table, one list per line (separators and rules dropped)."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)]
        if len(cells) > 1:
            out.append(cells)
    return out


# ---------------------------------------------------------------- queues


def test_queues_and_queue_show(app: Application) -> None:
    assert app.ok("queues").strip() == "no queues"

    async def setup(tasks: Tasks, backend: Backend) -> None:
        for n in range(3):
            await tasks.enqueue("mail.send", {"to": f"u{n}", "tag": "[bold]x"})
        await tasks.enqueue("report.build")

    app.state(setup)
    assert rows(app.ok("queues")) == [["queue", "length"], ["default", "3"], ["reports", "1"]]
    assert app.json("queues") == [
        {"name": "default", "length": 3},
        {"name": "reports", "length": 1},
    ]
    shown = rows(app.ok("queue", "show", "default", "--start", "1", "--limit", "1"))
    assert shown == [["#", "task", "params"], ["1", "mail.send", '{"to": "u1", "tag": "[bold]x"}']]
    data = app.json("queue", "show", "default")
    assert data["length"] == 3 and [j["args"][0]["to"] for j in data["jobs"]] == ["u0", "u1", "u2"]
    assert data["jobs"][0]["payload"] == encode_job(
        "mail.send", "default", [{"to": "u0", "tag": "[bold]x"}]
    )
    line = app.error("queue", "show", "nope")
    assert line == "Error: no queue named 'nope' (queues: default, reports)"


def test_queue_delete_whole_or_matching_jobs(app: Application) -> None:
    async def setup(tasks: Tasks, backend: Backend) -> None:
        for to in ["a", "b", "a", "a"]:
            await tasks.enqueue("mail.send", {"to": to})
        await tasks.enqueue("report.build", {"n": 1})

    app.state(setup)
    out = app.ok("queue", "delete", "default", "--task", "mail.send", "--params", '{"to":"a"}',
                 "--count", "-1")  # fmt: skip
    assert out.strip() == """removed 1 job(s) of mail.send {"to": "a"} from queue 'default'"""
    data = app.json("queue", "delete", "default", "--task", "mail.send", "--params", '{"to":"a"}')
    assert data == {"queue": "default", "task": "mail.send", "removed": 2}
    assert (
        app.ok("queue", "delete", "default").strip() == "deleted queue 'default' and its 1 job(s)"
    )
    assert app.json("queues") == [{"name": "reports", "length": 1}]
    assert "--params and --count need --task" in app.error(
        "queue", "delete", "reports", "--count", "1", code=2
    )
    assert "not valid JSON" in app.error(
        "queue", "delete", "reports", "--task", "x", "--params", "{"
    )
    assert app.error("queue", "delete", "default").startswith("Error: no queue named 'default'")


# ----------------------------------------------------- stats, details, workers


def test_stats_details_and_workers(app: Application) -> None:
    assert app.ok("stats").strip() == "no stats yet"
    assert app.ok("workers").strip() == "no workers"
    now = time.time()

    async def setup(tasks: Tasks, backend: Backend) -> None:
        await backend.finish("web:7+1", "*")
        await backend.register_worker("web:7+1", "default", now)
        await backend.register_worker("web:7+2", "default", now)
        await tasks.enqueue("mail.send", {"to": "busy"})
        await backend.claim(["default"], "web:7+2", "default", now)
        await tasks.enqueue("mail.send", {"to": "waiting"})
        await tasks.enqueue_at(T0, "mail.send")
        await backend.acquire_leader("sched:9", 60)

    app.state(setup)
    assert rows(app.ok("stats")) == [
        ["stat", "value"],
        ["processed", "1"],
        ["processed:web:7+1", "1"],
    ]
    assert app.json("stats") == {"processed": 1, "processed:web:7+1": 1}
    table = rows(app.ok("workers"))
    assert [r[:4] for r in table] == [
        ["worker", "queues", "working on", "params"],
        ["web:7+1", "default", "idle", ""],
        ["web:7+2", "default", "mail.send", '{"to": "busy"}'],
    ]
    workers = app.json("workers")
    assert workers[1]["working_on"]["task"] == "mail.send"
    assert workers[1]["working_on"]["args"] == [{"to": "busy"}]
    assert workers[0]["working_on"] is None and workers[0]["last_ping"] is not None
    details = app.json("details")
    assert details["queues"] == [{"name": "default", "length": 1}]
    assert [w["name"] for w in details["workers"]] == ["web:7+1", "web:7+2"]
    assert details["stats"] == {"processed": 1, "processed:web:7+1": 1}
    assert (details["leader"], details["delayed"], details["failed"]) == ("sched:9", 1, 0)
    human = app.ok("details")
    for part in ["Queues", "Workers", "web:7+2", "mail.send", "Scheduler leader: sched:9",
                 "Delayed jobs: 1", "Failed jobs: 0"]:  # fmt: skip
        assert part in human


def test_workers_clean_and_clean_old_workers(app: Application) -> None:
    old = time.time() - 7200

    async def setup(tasks: Tasks, backend: Backend) -> None:
        for name in ["gone:1+1", "gone:1+2", "gone:1+3"]:
            await backend.register_worker(name, "default", old)
        await tasks.enqueue("mail.send", {"to": "x"})
        await backend.claim(["default"], "gone:1+2", "default", old)
        await backend.register_worker("live:1+1", "default", time.time())

    app.state(setup)
    out = app.ok("workers", "clean", "gone:1+1")
    assert out.strip() == "cleaned worker gone:1+1: it was idle"
    assert (
        app.error("workers", "clean", "gone:1+1")
        == "Error: no worker named 'gone:1+1' is registered"
    )
    assert app.json("clean-old-workers", "1h") == {
        "cleaned": {
            "gone:1+2": {"task": "mail.send", "queue": "default",
                         "error": app.state(_first_error)},
            "gone:1+3": None,
        }
    }  # fmt: skip
    assert app.ok("clean-old-workers", "90m").strip() == "no worker to clean"
    assert [w["name"] for w in app.json("workers")] == ["live:1+1"]
    assert "Invalid value for AGE: 'soon'" in app.error("clean-old-workers", "soon", code=2)


async def _first_error(tasks: Tasks, backend: Backend) -> str:
    [record] = await tasks.failed()
    return record.error


def test_workers_clean_requeue(app: Application) -> None:
    async def setup(tasks: Tasks, backend: Backend) -> None:
        await backend.register_worker("gone:2+1", "default", time.time())
        await tasks.enqueue("mail.send", {"to": "again"})
        await backend.claim(["default"], "gone:2+1", "default", time.time())

    app.state(setup)
    out = app.ok("workers", "clean", "gone:2+1", "--requeue")
    assert out.strip() == "cleaned worker gone:2+1: its job went back to queue 'default'"
    assert app.json("queue", "show", "default")["jobs"][0]["args"] == [{"to": "again"}]


# ---------------------------------------------------------------- locks


def test_locks_and_lock_delete(app: Application) -> None:
    assert app.ok("locks").strip() == "no locks"

    async def setup(tasks: Tasks, backend: Backend) -> None:
        await backend.acquire_lock("lock:mail.send:default:[{}]", str(T0), 3600)

    app.state(setup)
    table = rows(app.ok("locks"))
    assert table[1][0] == "lock:mail.send:default:[{}]"
    assert table[1][1].startswith(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(T0)))
    assert app.json("locks") == {"lock:mail.send:default:[{}]": "2096-10-02T07:06:40+00:00"}
    out = app.ok("lock", "delete", "lock:mail.send:default:[{}]")
    assert out.strip() == "deleted lock 'lock:mail.send:default:[{}]'"
    line = app.error("lock", "delete", "lock:mail.send:default:[{}]")
    assert line == "Error: no lock named 'lock:mail.send:default:[{}]' (`stellar locks` lists them)"


# -------------------------------------------------------------- delayed


def test_delayed_list_find_and_delete(app: Application) -> None:
    assert app.ok("delayed").strip() == "no delayed jobs"

    async def setup(tasks: Tasks, backend: Backend) -> None:
        await tasks.enqueue_at(T0, "mail.send", {"to": "a"})
        await tasks.enqueue_at(T0 + 60, "mail.send", {"to": "a"})
        await tasks.enqueue_at(T0 + 60, "report.build", {"n": 1})
        await tasks.enqueue_at(T0 + 120, "report.build", {"n": 2})
        await tasks.enqueue_at(T0 + 180, "report.build", {"n": 3})

    app.state(setup)
    table = rows(app.ok("delayed"))
    assert [r[1:] for r in table] == [
        ["timestamp", "task", "queue", "params"],
        [str(T0), "mail.send", "default", '{"to": "a"}'],
        [str(T0 + 60), "mail.send", "default", '{"to": "a"}'],
        [str(T0 + 60), "report.build", "reports", '{"n": 1}'],
        [str(T0 + 120), "report.build", "reports", '{"n": 2}'],
        [str(T0 + 180), "report.build", "reports", '{"n": 3}'],
    ]
    listing = app.json("delayed")
    assert [d["timestamp"] for d in listing] == [T0, T0 + 60, T0 + 120, T0 + 180]
    assert listing[1]["jobs"][1]["args"] == [{"n": 1}]
    found = app.json("delayed", "find", "mail.send", "--params", '{"to": "a"}')
    assert found["at"] == ["2096-10-02T07:06:40+00:00", "2096-10-02T07:07:40+00:00"]
    assert "is not delayed" in app.ok("delayed", "find", "mail.send")
    removed = app.json("delayed", "delete", "--task", "mail.send", "--params", '{"to":"a"}')
    assert removed["removed"] == found["at"] and removed["queue"] == "default"
    assert app.ok("delayed", "delete", "--at", str(T0 + 120)).startswith(
        "removed 1 delayed job(s) due at"
    )
    assert app.json("delayed", "delete", "--at", "2096-10-02T07:07:40+00:00") == {"removed": 1}
    assert app.ok("delayed", "delete", "--all").strip() == "removed 1 delayed job(s)"
    assert app.json("delayed") == []
    assert "exactly one of" in app.error("delayed", "delete", code=2)
    assert "exactly one of" in app.error("delayed", "delete", "--all", "--at", "1", code=2)
    assert "not registered in this application: give --queue" in app.error(
        "delayed", "find", "node.task"
    )
    assert "expected unix seconds" in app.error("delayed", "delete", "--at", "tomorrow")


# ------------------------------------------------------------ recurrent


def test_recurrent_list_stop_and_start(app: Application) -> None:
    table = rows(app.ok("recurrent"))
    assert table == [["task", "queue", "every", "state", "next run"],
                     ["mail.digest", "slow", "3600s", "active", "-"]]  # fmt: skip
    out = app.ok("recurrent", "start", "mail.digest")
    assert out.strip() == "started periodic task mail.digest: a copy is due now"
    assert app.json("recurrent", "start", "mail.digest") == {"task": "mail.digest", "seeded": False}
    [row] = app.json("recurrent")
    assert row["stopped"] is False and len(row["delayed_until"]) == 1
    assert app.json("recurrent", "stop", "mail.digest") == {"task": "mail.digest", "removed": 1}
    assert rows(app.ok("recurrent"))[1][3] == "stopped"
    assert app.state(lambda tasks, backend: tasks.stopped_recurrent()) == {"mail.digest"}
    assert "starts it again" in app.ok("recurrent", "stop", "mail.digest")
    assert (
        app.error("recurrent", "stop", "nope")
        == "Error: unknown task 'nope': no task file defines it"
    )
    line = app.error("recurrent", "start", "mail.send")
    assert line == "Error: task 'mail.send' has no frequency: it is not a periodic task"


# --------------------------------------------------------------- failed


def fill_failed(app: Application) -> list[str]:
    records = [
        failure_record("mail.send", {"to": "a"}),
        failure_record("report.build", {"n": 1}, queue="reports", exception="KeyError"),
        failure_record("mail.send", {"to": "b"}, exception="KeyError"),
        failure_record("mail.send", {"to": "c"}),
    ]

    async def setup(tasks: Tasks, backend: Backend) -> None:
        await add_failed(backend, *records)

    app.state(setup)
    return records


def ref(index: int, record: str) -> str:
    from stellar.codec import decode_failure

    return f"{index}:{failed_id(decode_failure(record))}"


def test_failed_list_and_show(app: Application) -> None:
    assert app.ok("failed", "list").strip() == "no failed jobs shown (0 in all)"
    records = fill_failed(app)
    table = rows(app.ok("failed", "list"))
    assert [r[:4] for r in table] == [
        ["ref", "task", "queue", "exception"],
        [ref(0, records[0]), "mail.send", "default", "ValueError"],
        [ref(1, records[1]), "report.build", "reports", "KeyError"],
        [ref(2, records[2]), "mail.send", "default", "KeyError"],
        [ref(3, records[3]), "mail.send", "default", "ValueError"],
    ]
    assert "4 shown of 4 failed job(s)" in app.ok("failed", "list")
    page = app.json("failed", "list", "--task", "mail.*", "--start", "1", "--limit", "1")
    assert page["total"] == 4 and page["next_start"] == 3
    [entry] = page["jobs"]
    assert (entry["index"], entry["ref"], entry["args"]) == (2, ref(2, records[2]), [{"to": "b"}])
    assert entry["record"] == records[2]
    assert "more with --start 3" in app.ok(
        "failed", "list", "--task", "mail.*", "--start", "1", "--limit", "1"
    )
    only = app.json("failed", "list", "--exception", "KeyError", "--queue", "reports")
    assert [j["index"] for j in only["jobs"]] == [1] and only["next_start"] is None
    shown = app.ok("failed", "show", ref(1, records[1]))
    for part in [ref(1, records[1]), "report.build", '{"n": 1}', "KeyError", "backtrace"]:
        assert part in shown
    assert app.json("failed", "show", "3")["args"] == [{"to": "c"}]
    assert (
        app.error("failed", "show", "9")
        == "Error: there is no failed job at index 9: the failed list holds 4"
    )
    assert "name a failed job by its ref" in app.error("failed", "show", "x", code=2)


def test_failed_retry_and_remove_one(app: Application) -> None:
    records = fill_failed(app)
    assert "INDEX:ID" in app.error("failed", "retry", "1", code=2)  # an index alone is refused
    out = app.ok("failed", "retry", ref(1, records[1]))
    assert out.strip() == f"retried failed job {ref(1, records[1])} in queue 'reports'"
    assert app.json("queue", "show", "reports")["jobs"][0]["args"] == [{"n": 1}]
    # record 3 moved to index 2: its old ref still names it, by its id
    assert app.json("failed", "remove", ref(3, records[3])) == {
        "removed": 1,
        "ref": ref(2, records[3]),
    }
    line = app.error("failed", "retry", ref(1, records[1]))
    assert line == f"Error: failed job {ref(1, records[1])} is no longer in the failed list"
    assert [j["record"] for j in app.json("failed", "list")["jobs"]] == [records[0], records[2]]
    assert "give a REF, --all, or a filter" in app.error("failed", "remove", code=2)
    assert "not both" in app.error("failed", "remove", ref(0, records[0]), "--all", code=2)


def test_failed_bulk_retry_and_remove(app: Application) -> None:
    records = fill_failed(app)
    out = app.ok("failed", "retry", "--task", "mail.send", "--exception", "ValueError")
    assert out.strip() == "retried 2 of 2 matching failed job(s)"
    assert [j["args"][0]["to"] for j in app.json("queue", "show", "default")["jobs"]] == ["a", "c"]
    data = app.json("failed", "remove", "--queue", "reports")
    assert data == {"removed": 1, "matched": 1, "examined": 2, "kept": 0, "missing": 0}
    assert [j["record"] for j in app.json("failed", "list")["jobs"]] == [records[2]]
    assert app.json("failed", "retry", "--all")["retried"] == 1
    assert app.json("failed", "list")["total"] == 0
    assert app.ok("failed", "remove", "--all").strip() == "removed 0 of 0 matching failed job(s)"


def test_a_vetoed_retry_is_an_error_and_the_job_stays_failed(app: Application) -> None:
    records = [failure_record("mail.never", {"n": 1}), failure_record("mail.send", {"n": 2})]

    async def setup(tasks: Tasks, backend: Backend) -> None:
        await add_failed(backend, *records)

    app.state(setup)
    line = app.error("failed", "retry", ref(0, records[0]))
    assert line == (
        f"Error: failed job {ref(0, records[0])} was not retried: a plugin of its task "
        "vetoed it (it stays in the failed list)"
    )
    data = app.json("failed", "retry", "--all")
    assert data == {"retried": 1, "matched": 2, "examined": 2, "kept": 1, "missing": 0}
    assert "1 kept" in app.ok("failed", "retry", "--task", "mail.*")
    assert [j["record"] for j in app.json("failed", "list")["jobs"]] == [records[0]]


def test_failed_retry_all_over_ten_thousand_jobs(app: Application) -> None:
    total = 10_000

    async def setup(tasks: Tasks, backend: Backend) -> None:
        await add_failed(backend, *[failure_record("mail.send", {"n": n}) for n in range(total)])

    app.state(setup)
    started = time.perf_counter()
    result = app.run("failed", "retry", "--all")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"retried {total} of {total} matching failed job(s)"
    assert "retrying failed jobs" in result.stderr and f"{total}/{total}" in result.stderr
    assert elapsed < 60

    async def check(tasks: Tasks, backend: Backend) -> tuple[int, int, list[int]]:
        edges = [j.params["n"] for j in await tasks.queued("default", 0, 1)]
        edges += [j.params["n"] for j in await tasks.queued("default", -1)]
        return await tasks.failed_count(), await tasks.length("default"), edges

    assert app.state(check) == (0, total, [0, 1, total - 1])


# --------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "args",
    [["queues"], ["failed", "list"], ["stats", "--json"], ["recurrent", "stop", "mail.digest"]],
)
def test_an_unreachable_backend_is_one_line_and_exit_1(app: Application, args: list[str]) -> None:
    (app.root / "stellar.toml").write_text('[tasks]\nbackend = "redis://127.0.0.1:9/0"\n')
    line = app.error(*args)
    assert "127.0.0.1:9" in line


def test_a_broken_task_file_is_one_clear_error(app: Application) -> None:
    (app.root / "modules/mail/tasks/bad.py").write_text(
        "from stellar import Task\nbad = Task(name='', description='x', run=print)\n"
    )
    result = app.run("queues")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "invalid task definition" in result.stderr and "bad.py" in result.stderr


def test_the_installed_command_exits_cleanly(app: Application) -> None:
    """The real entry point, in its own process: exit codes and one-line errors."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLAR_")}

    def stellar(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stellar.cli", "--app", str(app.root), *args],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip

    fill_failed(app)
    done = stellar("failed", "list", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["total"] == 4
    missing = stellar("lock", "delete", "lock:none")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip().splitlines()[-1] == (
        "Error: no lock named 'lock:none' (`stellar locks` lists them)"
    )
    usage = stellar("failed", "retry")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
