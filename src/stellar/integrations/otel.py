"""OpenTelemetry spans for enqueueing and performing jobs (needs ``opentelemetry-api``:
``pip install 'stellar-tasks[otel]'``).

::

    from stellar.integrations.otel import instrument

    async with App(".") as app:
        instrument(app)                       # the global tracer provider, or pass one

* ``enqueue <task>`` (kind PRODUCER) around ``enqueue``, ``enqueue_many`` and
  ``enqueue_at`` / ``enqueue_in`` of ``app.api.tasks``, in the caller's trace.
* ``perform <task>`` (kind CONSUMER) around each job a worker of ``app`` runs, current
  while the job runs (spans the task opens are its children); an error is recorded on
  it and sets its status to ERROR.

Attributes follow OpenTelemetry's messaging conventions: ``messaging.system`` =
``"stellar"``, ``messaging.operation.name``, ``messaging.operation.type``,
``messaging.destination.name`` (the queue), ``messaging.client.id`` (the worker), plus
``stellar.task``. The trace context is not carried from enqueue to perform: a Resque
payload has no room for it without changing the job's identity (Resque matches jobs by
their exact JSON text), so each perform span starts a trace of its own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from stellar import __version__
from stellar.app import App
from stellar.events import Event

SYSTEM = "stellar"
ENQUEUE_METHODS = ("enqueue", "enqueue_many", "enqueue_at")


class _Instrumentation:
    def __init__(self, app: App, tracer: trace.Tracer) -> None:
        self.app = app
        self.tracer = tracer
        self.performing: ContextVar[tuple[Span, Token[Context]] | None] = ContextVar(
            "stellar_otel_perform", default=None
        )

    # ------------------------------------------------------------- perform
    def on_event(self, event: Event) -> None:
        if event.kind == "job.start" and event.job is not None:
            span = self.tracer.start_span(
                f"perform {event.job.task}",
                kind=SpanKind.CONSUMER,
                attributes=_attributes("perform", "process", event.job.task, event.queue)
                | {"messaging.client.id": event.worker or ""},
            )
            token = otel_context.attach(trace.set_span_in_context(span))
            self.performing.set((span, token))
        elif event.kind in ("job.success", "job.failure"):
            self.finish(event)
        elif event.kind == "worker.end":
            self.interrupted()

    def finish(self, event: Event) -> None:
        current = self.performing.get()
        self.performing.set(None)
        if current is None:  # a payload that was not a job: it failed before starting
            if event.kind != "job.failure":
                return
            attributes = _attributes("perform", "process", None, event.queue)
            span = self.tracer.start_span("perform", kind=SpanKind.CONSUMER, attributes=attributes)
        else:
            span, token = current
            otel_context.detach(token)
        if event.error is not None:
            span.record_exception(event.error)
            span.set_status(
                Status(StatusCode.ERROR, f"{type(event.error).__name__}: {event.error}")
            )
        span.end()

    def interrupted(self) -> None:
        """A job cut short at shutdown (it went back to its queue)."""
        current = self.performing.get()
        if current is not None:
            self.performing.set(None)
            span, _ = current
            span.set_attribute("stellar.interrupted", True)
            span.end()

    # ------------------------------------------------------------- enqueue
    def wrap(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        tasks = self.app.api.tasks
        original: Callable[..., Coroutine[Any, Any, Any]] = getattr(tasks, name)
        signature = inspect.signature(original)

        @functools.wraps(original)
        async def traced(*args: Any, **kwargs: Any) -> Any:
            arguments = signature.bind(*args, **kwargs).arguments
            task = arguments.get("task")
            queue = arguments.get("queue")
            if queue is None and isinstance(task, str) and task in tasks.registry:
                queue = tasks.registry.get(task).queue
            attributes = _attributes("enqueue", "send", task, queue)
            if name == "enqueue_many":
                attributes["messaging.batch.message_count"] = len(arguments["params_list"])
            with self.tracer.start_as_current_span(
                f"enqueue {task}", kind=SpanKind.PRODUCER, attributes=attributes
            ) as span:
                result = await original(*args, **kwargs)
                if result is False:
                    span.set_attribute("stellar.vetoed", True)
                return result

        return traced


def _attributes(
    operation: str, kind: str, task: object, queue: str | None
) -> dict[str, str | int | bool]:
    attributes: dict[str, str | int | bool] = {
        "messaging.system": SYSTEM,
        "messaging.operation.name": operation,
        "messaging.operation.type": kind,
    }
    if queue:
        attributes["messaging.destination.name"] = queue
    if isinstance(task, str):
        attributes["stellar.task"] = task
    return attributes


def instrument(app: App, *, tracer_provider: TracerProvider | None = None) -> Callable[[], None]:
    """Trace ``app``'s enqueues and jobs. ``app`` must be started (its ``api.tasks`` is
    wrapped); call it right after ``async with App(...)``: no job runs before the first
    ``await``. Returns the function that removes the instrumentation."""
    tracer = trace.get_tracer("stellar", __version__, tracer_provider=tracer_provider)
    state = _Instrumentation(app, tracer)
    tasks = app.api.tasks
    for name in ENQUEUE_METHODS:
        setattr(tasks, name, state.wrap(name))
    unsubscribe = app.events.subscribe(state.on_event)

    def uninstrument() -> None:
        unsubscribe()
        for name in ENQUEUE_METHODS:
            vars(tasks).pop(name, None)

    return uninstrument
