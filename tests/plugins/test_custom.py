"""Custom plugins: the four hooks (plus after_interrupt), their order, vetoes, errors,
options that reach the instance, and per-job state in ``ctx.extra``."""

from __future__ import annotations

import asyncio
from typing import Any

from stellar import BackendUnavailable, Plugin, PluginContext, Task
from stellar.backends import Backend
from tests.plugins.rig import Rig


class Recorder(Plugin):
    """Records every hook it sees into a shared journal; may veto or raise on demand."""

    def __init__(
        self, tag: str, journal: list[str], *, veto: str | None = None, boom: str | None = None
    ) -> None:
        self.tag, self.journal, self.veto, self.boom = tag, journal, veto, boom

    def _hook(self, hook: str, ctx: PluginContext) -> bool:
        self.journal.append(f"{self.tag}.{hook}")
        if self.boom == hook:
            raise RuntimeError(f"{self.tag} broke in {hook}")
        return self.veto != hook

    async def before_enqueue(self, ctx: PluginContext) -> bool:
        return self._hook("before_enqueue", ctx)

    async def after_enqueue(self, ctx: PluginContext) -> None:
        self._hook("after_enqueue", ctx)

    async def before_perform(self, ctx: PluginContext) -> bool:
        return self._hook("before_perform", ctx)

    async def after_perform(self, ctx: PluginContext) -> None:
        self._hook("after_perform", ctx)

    async def after_interrupt(self, ctx: PluginContext) -> None:
        self._hook("after_interrupt", ctx)


def recorded_task(journal: list[str], *plugins: Plugin, fail: bool = False) -> Task:
    async def run(api: Any, params: Any) -> None:
        journal.append("run")
        if fail:
            raise ValueError("task failed")

    return Task(name="c.t", description="d", run=run, plugins=list(plugins))


async def test_hooks_run_in_list_order(backend: Backend) -> None:
    journal: list[str] = []
    rig = Rig(backend, [recorded_task(journal, Recorder("A", journal), Recorder("B", journal))])
    worker = await rig.worker()
    assert await rig.tasks.enqueue("c.t") is True
    assert await worker.tick()
    assert journal == [
        "A.before_enqueue", "B.before_enqueue", "A.after_enqueue", "B.after_enqueue",
        "A.before_perform", "B.before_perform", "run", "A.after_perform", "B.after_perform",
    ]  # fmt: skip
    assert await rig.stats() == {"processed": 1}


async def test_before_enqueue_veto_writes_nothing(backend: Backend) -> None:
    journal: list[str] = []
    plugins = [Recorder("A", journal), Recorder("B", journal, veto="before_enqueue"),
               Recorder("C", journal)]  # fmt: skip
    rig = Rig(backend, [recorded_task(journal, *plugins)])
    assert await rig.tasks.enqueue("c.t") is False
    assert journal == ["A.before_enqueue", "B.before_enqueue"]
    assert await backend.queues() == []


async def test_before_perform_veto_drops_the_job_silently(backend: Backend) -> None:
    journal: list[str] = []
    plugins = [Recorder("A", journal), Recorder("B", journal, veto="before_perform"),
               Recorder("C", journal)]  # fmt: skip
    rig = Rig(backend, [recorded_task(journal, *plugins)])
    worker = await rig.worker()
    await rig.tasks.enqueue("c.t")
    journal.clear()
    assert await worker.tick()
    # A let it through, so A hears that it will not run; nobody's after_perform runs
    assert journal == ["A.before_perform", "B.before_perform", "A.after_interrupt"]
    assert await rig.stats() == {}
    assert await backend.failed_count() == 0
    assert await backend.working_on(worker.name, worker.queues) is None
    assert await backend.length("default") == 0


async def test_after_perform_sees_and_may_replace_or_clear_the_error(backend: Backend) -> None:
    class Rewrite(Plugin):
        async def after_perform(self, ctx: PluginContext) -> None:
            assert isinstance(ctx.error, ValueError)
            ctx.error = LookupError(f"rewritten: {ctx.error}")

    class Forgive(Plugin):
        async def after_perform(self, ctx: PluginContext) -> None:
            if ctx.job.params.get("forgive"):
                ctx.error = None

    journal: list[str] = []
    rig = Rig(backend, [recorded_task(journal, Rewrite(), Forgive(), fail=True)])
    worker = await rig.worker()
    await rig.tasks.enqueue("c.t", {"forgive": False})
    await rig.tasks.enqueue("c.t", {"forgive": True})
    assert await worker.tick() and await worker.tick()
    [failed] = await rig.tasks.failed()
    assert (failed.exception, failed.error) == ("LookupError", "rewritten: task failed")
    assert await rig.stats() == {"processed": 1, "failed": 1}


