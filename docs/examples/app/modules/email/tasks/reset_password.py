from stellar import task


@task(
    name="email.sendResetPassword",
    description="Send the reset-password link",
    queue="default",
)
async def send_reset_password(api, params):
    api.log.info("sending the reset link to %s", params["to"])
