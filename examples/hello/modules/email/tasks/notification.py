"""A task the demo runs delayed; a plain function, so it runs in a thread."""

from stellar import task


@task(
    name="email.sendNotification",
    description="Send a notification email",
    queue="default",
)
def send_notification(api, params):
    api.log.info("email.sendNotification: notifying %s (%s)", params["to"], params["subject"])
