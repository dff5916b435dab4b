"""The write side: every change the dashboard can make, each through ``api.tasks``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stellar.api import Tasks, failed_queue
from stellar.errors import FailedJobNotFound, InvalidParams, NotFound
from stellar.job import BulkResult
from stellar.web.views import FailedQuery, iso

JSON = dict[str, Any]


@dataclass(frozen=True)
class Payload:
    """A Stellar job named by its exact payload text: task, queue and its one params."""

    task: str
    queue: str
    params: Any

    @classmethod
    def parse(cls, text: str) -> Payload:
        """Read the job to delete. ``api.tasks.delete*`` match on the payload they encode
        from task, queue and params, so only jobs of that shape (one argument) can be
        named; deleting a foreign job with other args could hit a different job."""
        try:
            job = json.loads(text)
        except (TypeError, ValueError):
            raise InvalidParams("payload: not valid JSON") from None
        if not isinstance(job, dict) or not isinstance(job.get("class"), str):
            raise InvalidParams('payload: expected a job {"class": ..., "args": [...]}')
        args = job.get("args")
        if not isinstance(args, list) or len(args) != 1:
            raise InvalidParams(
                "payload: only jobs with exactly one argument (Stellar's params) can be "
                "deleted from the dashboard"
            )
        queue = job.get("queue")
        return cls(job["class"], queue if isinstance(queue, str) else "", args[0])


def _plural(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


# -------------------------------------------------------------------- queues
async def delete_queued(tasks: Tasks, queue: str, payload: str) -> JSON:
    job = Payload.parse(payload)
    removed = await tasks.delete(queue, job.task, job.params, count=1)
    if not removed:
        raise NotFound(f"that job is no longer in queue {queue!r}")
    return {"removed": removed, "message": f"Deleted one {job.task} job from {queue}"}


# ------------------------------------------------------------------- delayed
async def delete_delayed(tasks: Tasks, payload: str) -> JSON:
    job = Payload.parse(payload)
    times = await tasks.delete_delayed(job.queue, job.task, job.params)
    if not times:
        raise NotFound("that job is no longer delayed")
    return {
        "removed_from": [iso(t) for t in times],
        "message": f"Deleted the delayed {job.task} job ({_plural(len(times), 'time')})",
    }


async def delete_timestamp(tasks: Tasks, timestamp: int) -> JSON:
    removed = await tasks.delete_delayed_at(timestamp)
    if not removed:
        raise NotFound("no delayed job at that time any more")
    return {"removed": removed, "message": f"Deleted {_plural(removed, 'delayed job')}"}


# -------------------------------------------------------------------- failed
async def retry_failed(tasks: Tasks, ident: str, index: int) -> JSON:
    _, failure = await tasks.find_failed(index, ident)
    if not await tasks.retry_and_remove_failed(failure):
        return {"retried": 0, "message": "A plugin refused to enqueue the job: it stays failed"}
    return {"retried": 1, "message": f"Retried: the job is back in queue {failed_queue(failure)}"}


async def remove_failed(tasks: Tasks, ident: str, index: int) -> JSON:
    _, failure = await tasks.find_failed(index, ident)
    if not await tasks.remove_failed(failure):
        raise FailedJobNotFound("that job is no longer in the failed list")
    return {"removed": 1, "message": "Removed the failed job"}


def _bulk_json(verb: str, result: BulkResult) -> JSON:
    message = f"{verb.capitalize()} {_plural(result.done, 'failed job')}"
    if result.kept:
        message += f"; {result.kept:,} stay failed (a plugin refused, or no queue to go to)"
    if result.missing:
        message += f"; {result.missing:,} were already gone"
    return {
        "examined": result.examined, "matched": result.matched, "done": result.done,
        "kept": result.kept, "missing": result.missing, "message": message,
    }  # fmt: skip


async def retry_all_failed(tasks: Tasks, where: FailedQuery) -> JSON:
    """Retry every failed job ``where`` matches (all without a filter), oldest first."""
    return _bulk_json("retried", await tasks.retry_all_failed(where if where.active else None))


async def remove_all_failed(tasks: Tasks, where: FailedQuery) -> JSON:
    return _bulk_json("removed", await tasks.remove_all_failed(where if where.active else None))


# ---------------------------------------------------------- workers, locks
async def clean_worker(tasks: Tasks, name: str, requeue: bool) -> JSON:
    failure = await tasks.force_clean_worker(name, requeue=requeue)
    if failure is not None:
        message = f"Cleaned {name}: its job moved to the failed list"
    elif requeue:
        message = f"Cleaned {name}: its job (if any) went back to its queue"
    else:
        message = f"Cleaned {name}"
    return {"failed": failure is not None, "message": message}


async def delete_lock(tasks: Tasks, name: str) -> JSON:
    if not await tasks.delete_lock(name):
        raise NotFound(f"no lock named {name!r} (it may have expired)")
    return {"deleted": True, "message": f"Deleted lock {name}"}


# ------------------------------------------------------------------ periodic
async def stop_periodic(tasks: Tasks, task: str) -> JSON:
    removed = await tasks.stop_recurrent(task)
    copies = "1 waiting copy" if removed == 1 else f"{removed:,} waiting copies"
    return {"removed": removed, "message": f"Stopped {task}; removed {copies}"}


async def start_periodic(tasks: Tasks, task: str) -> JSON:
    seeded = await tasks.enqueue_recurrent(task)
    note = "runs now" if seeded else "its copy was already there"
    return {"seeded": seeded, "message": f"Started {task}: {note}"}
