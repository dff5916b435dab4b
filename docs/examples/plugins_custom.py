# A custom plugin: a class with async hooks. Options are constructor arguments; a
# before-hook returning False vetoes; per-job state goes in ctx.extra.
import asyncio
import tempfile
import time
from pathlib import Path

from stellar import Plugin, PluginContext, Task
from stellar.testing import drain, make_app


class OnlyFor(Plugin):
    """Refuse jobs for customers not in ``allowed``; report how long each run took."""

    def __init__(self, *, allowed: set[str]) -> None:
        self.allowed = allowed

    async def before_enqueue(self, ctx: PluginContext) -> bool:
        return ctx.job.params.get("customer") in self.allowed  # False: enqueue returns False

    async def after_enqueue(self, ctx: PluginContext) -> None:
        print("queued for", ctx.job.params["customer"])

    async def before_perform(self, ctx: PluginContext) -> bool:
        ctx.extra["started"] = time.perf_counter()  # per job, never on self
        return True

    async def after_perform(self, ctx: PluginContext) -> None:
        outcome = f"failed: {ctx.error}" if ctx.error else "ok"
        seconds = time.perf_counter() - ctx.extra["started"]
        print(f"{ctx.task} for {ctx.job.params['customer']}: {outcome}, {seconds:.0f} s")


async def send_invoice(api, params):
    if params["customer"] == "globex":
        raise ValueError("no billing address")


task = Task(
    name="billing.invoice",
    description="Send an invoice",
    run=send_invoice,
    plugins=[OnlyFor(allowed={"acme", "globex"})],
)


async def main(root: Path) -> None:
    async with make_app(root, database=root / "plugins.db", tasks=[task]) as app:
        for customer in ("acme", "initech", "globex"):
            queued = await app.api.tasks.enqueue("billing.invoice", {"customer": customer})
            print(customer, "->", queued)
        await drain(app)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder)))
