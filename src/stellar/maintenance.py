"""Operations on dead workers, shared by ``api.tasks`` and the scheduler."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from stellar import codec
from stellar.backends.protocol import Backend
from stellar.errors import WorkerNotFound
from stellar.job import FailedJob

log = logging.getLogger("stellar.maintenance")

#: Second line of the backtrace of a cleaned worker's job: node-resque's
#: ``retryStuckJobs`` recognises these records by it, and so do we.
FORCE_CLEAN_MARKER = "queue#forceCleanWorker"


def canonical(payload: str) -> str:
    """The payload as ``JSON.stringify(JSON.parse(...))`` writes it.

    Our own working-on records hold the job text verbatim, so this changes nothing for
    them; node-resque's Lua re-encodes the record through cjson (``\\/``, ``1e-07``), and
    node's ``removeFailed`` / ``retryStuckJobs`` can only find a failed record whose payload
    is in JavaScript's own form. Text that is not JSON is kept as it is."""
    try:
        return codec.dumps(codec.loads(payload))
    except (ValueError, RecursionError):
        return payload


async def force_clean_worker(
    backend: Backend,
    name: str,
    *,
    cleaner: str,
    now: float,
    reason: str,
    requeue: bool = False,
    queues: str | None = None,
) -> FailedJob | None:
    """Unregister worker ``name``; its job (if any) goes to the failed list with a record
    that says why, or back to its queue when ``requeue``. Returns the failed record (None
    when the worker was idle or the job was requeued). Raises ``WorkerNotFound``."""
    if queues is None:
        registered = await backend.workers()
        if name not in registered:
            raise WorkerNotFound(f"no worker named {name!r} is registered")
        queues = registered[name]
    for _attempt in range(5):  # the record may change under us: compare-and-set, retry
        record = await backend.working_on(name, queues)
        if record is None:
            if await backend.clean_worker(name, queues, expected=None):
                return None
            continue
        doing = codec.decode_working_on(record)
        if requeue:
            ok = await backend.clean_worker(
                name, queues, expected=record, requeue=(doing.queue, doing.payload_text)
            )
            if ok:
                log.warning("worker %s is gone; its job went back to %r", name, doing.queue)
                return None
            continue
        stamp = datetime.fromtimestamp(now, UTC).isoformat()
        failure = codec.encode_failure(
            worker=name,
            queue=doing.queue,
            payload=canonical(doing.payload_text),
            exception="WorkerDied",
            error=f"Worker Timeout (killed manually): {reason}",
            backtrace=[f"killed by {cleaner} at {stamp}", FORCE_CLEAN_MARKER, "stellar"],
            failed_at=now,
        )
        if await backend.clean_worker(name, queues, expected=record, failure=failure):
            log.warning("worker %s is gone; its job was moved to the failed list", name)
            return codec.decode_failure(failure)
    raise WorkerNotFound(f"worker {name!r} kept changing while it was being cleaned")
