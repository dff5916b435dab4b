pip install stellar-tasks                # the embedded SQLite backend: nothing else to run
pip install 'stellar-tasks[redis]'       # the Redis backend (Resque's layout, node-resque's too)
pip install 'stellar-tasks[web]'         # the dashboard
pip install 'stellar-tasks[otel]'        # OpenTelemetry spans
