from stellar import task


@task(name="shop.confirmOrder", description="Confirm an order by email")
async def confirm_order(api, params):
    api.log.info("confirming order %s", params["order"])
    return f"order {params['order']} confirmed"


@task(name="shop.sendReminder", description="Remind a customer of a forgotten cart")
def send_reminder(api, params):  # a plain function: it runs in a thread
    api.log.info("reminding cart %s", params["cart"])


@task(name="shop.cleanCarts", description="Drop abandoned carts", frequency=3600)
async def clean_carts(api, params):
    api.log.info("cleaning carts")
