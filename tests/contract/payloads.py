"""Payloads and records for the contract tests, built as the codec builds them."""

from __future__ import annotations

from stellar.codec import encode_job


def job(task: str = "t", queue: str = "q", params: object = None) -> str:
    """A job payload; ``params`` travel as ``args: [params]`` (``{}`` when None)."""
    return encode_job(task, queue, [{} if params is None else params])


def failure(n: int) -> str:
    """An opaque failed-list record (the backend never parses it)."""
    return f'{{"worker":"w","queue":"q","payload":{{}},"error":"boom {n}"}}'
