# OpenTelemetry spans around enqueue and perform.
import asyncio
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stellar import App
from stellar.integrations.otel import instrument

# In production: BatchSpanProcessor(OTLPSpanExporter()) and trace.set_tracer_provider(...)
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))


async def main(root: Path) -> None:
    async with App(root, scheduler=False) as app:
        instrument(app, tracer_provider=provider)  # default: the global tracer provider
        await app.api.tasks.enqueue("reports.build", {"month": "2030-01"})
        while (await app.api.tasks.stats()).get("processed", 0) < 1:
            await asyncio.sleep(0.05)
    for span in exporter.get_finished_spans():
        queue = span.attributes["messaging.destination.name"]
        print(f"{span.name} ({span.kind.name.lower()}, queue {queue})")


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
