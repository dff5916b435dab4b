"""Use an application from plain functions (Flask, Django, scripts, a REPL).

::

    from stellar.sync import SyncApp

    stellar = SyncApp("path/to/app").start()   # a private event loop in a thread
    stellar.tasks.enqueue("email.sendResetPassword", {"to": "a@b.c"})
    print(stellar.tasks.stats())
    stellar.close()

:class:`SyncApp` owns an :class:`~stellar.app.App` and runs it on an event loop in a
background thread. Each method of ``stellar.tasks`` is generated from the async method of
:class:`~stellar.api.Tasks` of the same name: it submits the coroutine to that loop and
waits for its result, so there is one implementation of every operation, and each
method keeps the exact parameter and return types of its async original. By default
the application also runs its task processors and scheduler in that thread, as
``async with App(...)`` would; pass ``processors=False, scheduler=False`` for a client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from stellar.api import Tasks
from stellar.app import App

P = ParamSpec("P")
T = TypeVar("T")


class SyncApp:
    """An :class:`~stellar.app.App` driven from synchronous code.

    ``SyncApp(root, **options)`` builds ``App(root, **options)``; ``SyncApp(app)`` wraps
    one you built. Use it as a context manager, or call :meth:`start` and :meth:`close`
    (for a web application: once per process, e.g. in its factory, with
    ``atexit.register(stellar.close)``). It starts once. A process that forks after
    :meth:`start` must start a new one in the child: the loop thread does not survive a
    fork.
    """

    def __init__(self, app: App | str | os.PathLike[str] = ".", /, **options: Any) -> None:
        if isinstance(app, App):
            if options:
                raise TypeError("SyncApp(app) takes no options: give them to App(...)")
            self.app = app
        else:
            self.app = App(app, **options)
        self.tasks = SyncTasks(self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._used = False

    # ------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> Self:
        """Start the loop thread and the application (loads tasks, opens the backend,
        starts processors and scheduler as configured). Raises what ``App.start`` raises."""
        with self._lock:
            if self._loop is not None:
                raise RuntimeError("this SyncApp is already started")
            if self._used:
                raise RuntimeError("a SyncApp starts once: make a new one to start again")
            self._used = True
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_run_forever, args=(loop,), name="stellar-sync", daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
        try:
            self.call(self.app.start)
        except BaseException:
            self._shutdown_loop()
            raise
        return self

    def close(self) -> None:
        """Stop the application gracefully (running jobs finish or go back to their
        queue), then the loop thread. Idempotent."""
        if self._loop is None:
            return
        try:
            self.call(self.app.stop)
        finally:
            self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ calls
    def call(
        self, fn: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``await fn(*args, **kwargs)`` on the application's loop and return its
        result (or raise its exception) in the calling thread."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the SyncApp is not started: call start() or use `with`")
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "a SyncApp method was called on its own event loop, where it would wait for "
                "itself for ever: await the App's async API there instead"
            )
        coroutine = fn(*args, **kwargs)
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except BaseException:
            coroutine.close()
            raise
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise asyncio.CancelledError() from None
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt while waiting
            raise


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


class blocking(Generic[P, T]):
    """The blocking twin of an async method of :class:`~stellar.api.Tasks`: on a
    :class:`SyncTasks` it is a plain method with the same parameters, returning the
    awaited result."""

    def __init__(self, method: Callable[Concatenate[Tasks, P], Coroutine[Any, Any, T]]) -> None:
        self.method = method
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, owner: None, cls: type[Any]) -> Self: ...

    @overload
    def __get__(self, owner: SyncTasks, cls: type[Any]) -> Callable[P, T]: ...

    def __get__(self, owner: SyncTasks | None, cls: type[Any]) -> Self | Callable[P, T]:
        if owner is None:
            return self
        method, sync = self.method, owner.sync

        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return sync.call(method, sync.app.api.tasks, *args, **kwargs)

        return call


class SyncTasks:
    """``app.api.tasks`` for synchronous callers: every method blocks until done.

    Each attribute is ``blocking(Tasks.<name>)``: the signature, the docs and the
    behaviour are those of the async method. Callbacks given to a method (such as
    ``progress``) run on the application's loop thread. ``Tasks.iter_failed``, an async
    generator, has no twin: ``failed(start, stop)`` pages through the same records.
    """

    def __init__(self, sync: SyncApp) -> None:
        self.sync = sync

    # enqueueing
    enqueue = blocking(Tasks.enqueue)
    enqueue_many = blocking(Tasks.enqueue_many)
    enqueue_at = blocking(Tasks.enqueue_at)
    enqueue_in = blocking(Tasks.enqueue_in)
    # queues
    queues = blocking(Tasks.queues)
    length = blocking(Tasks.length)
    queued = blocking(Tasks.queued)
    delete = blocking(Tasks.delete)
    delete_queue = blocking(Tasks.delete_queue)
    # delayed
    delete_delayed = blocking(Tasks.delete_delayed)
    scheduled_at = blocking(Tasks.scheduled_at)
    timestamps = blocking(Tasks.timestamps)
    delayed_at = blocking(Tasks.delayed_at)
    delete_delayed_at = blocking(Tasks.delete_delayed_at)
    all_delayed = blocking(Tasks.all_delayed)
    delete_all_delayed = blocking(Tasks.delete_all_delayed)
    # recurrent
    enqueue_recurrent = blocking(Tasks.enqueue_recurrent)
    stop_recurrent = blocking(Tasks.stop_recurrent)
    stopped_recurrent = blocking(Tasks.stopped_recurrent)
    # stats, locks, leader
    stats = blocking(Tasks.stats)
    locks = blocking(Tasks.locks)
    delete_lock = blocking(Tasks.delete_lock)
    leader = blocking(Tasks.leader)
    # workers
    workers = blocking(Tasks.workers)
    working_on = blocking(Tasks.working_on)
    all_working_on = blocking(Tasks.all_working_on)
    force_clean_worker = blocking(Tasks.force_clean_worker)
    clean_old_workers = blocking(Tasks.clean_old_workers)
    # failed
    failed_count = blocking(Tasks.failed_count)
    failed = blocking(Tasks.failed)
    find_failed = blocking(Tasks.find_failed)
    remove_failed = blocking(Tasks.remove_failed)
    retry_and_remove_failed = blocking(Tasks.retry_and_remove_failed)
    retry_all_failed = blocking(Tasks.retry_all_failed)
    remove_all_failed = blocking(Tasks.remove_all_failed)
    # details
    details = blocking(Tasks.details)