async def test_an_error_in_before_perform_fails_the_job_and_after_hooks_run(
    backend: Backend,
) -> None:
    journal: list[str] = []
    plugins = [Recorder("A", journal, boom="before_perform"), Recorder("B", journal)]
    rig = Rig(backend, [recorded_task(journal, *plugins)])
    worker = await rig.worker()
    await rig.tasks.enqueue("c.t")
    journal.clear()
    assert await worker.tick()
    assert journal == ["A.before_perform", "A.after_perform", "B.after_perform"]  # no run
    [failed] = await rig.tasks.failed()
    assert (failed.exception, failed.error) == ("RuntimeError", "A broke in before_perform")


async def test_an_error_in_after_perform_fails_a_job_that_succeeded(backend: Backend) -> None:
    journal: list[str] = []
    plugins = [Recorder("A", journal, boom="after_perform"), Recorder("B", journal)]
    rig = Rig(backend, [recorded_task(journal, *plugins)])
    worker = await rig.worker()
    await rig.tasks.enqueue("c.t")
    journal.clear()
    assert await worker.tick()
    # every after hook runs (so locks are always given back), the first error is the job's
    assert journal == ["A.before_perform", "B.before_perform", "run", "A.after_perform",
                       "B.after_perform"]  # fmt: skip
    [failed] = await rig.tasks.failed()
    assert failed.error == "A broke in after_perform"


async def test_options_reach_the_instance_and_state_stays_per_job(backend: Backend) -> None:
    class Stamp(Plugin):
        """Adds ``prefix`` to what the job saw; keeps the per-job part in ctx.extra."""

        def __init__(self, *, prefix: str) -> None:
            self.prefix = prefix

        async def before_perform(self, ctx: PluginContext) -> bool:
            ctx.extra["stamp"] = f"{self.prefix}-{ctx.job.params['n']}"
            return True

        async def after_perform(self, ctx: PluginContext) -> None:
            stamps.append(ctx.extra["stamp"])

    stamps: list[str] = []
    gate = asyncio.Event()

    async def slow(api: Any, params: Any) -> None:
        if params["n"] == 1:
            await gate.wait()

    t = Task(name="c.s", description="d", run=slow, plugins=[Stamp(prefix="opt")])
    rig = Rig(backend, [t])
    one, two = await rig.worker(), await rig.worker()
    await rig.tasks.enqueue("c.s", {"n": 1})
    await rig.tasks.enqueue("c.s", {"n": 2})
    first = asyncio.create_task(one.tick())
    await asyncio.sleep(0.05)
    assert await two.tick()  # runs while job 1 is still inside its run
    gate.set()
    await first
    assert stamps == ["opt-2", "opt-1"]


async def test_a_backend_failure_in_before_perform_puts_the_job_back(backend: Backend) -> None:
    """The job has not run: it is not failed but released, once the backend answers."""
    journal: list[str] = []

    class Flaky(Plugin):
        def __init__(self) -> None:
            self.down = True

        async def before_perform(self, ctx: PluginContext) -> bool:
            if self.down:
                raise BackendUnavailable("the lock store is away")
            return True

    flaky = Flaky()
    rig = Rig(backend, [recorded_task(journal, Recorder("A", journal), flaky)])
    worker = await rig.worker()
    await rig.tasks.enqueue("c.t", {"n": 1})
    await rig.tasks.enqueue("c.t", {"n": 2})
    journal.clear()
    assert await worker.tick()  # A gives back what it took, the job goes back to the head
    assert not worker.unsettled
    assert [j.params for j in await rig.tasks.queued("default")] == [{"n": 1}, {"n": 2}]
    flaky.down = False
    assert await worker.tick()
    assert journal == ["A.before_perform", "A.after_interrupt", "A.before_perform", "run",
                       "A.after_perform"]  # fmt: skip
    assert await backend.failed_count() == 0
    assert [j.params for j in await rig.tasks.queued("default")] == [{"n": 2}]
    assert await worker.tick()
    assert journal.count("run") == 2


def test_plugin_base_hooks_are_no_ops() -> None:
    plugin = Plugin()
    assert repr(plugin) == "Plugin()"

    async def all_hooks() -> list[Any]:
        ctx: Any = None
        return [
            await plugin.before_enqueue(ctx), await plugin.after_enqueue(ctx),
            await plugin.before_perform(ctx), await plugin.after_perform(ctx),
            await plugin.after_interrupt(ctx),
        ]  # fmt: skip

    assert asyncio.run(all_hooks()) == [True, None, True, None, None]
