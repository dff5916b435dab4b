from datetime import timedelta

import pytest

from stellar.testing import drain, run_task


async def test_an_order_is_confirmed(stellar_app):
    async with stellar_app() as app:
        await app.api.tasks.enqueue("shop.confirmOrder", {"order": 42})
        result = await drain(app, periodic=False)  # periodic tasks are not seeded
    assert result.tasks == ["shop.confirmOrder"]
    assert result.failed == []


async def test_a_reminder_waits_a_day_but_the_test_does_not(stellar_app, stellar_clock):
    async with stellar_app() as app:
        await app.api.tasks.enqueue_in(timedelta(days=1), "shop.sendReminder", {"cart": 7})
        assert (await drain(app, periodic=False)).tasks == []  # not due yet
        stellar_clock.advance(timedelta(days=1))
        assert (await drain(app, periodic=False)).tasks == ["shop.sendReminder"]


async def test_carts_are_cleaned_every_hour(stellar_app, stellar_clock):
    async with stellar_app() as app:
        assert (await drain(app)).tasks == ["shop.cleanCarts"]  # seeded, due at once
        stellar_clock.advance(3599)
        assert (await drain(app)).tasks == []
        stellar_clock.advance(1)
        assert (await drain(app)).tasks == ["shop.cleanCarts"]


async def test_a_failure_is_reported(stellar_app):
    async with stellar_app() as app:
        await app.api.tasks.enqueue("shop.confirmOrder", {})  # no "order": KeyError
        result = await drain(app, periodic=False)
        assert [type(r.error) for r in result.failed] == [KeyError]
        assert await app.api.tasks.failed_count() == 1


async def test_or_raised(stellar_app):
    async with stellar_app() as app:
        await app.api.tasks.enqueue("shop.confirmOrder", {})
        with pytest.raises(KeyError):
            await drain(app, periodic=False, raise_errors=True)


async def test_run_one_task_directly(stellar_app):
    async with stellar_app() as app:
        assert await run_task(app, "shop.confirmOrder", {"order": 7}) == "order 7 confirmed"
