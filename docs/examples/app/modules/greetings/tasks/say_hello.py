from datetime import timedelta

from stellar import task


@task(name="sayHello", description="I say hello", frequency=timedelta(minutes=5))
async def say_hello(api, params):  # periodic tasks always get params == {}
    api.log.info("Hello!!!")
