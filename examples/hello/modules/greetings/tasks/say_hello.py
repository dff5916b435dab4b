"""A periodic task: the scheduler keeps exactly one copy of it, every second."""

from stellar import task


@task(name="sayHello", description="I say hello", queue="default", frequency=1)
async def say_hello(api, params):
    api.log.info("sayHello: Hello!!!")
