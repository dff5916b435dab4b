"""stellar.integrations.otel: spans for enqueue and perform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from stellar import Plugin, PluginContext, Task, UnknownTask
from stellar.integrations.otel import instrument
from stellar.testing import FakeClock, drain, make_app


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


class Veto(Plugin):
    async def before_enqueue(self, ctx: PluginContext) -> bool:
        return False


async def test_enqueue_and_perform_spans(
    tmp_path: Path, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("test")

    async def work(api: Any, params: Any) -> None:
        with tracer.start_as_current_span("inside"):
            if params.get("fail"):
                raise ValueError("bad")

    tasks = [Task(name="o.work", description="w", run=work),
             Task(name="o.vetoed", description="v", run=work, plugins=[Veto()])]  # fmt: skip
    clock = FakeClock()
    async with make_app(tmp_path, database=tmp_path / "t.db", clock=clock, tasks=tasks) as app:
        undo = instrument(app, tracer_provider=provider)
        with tracer.start_as_current_span("request") as request:
            await app.api.tasks.enqueue("o.work", {"n": 1})
            await app.api.tasks.enqueue("o.work", {"fail": True}, queue="q2")
            await app.api.tasks.enqueue_in(10, "o.work", {"n": 2})
            assert await app.api.tasks.enqueue_many("o.work", [{"n": 3}, {"n": 4}]) == 2
            assert await app.api.tasks.enqueue("o.vetoed") is False
            with pytest.raises(UnknownTask):
                await app.api.tasks.enqueue("o.nope")
        clock.advance(10)
        result = await drain(app)
        assert len(result.failed) == 1
        undo()
        await app.api.tasks.enqueue("o.work")
        await drain(app)

    finished = exporter.get_finished_spans()
    by_name: dict[str, list[Any]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)

    enqueues = [s for s in finished if s.kind == SpanKind.PRODUCER]
    assert [s.name for s in enqueues] == ["enqueue o.work"] * 4 + [
        "enqueue o.vetoed",
        "enqueue o.nope",
    ]
    assert all(s.parent is not None and s.parent.span_id == request.get_span_context().span_id
               for s in enqueues)  # fmt: skip
    first, second, delayed, many, vetoed, unknown = enqueues
    assert first.attributes["messaging.destination.name"] == "default"
    assert first.attributes["messaging.operation.type"] == "send"
    assert second.attributes["messaging.destination.name"] == "q2"
    assert many.attributes["messaging.batch.message_count"] == 2
    assert vetoed.attributes["stellar.vetoed"] is True
    assert unknown.status.status_code == StatusCode.ERROR

    performs = [s for s in finished if s.kind == SpanKind.CONSUMER]
    assert len(performs) == 5  # nothing after undo()
    assert all(s.name == "perform o.work" and s.parent is None for s in performs)
    assert all(s.attributes["messaging.client.id"].endswith("+drain") for s in performs)
    failed = [s for s in performs if s.status.status_code == StatusCode.ERROR]
    assert len(failed) == 1 and failed[0].attributes["messaging.destination.name"] == "q2"
    assert failed[0].events[0].name == "exception"
    # spans the task opens are children of its perform span
    *inside, after_undo = by_name["inside"]
    assert len(inside) == 5
    perform_ids = {s.context.span_id for s in performs}
    assert all(s.parent is not None and s.parent.span_id in perform_ids for s in inside)
    assert after_undo.parent is None
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached
