# --8<-- [start:create]
# a new application, a task, and jobs for it
stellar init shop
stellar --app shop make-task orders.confirm --module orders --queue orders
stellar --app shop enqueue orders.confirm --params '{"order": 42}'
stellar --app shop enqueue orders.confirm --params '{"order": 43}' --in 30
stellar --app shop enqueue orders.confirm --at 2030-01-01T09:00:00+00:00 --queue urgent
stellar --app shop queues
# --8<-- [end:create]

# --8<-- [start:run]
# processors and scheduler in this process, until Ctrl-C or SIGTERM (a graceful stop)
stellar --app shop run
# more processors, on this host or any other sharing the backend (no scheduler)
stellar --app shop worker --queues urgent,orders --min 2 --max 20
# --8<-- [end:run]
