# Stellar tasks for Python: modules/greetings/tasks/say_hello.py
from stellar import task


@task(name="sayHello", description="I say hello", queue="default", frequency=1)  # seconds
async def say_hello(api, params):
    api.log.info("Hello!!!")
    # no next(): returning ends the run; raising fails it
