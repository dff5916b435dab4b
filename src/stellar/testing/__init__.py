"""Helpers for testing applications that use stellar, without sleeping.

* :class:`FakeClock`: time that moves only when the test says so.
* :func:`make_app`: an application on a throw-away SQLite file and a fake clock, that
  runs nothing by itself.
* :func:`drain`: run every queued and due job now, in the test's own task, and get back
  what ran and what failed.
* :func:`run_task`: call one task's ``run`` directly, with a real ``api``.
* :mod:`stellar.testing.pytest_plugin`: the ``stellar_app``, ``stellar_clock`` and
  ``stellar_root`` fixtures (``pytest_plugins = ["stellar.testing.pytest_plugin"]``).

::

    clock = FakeClock()
    async with make_app(".", database=tmp_path / "tasks.db", clock=clock) as app:
        await app.api.tasks.enqueue_in(60, "email.sendReminder", {"to": "a@b.c"})
        assert (await drain(app)).ran == ()      # not due yet
        clock.advance(60)
        assert (await drain(app)).tasks == ["email.sendReminder"]
"""

from stellar.testing._clock import FakeClock
from stellar.testing._drain import Drained, Ran, drain, make_app, run_task

__all__ = ["Drained", "FakeClock", "Ran", "drain", "make_app", "run_task"]
