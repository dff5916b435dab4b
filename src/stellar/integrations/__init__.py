"""Glue between stellar and the rest of the Python ecosystem; each module is optional.

* :mod:`stellar.integrations.asgi`: run an application in a Starlette/FastAPI lifespan.
* :mod:`stellar.integrations.logging`: per-job context on standard ``logging`` records.
* :mod:`stellar.integrations.otel`: OpenTelemetry spans for enqueue and perform.
"""
