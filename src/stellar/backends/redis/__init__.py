"""Redis storage in Resque's own layout, shared with node-resque and Ruby Resque.

* :mod:`.keys` builds every key (and documents the layout);
* ``lua/*.lua`` holds every multi-key change, loaded by :mod:`.scripts`;
* :mod:`.backend` implements the backend contract on redis-py's asyncio client.
"""

from __future__ import annotations

from stellar.backends.redis.backend import RedisBackend
from stellar.backends.redis.keys import ResqueKeys

__all__ = ["RedisBackend", "ResqueKeys"]
