# Python and node-resque on one Redis: each side performs the jobs of its own queues.
import asyncio
from pathlib import Path

from stellar import App, Task


async def performed_in_node(api, params):
    raise RuntimeError("sendEmail is performed by the node-resque workers")


# A job node-resque performs: Python only needs its name and queue to enqueue it.
send_email = Task(
    name="sendEmail",
    description="Performed by the node-resque workers (queue 'node')",
    run=performed_in_node,
    queue="node",
)


async def main(root: Path, redis_url: str = "redis://127.0.0.1:6379/0") -> None:
    app = App(
        root,
        tasks=[send_email],
        backend=redis_url,
        namespace="resque",  # node-resque's default namespace
        queues=["reports", "default"],  # never "*": that would take node's jobs too
        processors=False,
        scheduler=False,
    )
    async with app:
        tasks = app.api.tasks
        await tasks.enqueue("sendEmail", {"to": "ada@example.com"})
        for job in await tasks.queued("node"):  # the exact text node-resque reads
            print(job.payload)
        when = await tasks.enqueue_at(1_900_000_000.5, "sendEmail", {"to": "grace@example.com"})
        print("delayed until", when.isoformat(), "filed under second",
              int((await tasks.timestamps())[0].timestamp()))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(Path(__file__).parent / "app"))
