import time

from stellar import task


@task(name="email.sendNotification", description="Send a notification", queue="mail")
def send_notification(api, params):  # a plain function: it runs in a thread
    time.sleep(0.01)  # a blocking call (an SMTP client, say) never blocks the loop
    api.log.info("notifying %s: %s", params["to"], params["subject"])
