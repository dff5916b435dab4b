"""GET /metrics: Prometheus' text format, one family per measure."""

from __future__ import annotations

import re
import time

import httpx
from starlette.applications import Starlette

from stellar import App
from tests.web.support import add_failure

LINE = re.compile(
    r'^[a-z_]+(\{[a-z_]+="(?:[^"\\]|\\.)*"(,[a-z_]+="(?:[^"\\]|\\.)*")*\})? -?[0-9.e+]+$'
)


def parse(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) stellar_[a-z_]+ .+$", line), line
            continue
        assert LINE.match(line), line
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


async def test_metrics_text_format_and_values(stellar_app: App, client: httpx.AsyncClient) -> None:
    tasks = stellar_app.api.tasks
    await tasks.enqueue_many("email.send", [{"n": n} for n in range(4)])
    await tasks.enqueue("email.send", {"q": 1}, queue='we"ird\\queue')
    await tasks.enqueue_at(time.time() - 30, "email.send", {"overdue": 1})
    await add_failure(stellar_app)
    await add_failure(stellar_app, params={"n": 2})
    assert stellar_app.backend is not None
    await stellar_app.backend.incr_stats({"processed": 7})
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE stellar_jobs_processed_total counter" in r.text
    assert "# TYPE stellar_queue_length gauge" in r.text
    values = parse(r.text)
    assert values['stellar_queue_length{queue="default"}'] == 4
    assert values['stellar_queue_length{queue="we\\"ird\\\\queue"}'] == 1
    assert values["stellar_jobs_processed_total"] == 7
    assert values["stellar_jobs_failed_total"] == 2
    assert values["stellar_failed_jobs"] == 2
    assert values["stellar_delayed_jobs"] == 1
    assert 25 <= values["stellar_delayed_overdue_seconds"] <= 60
    assert values["stellar_workers"] == 0 and values["stellar_workers_busy"] == 0
    assert values["stellar_scheduler_leader"] == 0
    assert values['stellar_queue_oldest_job_age_seconds{queue="default"}'] < 1


async def test_oldest_job_age_grows_while_the_head_stays(
    stellar_app: App, dashboard: Starlette, client: httpx.AsyncClient
) -> None:
    sampler = dashboard.state.dashboard.sampler
    await stellar_app.api.tasks.enqueue_many("email.send", [{"n": 1}, {"n": 2}])
    await sampler.tick()
    head = sampler.history._heads["default"]
    sampler.history._heads["default"] = type(head)(head.payload, head.length, head.since - 90)
    values = parse((await client.get("/metrics")).text)
    assert 90 <= values['stellar_queue_oldest_job_age_seconds{queue="default"}'] < 95
    await stellar_app.api.tasks.delete("default", "email.send", {"n": 1})
    values = parse((await client.get("/metrics")).text)
    assert values['stellar_queue_oldest_job_age_seconds{queue="default"}'] < 1
