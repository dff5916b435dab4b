"""The JSON API under /api: every listing is paged, every action goes through api.tasks."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from stellar import App, Task
from stellar.web import create_app
from tests.web.conftest import AUTH, client_for
from tests.web.support import TASKS, XSS, add_failure, make_app, send_email


async def test_overview_reports_queues_totals_leader_and_throughput(
    stellar_app: App, client: httpx.AsyncClient
) -> None:
    tasks = stellar_app.api.tasks
    await tasks.enqueue_many("email.send", [{"n": n} for n in range(3)])
    await tasks.enqueue("media.transcode", {"id": 1})
    await tasks.enqueue_in(600, "email.send", {"later": True})
    await add_failure(stellar_app)
    data = (await client.get("/api/overview")).json()
    assert data["queues"] == [
        {"name": "default", "length": 3, "oldest_age": 0.0},
        {"name": "media", "length": 1, "oldest_age": 0.0},
    ]
    assert data["totals"] == {
        "processed": 0, "failed": 1, "queued": 4, "delayed": 1, "failed_jobs": 1,
        "workers": 0, "busy": 0,
    }  # fmt: skip
    assert data["leader"] is None
    minutes = data["throughput"]["minutes"]
    assert len(minutes) == 60 and minutes[-1]["processed"] == 0
    assert minutes[0]["processed"] is None  # before the dashboard started: no history


async def test_queue_listing_is_paged(stellar_app: App, client: httpx.AsyncClient) -> None:
    await stellar_app.api.tasks.enqueue_many("email.send", [{"n": n} for n in range(120)])
    data = (await client.get("/api/queues/default", params={"page": 3, "per_page": 50})).json()
    assert (data["length"], data["page"], data["pages"], len(data["items"])) == (120, 3, 3, 20)
    assert data["items"][0]["position"] == 100
    assert data["items"][0]["args"] == [{"n": 100}]
    assert (
        data["items"][0]["payload"] == '{"class":"email.send","queue":"default","args":[{"n":100}]}'
    )
    beyond = (await client.get("/api/queues/default", params={"page": 99})).json()
    assert beyond["page"] == 3  # clamped to the last page
    empty = (await client.get("/api/queues/nothing-here")).json()
    assert (empty["length"], empty["items"], empty["pages"]) == (0, [], 1)
    assert (await client.get("/api/queues/default", params={"page": "x"})).status_code == 400
    names = (await client.get("/api/queues")).json()["items"]
    assert names == [{"name": "default", "length": 120}]


async def test_delete_one_queued_job(stellar_app: App, client: httpx.AsyncClient) -> None:
    tasks = stellar_app.api.tasks
    await tasks.enqueue_many("email.send", [{"n": 1}, {"n": 2}, {"n": 1}])
    payload = (await client.get("/api/queues/default")).json()["items"][0]["payload"]
    r = await client.post(
        "/api/queues/delete", json={"queue": "default", "payload": payload}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == 1
    assert [j.params for j in await tasks.queued("default")] == [{"n": 2}, {"n": 1}]
    gone = '{"class":"email.send","queue":"default","args":[{"n":9}]}'
    r = await client.post(
        "/api/queues/delete", json={"queue": "default", "payload": gone}, headers=AUTH
    )
    assert r.status_code == 404
    foreign = '{"class":"email.send","queue":"default","args":[1,2]}'
    r = await client.post(
        "/api/queues/delete", json={"queue": "default", "payload": foreign}, headers=AUTH
    )
    assert r.status_code == 400 and "exactly one argument" in r.json()["error"]


async def test_delayed_by_time_paged_and_deletions(
    stellar_app: App, client: httpx.AsyncClient
) -> None:
    tasks = stellar_app.api.tasks
    start = int(time.time()) + 1000
    for i in range(25):
        await tasks.enqueue_at(start + i * 60, "email.send", {"i": i})
    await tasks.enqueue_at(start, "report.build", {"same": "second"})
    data = (await client.get("/api/delayed", params={"per_page": 10})).json()
    assert (data["jobs"], data["total"], data["pages"]) == (26, 25, 3)
    first = data["items"][0]
    assert first["timestamp"] == start and first["count"] == 2
    assert [j["task"] for j in first["jobs"]] == ["email.send", "report.build"]
    r = await client.post(
        "/api/delayed/delete", json={"payload": first["jobs"][1]["payload"]}, headers=AUTH
    )
    assert r.status_code == 200 and len(r.json()["removed_from"]) == 1
    r = await client.post("/api/delayed/delete-at", json={"timestamp": start + 60}, headers=AUTH)
    assert r.json()["removed"] == 1
    assert len(await tasks.timestamps()) == 24
    r = await client.post("/api/delayed/delete-at", json={"timestamp": start + 60}, headers=AUTH)
    assert r.status_code == 404


async def test_failed_listing_newest_first_and_retry_one(
    stellar_app: App, client: httpx.AsyncClient
) -> None:
    for i in range(30):
        await add_failure(stellar_app, params={"id": i}, error=f"failure {i}")
    data = (await client.get("/api/failed", params={"per_page": 10, "page": 2})).json()
    assert (data["total"], data["pages"], data["filtered"]) == (30, 3, False)
    item = data["items"][0]
    assert (item["index"], item["error"], item["args"]) == (19, "failure 19", [{"id": 19}])
    assert item["exception"] == "ValueError" and item["backtrace"]
    assert item["payload"] == '{"class":"report.build","queue":"default","args":[{"id":19}]}'
    r = await client.post(
        "/api/failed/retry", json={"id": item["id"], "index": item["index"]}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    tasks = stellar_app.api.tasks
    assert await tasks.failed_count() == 29
    assert [j.params for j in await tasks.queued("default")] == [{"id": 19}]
    r = await client.post("/api/failed/retry", json={"id": item["id"], "index": 19}, headers=AUTH)
    assert r.status_code == 404
    # a stale index still finds the record: older ones were removed meanwhile
    other = data["items"][1]
    await tasks.remove_failed((await tasks.failed(0, 0))[0])
    r = await client.post(
        "/api/failed/remove", json={"id": other["id"], "index": other["index"]}, headers=AUTH
    )
    assert r.status_code == 200 and await tasks.failed_count() == 27


async def test_failed_filter_cursor_and_bulk_actions(
    stellar_app: App, client: httpx.AsyncClient
) -> None:
    for i in range(12):
        kind = "KeyError" if i % 3 == 0 else "ValueError"
        await add_failure(stellar_app, params={"id": i}, exception=kind, error=f"problem {i}")
    data = (await client.get("/api/failed", params={"exception": "KeyError", "per_page": 3})).json()
    assert data["filtered"] and [i["args"][0]["id"] for i in data["items"]] == [9, 6, 3]
    older = (
        await client.get(
            "/api/failed",
            params={"exception": "KeyError", "per_page": 3, "before": data["next_before"]},
        )
    ).json()
    assert [i["args"][0]["id"] for i in older["items"]] == [0] and older["next_before"] is None
    text = (await client.get("/api/failed", params={"q": "PROBLEM 1"})).json()
    assert sorted(i["args"][0]["id"] for i in text["items"]) == [1, 10, 11]
    r = await client.post("/api/failed/retry-all", json={"exception": "KeyError"}, headers=AUTH)
    assert r.json()["done"] == 4
    tasks = stellar_app.api.tasks
    assert await tasks.length("default") == 4 and await tasks.failed_count() == 8
    r = await client.post("/api/failed/remove-all", json={"q": "problem 1"}, headers=AUTH)
    assert r.json()["done"] == 3  # 1, 10, 11
    r = await client.post("/api/failed/remove-all", json={}, headers=AUTH)
    assert r.json()["done"] == 5 and await tasks.failed_count() == 0


async def test_workers_listing_and_force_clean(stellar_app: App, client: httpx.AsyncClient) -> None:
    backend = stellar_app.backend
    assert backend is not None
    tasks = stellar_app.api.tasks
    await tasks.enqueue("media.transcode", {"id": 7})
    now = time.time()
    await backend.register_worker("box:1+1", "media", now - 30)
    await backend.register_worker("box:1+2", "*", now)
    await backend.claim(["media"], "box:1+1", "media", now - 20)
    data = (await client.get("/api/workers")).json()
    assert (data["total"], data["busy"]) == (2, 1)
    busy = data["items"][0]
    assert busy["name"] == "box:1+1" and busy["job"]["task"] == "media.transcode"
    assert busy["job"]["args"] == [{"id": 7}] and busy["job"]["run_at"]
    assert data["items"][1]["job"] is None
    r = await client.post(
        "/api/workers/clean", json={"name": "box:1+1", "requeue": True}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    assert await tasks.length("media") == 1 and await tasks.failed_count() == 0
    r = await client.post("/api/workers/clean", json={"name": "box:1+2"}, headers=AUTH)
    assert r.status_code == 200
    r = await client.post("/api/workers/clean", json={"name": "box:1+2"}, headers=AUTH)
    assert r.status_code == 404
    assert (await client.get("/api/workers")).json()["items"] == []


async def test_locks_listing_and_delete(stellar_app: App, client: httpx.AsyncClient) -> None:
    backend = stellar_app.backend
    assert backend is not None
    for i in range(3):
        await backend.acquire_lock(f"lock:report.build:{i}", "x", 3600)
    data = (await client.get("/api/locks", params={"per_page": 2})).json()
    assert (data["total"], data["pages"]) == (3, 2)
    assert [i["name"] for i in data["items"]] == ["lock:report.build:0", "lock:report.build:1"]
    r = await client.post("/api/locks/delete", json={"name": "lock:report.build:0"}, headers=AUTH)
    assert r.status_code == 200
    r = await client.post("/api/locks/delete", json={"name": "lock:report.build:0"}, headers=AUTH)
    assert r.status_code == 404


async def test_periodic_stop_and_start(stellar_app: App, client: httpx.AsyncClient) -> None:
    tasks = stellar_app.api.tasks
    await tasks.enqueue_recurrent("sessions.cleanup")
    data = (await client.get("/api/periodic")).json()
    states = {i["name"]: i["state"] for i in data["items"]}
    assert states == {"reports.nightly": "queued", "sessions.cleanup": "scheduled"}
    r = await client.post("/api/periodic/stop", json={"task": "sessions.cleanup"}, headers=AUTH)
    assert r.json()["removed"] == 1
    item = next(i for i in (await client.get("/api/periodic")).json()["items"] if i["stopped"])
    assert item["name"] == "sessions.cleanup" and item["next_run"] is None
    r = await client.post("/api/periodic/start", json={"task": "sessions.cleanup"}, headers=AUTH)
    assert r.json()["seeded"] is True
    r = await client.post("/api/periodic/stop", json={"task": "email.send"}, headers=AUTH)
    assert r.status_code == 400 and "not a periodic task" in r.json()["error"]
    r = await client.post("/api/periodic/stop", json={"task": "nope"}, headers=AUTH)
    assert r.status_code == 404


async def test_task_definitions(client: httpx.AsyncClient) -> None:
    items = (await client.get("/api/tasks")).json()["items"]
    cleanup = next(i for i in items if i["name"] == "sessions.cleanup")
    assert cleanup == {
        "name": "sessions.cleanup", "description": "Drop expired sessions",
        "queue": "maintenance", "frequency": 300, "timeout": None, "plugins": [],
        "kind": "async",
    }  # fmt: skip


async def test_payloads_are_escaped_in_pages_and_plain_in_json(
    stellar_app: App, client: httpx.AsyncClient
) -> None:
    await stellar_app.api.tasks.enqueue("email.send", {"html": XSS})
    await add_failure(stellar_app, params={"html": XSS}, error=XSS)
    for path in ("/queues/default", "/failed", "/"):
        page = (await client.get(path)).text
        assert "<script>window" not in page and "<img src=x" not in page
        assert "\\u003cscript\\u003e" in page or path == "/"  # the embedded JSON
    data = (await client.get("/api/failed")).json()
    assert data["items"][0]["error"] == XSS  # JSON carries the exact text


async def test_task_descriptions_are_escaped(tmp_path: Path) -> None:
    odd = Task(name="odd.<b>", description=XSS, run=send_email)
    async with make_app(tmp_path, tasks=[*TASKS, odd]) as app:
        client = client_for(create_app(app, sample_interval=0))
        async with client:
            page = (await client.get("/tasks")).text
    assert "odd.&lt;b&gt;" in page and "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page
    assert "<script>window" not in page


async def test_unknown_things_and_stopped_application(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    web = create_app(app, token="t", sample_interval=0)
    async with client_for(web) as client:
        r = await client.get("/api/overview")
        assert r.status_code == 503 and "not started" in r.json()["error"]
        assert (await client.get("/")).status_code == 503
        assert (await client.get("/nope")).status_code == 404


async def test_mounted_under_a_prefix_inside_another_application(stellar_app: App) -> None:
    web = create_app(stellar_app, token="t", sample_interval=0)
    host = Starlette(routes=[Mount("/ops/tasks", app=web)])
    async with client_for(host) as client:
        page = await client.get("/ops/tasks/")
        assert page.status_code == 200
        assert 'href="/ops/tasks/static/dashboard.css' in page.text
        assert 'data-api="/ops/tasks/api/overview"' in page.text
        cookie = page.headers["set-cookie"]
        assert "Path=/ops/tasks/" in cookie and "HttpOnly" in cookie
        assert (await client.get("/ops/tasks/api/queues")).status_code == 200
        assert (await client.get("/ops/tasks/static/dashboard.js")).status_code == 200
        login = await client.get("/ops/tasks/failed", headers={"host": "tasks.example.com"})
        assert login.headers["location"] == "/ops/tasks/login?next=%2Fops%2Ftasks%2Ffailed"


async def test_two_dashboards_in_one_process_share_nothing(tmp_path: Path) -> None:
    async with make_app(tmp_path / "a") as a, make_app(tmp_path / "b") as b:
        await a.api.tasks.enqueue("email.send", {})
        web_a = create_app(a, sample_interval=0)
        web_b = create_app(b, sample_interval=0)
        assert web_a.state.dashboard.guard is not web_b.state.dashboard.guard
        async with client_for(web_a) as ca, client_for(web_b) as cb:
            assert (await ca.get("/api/overview")).json()["totals"]["queued"] == 1
            assert (await cb.get("/api/overview")).json()["totals"]["queued"] == 0


@pytest.mark.parametrize("backend_name", ["sqlite", "redis"])
async def test_every_endpoint_answers_on_each_backend(
    request: pytest.FixtureRequest, tmp_path: Path, backend_name: str
) -> None:
    url = (
        f"sqlite:///{tmp_path}/t.db"
        if backend_name == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    async with make_app(tmp_path, backend=url) as app:
        tasks = app.api.tasks
        await tasks.enqueue_many("email.send", [{"n": n} for n in range(5)])
        await tasks.enqueue_in(300, "email.send", {"later": 1})
        await add_failure(app, params={"id": 1})
        web = create_app(app, token="t", sample_interval=0)
        async with client_for(web) as client:
            for path in ("/", "/queues/default", "/delayed", "/failed", "/workers", "/locks",
                         "/periodic", "/tasks", "/login", "/metrics", "/api/overview",
                         "/api/queues", "/api/delayed", "/api/failed", "/api/workers",
                         "/api/locks", "/api/periodic", "/api/tasks"):  # fmt: skip
                assert (await client.get(path)).status_code == 200, path
            item = (await client.get("/api/failed")).json()["items"][0]
            r = await client.post(
                "/api/failed/retry", json={"id": item["id"], "index": item["index"]},
                headers={"Authorization": "Bearer t"},
            )  # fmt: skip
            assert r.status_code == 200 and await tasks.length("default") == 6
