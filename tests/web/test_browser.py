"""The dashboard in a real browser: Debian's Chromium, driven by Playwright.

A real application (workers, scheduler, SQLite) and its dashboard run under uvicorn in a
background thread on a free localhost port. The tests open every page, click, watch
live updates arrive, and save screenshots of every page for review.

Under CI=true a missing Chromium or Playwright fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from stellar import App
from stellar.web import create_app
from tests.conftest import missing_service
from tests.helpers import eventually
from tests.web.support import PASSWORD, TOKEN, USERNAME, XSS, add_failure, make_app, png_ok

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots go to tests/artifacts/ for review; STELLAR_UPDATE_SCREENSHOTS=1 writes them
# over the ones the docs show (docs/images/) instead.
ROOT = Path(__file__).resolve().parents[2]
IMAGES = (
    ROOT / "docs" / "images"
    if os.environ.get("STELLAR_UPDATE_SCREENSHOTS")
    else ROOT / "tests" / "artifacts" / "screenshots"
)
T = TypeVar("T")

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the install
    sync_playwright = None  # type: ignore[assignment]


# ------------------------------------------------------------------ the server
async def produce_history(root: Path) -> None:
    """Run real workers once: some jobs succeed, some fail (their records stay)."""
    async with make_app(root, processors=True, queues=["default"], max_processors=2) as app:
        tasks = app.api.tasks
        await tasks.enqueue_many("email.send", [{"to": f"user{n}@example.com"} for n in range(40)])
        reasons = ["no data for that day", "the database timed out", "template missing"]
        for n in range(6):
            await tasks.enqueue("report.build", {"id": n, "why": reasons[n % 3]})
        await tasks.enqueue("report.build", {"id": 99, "why": XSS})
        await eventually(lambda: _all_done(app), timeout=20)


async def _all_done(app: App) -> bool:
    tasks = app.api.tasks
    return await tasks.failed_count() == 7 and await tasks.length("default") == 0


async def seed(app: App) -> None:
    """What the pages show: queued, delayed, failed, locks, a busy worker, periodic."""
    tasks = app.api.tasks
    assert app.backend is not None
    await tasks.enqueue("email.send", {"to": "mallory@example.com", "html": XSS})
    await tasks.enqueue_many(
        "email.send",
        [{"to": f"customer{n}@example.com", "template": "welcome"} for n in range(120)],
    )
    await tasks.enqueue_many("report.build", [{"id": 1000 + n} for n in range(8)], queue="reports")
    now = time.time()
    for n in range(9):
        await tasks.enqueue_at(now + 900 + n * 1800, "email.send", {"to": f"later{n}@example.com"})
        if n % 3 == 0:
            await tasks.enqueue_at(now + 900 + n * 1800, "report.build", {"id": 500 + n})
    await add_failure(app, "email.send", {"to": "bounce@example.com"}, exception="SMTPRecipientsRefused",
                      error="550 5.1.1 <bounce@example.com>: user unknown")  # fmt: skip
    # plugins store a lock's expiry time as its value (Resque's layout)
    job_lock = 'lock:report.build:default:[{"id":7}]'
    await app.backend.acquire_lock(job_lock, str(int(now + 3600)), 3600)
    worker_lock = 'workerslock:media.transcode:[{"file":"intro.mp4"}]'
    await app.backend.acquire_lock(worker_lock, str(int(now + 900)), 900)
    await tasks.enqueue("media.transcode", {"file": "intro.mp4", "seconds": 3600})
    await tasks.stop_recurrent("reports.nightly")
    await eventually(lambda: _one_busy(app), timeout=10)


async def _one_busy(app: App) -> bool:
    return any(w.working_on for w in await app.api.tasks.workers())


async def backfill(web: Any, app: App) -> None:
    """An hour of throughput before the dashboard started, for the docs' screenshots
    (the real history starts with the dashboard). The counters grow to match it."""
    history = web.state.dashboard.sampler.history
    now = time.time()
    steps = 719
    per_step = [max(0, round(4 + 3 * math.sin(i / 40) + 2 * math.sin(i / 9))) for i in range(steps)]
    fails = [1 if i % 53 == 0 or i % 97 == 0 else 0 for i in range(steps)]
    assert app.backend is not None
    await app.backend.incr_stats({"processed": 48_000 + sum(per_step), "failed": 20 + sum(fails)})
    stats = await app.api.tasks.stats()
    processed = stats.get("processed", 0) - sum(per_step)
    failed = stats.get("failed", 0) - sum(fails)
    for i in range(steps):
        history.add(now - (steps - i) * 5, {"processed": processed, "failed": failed}, {})
        processed += per_step[i]
        failed += fails[i]


class LiveServer:
    """The application and its dashboard, served by uvicorn in a thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ready = threading.Event()
        self.url = ""
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.app: App | None = None
        self.server: Any = None
        self.thread = threading.Thread(target=self._run, name="dashboard-test-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        if not self.ready.wait(90) or self.error is not None:
            raise RuntimeError(f"the test server did not start: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        await produce_history(self.root)
        app = make_app(
            self.root, processors=True, scheduler=True, queues=["media", "maintenance"],
            min_processors=2, max_processors=2,
        )  # fmt: skip
        async with app:
            self.app = app
            await seed(app)
            web = create_app(
                app, token=TOKEN, username=USERNAME, password=PASSWORD, refresh=0.5,
                sample_interval=5,
            )  # fmt: skip
            await backfill(web, app)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            config = uvicorn.Config(web, log_config=None, access_log=False, lifespan="on")
            self.server = uvicorn.Server(config)
            serving = asyncio.create_task(self.server.serve(sockets=[sock]))
            while not self.server.started and not serving.done():
                await asyncio.sleep(0.01)
            self.ready.set()
            await serving
            sock.close()

    def call(self, fn: Callable[[App], Awaitable[T]]) -> T:
        """Run ``fn(app)`` on the server's loop and wait for its result."""
        assert self.loop is not None and self.app is not None
        app = self.app

        async def run() -> T:
            return await fn(app)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)


# -------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("dashboard-app")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        missing_service("Playwright for Python is not installed")
    if not CHROMIUM.exists():
        missing_service(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()


class Visitor:
    """One browser context, with every console error and page error it saw."""

    def __init__(self, browser: Browser, live: LiveServer) -> None:
        self.context = browser.new_context(
            viewport={"width": 1360, "height": 860}, base_url=live.url, locale="en-US",
            timezone_id="UTC",
        )  # fmt: skip
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("dialog", lambda dialog: dialog.accept())

    def login(self) -> None:
        self.page.goto("/login")
        self.page.get_by_label("Token").fill(TOKEN)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("button", name="Log out")).to_be_visible()


@pytest.fixture
def guest(browser: Browser, live: LiveServer) -> Iterator[Visitor]:
    visitor = Visitor(browser, live)
    yield visitor
    visitor.context.close()
    assert visitor.errors == []


@pytest.fixture
def admin(browser: Browser, live: LiveServer) -> Iterator[Visitor]:
    visitor = Visitor(browser, live)
    visitor.login()
    yield visitor
    visitor.context.close()
    assert visitor.errors == []


# ----------------------------------------------------------------------- tests
PAGES = [
    ("overview", "/", "Throughput"),
    ("queue", "/queues/default?per_page=12", "customer10@example.com"),
    ("delayed", "/delayed?per_page=3", "later0@example.com"),
    ("failed", "/failed?per_page=5", "SMTPRecipientsRefused"),
    ("workers", "/workers", "media.transcode"),
    ("locks", "/locks", "lock:report.build"),
    ("periodic", "/periodic", "sessions.cleanup"),
    ("tasks", "/tasks", "Transcode a video"),
]


def screenshot(page: Page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"dashboard-{name}.png"
    page.wait_for_timeout(300)  # let the first redraw settle
    page.screenshot(path=str(path), full_page=True)
    assert png_ok(path), path


@pytest.mark.parametrize(("name", "path", "text"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_renders_and_is_captured(
    admin: Visitor, name: str, path: str, text: str
) -> None:
    page = admin.page
    page.goto(path)
    expect(page.locator("main")).to_contain_text(text)
    if name != "tasks":
        expect(page.locator("#live")).to_have_text("Live")
    if name == "periodic":
        expect(page.locator("main")).to_contain_text("scheduled")
    if name == "failed":  # show what an entry holds
        first = page.locator("article.failure").first
        for summary in first.locator("summary").all():
            summary.click()
        expect(first.locator("pre").first).to_contain_text("File")
    screenshot(page, name)


def test_login_page(guest: Visitor) -> None:
    guest.page.goto("/login")
    expect(guest.page.get_by_label("Username")).to_be_visible()
    expect(guest.page.get_by_label("Token")).to_be_visible()
    screenshot(guest.page, "login")


def test_retrying_a_failed_job_by_clicking_moves_it_to_its_queue(
    admin: Visitor, live: LiveServer
) -> None:
    page = admin.page

    async def default_length(app: App) -> int:
        return await app.api.tasks.length("default")

    before = live.call(default_length)
    page.goto("/")
    row = page.locator("table.queues tr", has=page.get_by_role("link", name="default", exact=True))
    length = row.locator("td").nth(1)
    expect(length).to_have_text(f"{before:,}")
    page.goto("/failed?exception=ValueError")
    failure = page.locator("article.failure", has_text="the database timed out").first
    expect(failure).to_be_visible()
    failed_before = page.locator("article.failure").count()
    failure.get_by_role("button", name="Retry").click()
    expect(page.locator("#toast")).to_contain_text("Retried")
    expect(page.locator("article.failure")).to_have_count(failed_before - 1)  # redrawn live
    assert live.call(default_length) == before + 1
    page.goto("/")
    expect(length).to_have_text(f"{before + 1:,}")


def test_payloads_with_script_render_as_text(admin: Visitor) -> None:
    page = admin.page
    for path in ("/queues/default?per_page=5", "/failed?q=__xss"):
        page.goto(path)
        expect(page.locator("main")).to_contain_text("<script>window.__xss = 1</script>")
        for details in page.locator("details").all():
            details.locator("summary").click()
        assert page.evaluate("window.__xss") is None
        assert page.locator("main script:not(#stellar-data), main img[src='x']").count() == 0


def test_a_change_without_credentials_is_refused(guest: Visitor, live: LiveServer) -> None:
    page = guest.page
    page.goto("/failed")
    expect(page.get_by_role("link", name="Log in to manage")).to_be_visible()
    expect(page.locator("article.failure").first).to_be_visible()
    assert page.get_by_role("button", name="Retry").count() == 0

    async def failed_count(app: App) -> int:
        return await app.api.tasks.failed_count()

    count = live.call(failed_count)
    item = page.request.get("/api/failed").json()["items"][0]
    refused = page.request.post(
        "/api/failed/retry", data={"id": item["id"], "index": item["index"]}
    )
    assert refused.status == 401
    status = page.evaluate(
        """async (item) => {
            const r = await fetch("/api/failed/retry", {method: "POST",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify(item)});
            return r.status;
        }""",
        {"id": item["id"], "index": item["index"]},
    )
    assert status == 401
    assert live.call(failed_count) == count
    expected = "the server responded with a status of 401"
    guest.errors[:] = [e for e in guest.errors if expected not in e]  # the refusals above


def test_updates_arrive_without_a_reload(guest: Visitor, live: LiveServer) -> None:
    page = guest.page
    page.goto("/")
    queued = page.locator(".card", has_text="Queued").locator(".card-value")
    expect(queued).not_to_have_text("")
    before = int(queued.inner_text().replace(",", ""))
    page.evaluate("window.__stillHere = true")

    async def enqueue(app: App) -> int:
        return await app.api.tasks.enqueue_many("email.send", [{"n": n} for n in range(5)])

    live.call(enqueue)
    expect(queued).to_have_text(f"{before + 5:,}")
    assert page.evaluate("window.__stillHere") is True
