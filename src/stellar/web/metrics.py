"""``GET /metrics``: the Prometheus text exposition format (version 0.0.4), by hand."""

from __future__ import annotations

from collections.abc import Iterable

from stellar.api import Tasks
from stellar.web.history import History

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[dict[str, str], float]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return repr(value)


def family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        if labels:
            inside = ",".join(f'{key}="{_label(v)}"' for key, v in labels.items())
            lines.append(f"{name}{{{inside}}} {_number(value)}")
        else:
            lines.append(f"{name} {_number(value)}")
    return lines


async def render(tasks: Tasks, history: History, now: float) -> str:
    details = await tasks.details()
    stamps = await tasks.timestamps()
    overdue = max(0.0, now - stamps[0].timestamp()) if stamps else 0.0
    busy = sum(1 for w in details.workers if w.working_on is not None)
    lines: list[str] = []
    lines += family(
        "stellar_queue_length", "gauge", "Jobs waiting in the queue.",
        [({"queue": q.name}, q.length) for q in details.queues],
    )  # fmt: skip
    lines += family(
        "stellar_queue_oldest_job_age_seconds", "gauge",
        "How long the job at the head of the queue has been seen waiting there by this "
        "dashboard (a lower bound of the oldest job's wait; 0 when the queue is empty).",
        [({"queue": q.name}, round(history.oldest_age(q.name, now), 3)) for q in details.queues],
    )  # fmt: skip
    lines += family(
        "stellar_jobs_processed_total", "counter",
        "Jobs that succeeded (Resque's stat:processed).",
        [({}, details.stats.get("processed", 0))],
    )  # fmt: skip
    lines += family(
        "stellar_jobs_failed_total", "counter",
        "Jobs that failed (Resque's stat:failed).",
        [({}, details.stats.get("failed", 0))],
    )  # fmt: skip
    lines += family(
        "stellar_failed_jobs", "gauge", "Entries in the failed list.", [({}, details.failed)]
    )
    lines += family(
        "stellar_delayed_jobs", "gauge", "Jobs waiting for their time.", [({}, details.delayed)]
    )
    lines += family(
        "stellar_delayed_overdue_seconds", "gauge",
        "How long past its time the earliest delayed job is (0 when none is due): grows "
        "when no scheduler moves due jobs.",
        [({}, round(overdue, 3))],
    )  # fmt: skip
    lines += family("stellar_workers", "gauge", "Registered workers.", [({}, len(details.workers))])
    lines += family("stellar_workers_busy", "gauge", "Workers running a job.", [({}, busy)])
    lines += family(
        "stellar_scheduler_leader", "gauge",
        "1 when a scheduler holds the leader lock, else 0.",
        [({}, 1 if details.leader else 0)],
    )  # fmt: skip
    return "\n".join(lines) + "\n"
