"""Params that must cross between node-resque and us unchanged."""

from __future__ import annotations

from typing import Any

PARAMS: list[Any] = [
    {"to": "ada@example.com"},
    {"text": 'héllo ☃ \U0001f600 "quoted" back\\slash a/b\n\ttab \u2028 \x00 end'},
    {"floats": [1e-7, 0.1, 1 / 3, 1e21, 1.5e300, 5e-324, 123.456, -2.5e-9, 1e16]},
    {"ints": [2**53 - 1, -(2**53 - 1), 0, -1, 10**15]},
    {"nested": {"a": [{"b": [1, [2, [3, {"c": None}]]]}], "empty": {}, "list": [], "t": True}},
    {"b": 1, "10": 2, "2": 3, "a": 4},  # JS writes index keys first: {"2":..,"10":..,..}
    {},
    {"unicode key ☃": "\U0001f680", "emoji\U0001f600": ["\u00e9", "e\u0301"]},
]
"""One job per entry, enqueued as Stellar does: ``args: [params]``."""

EDGE: dict[str, Any] = {"edge": [2**53, -(2**53)]}
"""node-resque writes these; we read them, but refuse to enqueue them (beyond
``Number.MAX_SAFE_INTEGER``, 2**53 cannot be told apart from 2**53 + 1 in JavaScript)."""
