# modules/email/tasks/reset_password.py
from stellar import task


@task(name="email.sendResetPassword", description="Send the reset-password link")
async def send_reset_password(api, params):
    print(f"sending the reset link to {params['to']}")
