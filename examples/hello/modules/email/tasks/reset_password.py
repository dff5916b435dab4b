"""A normal task, run as soon as a processor is free."""

from stellar import task


@task(
    name="email.sendResetPassword",
    description="Send the reset-password link",
    queue="default",
)
async def send_reset_password(api, params):
    api.log.info("email.sendResetPassword: sending the reset link to %s", params["to"])
