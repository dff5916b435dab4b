"""Every Redis key the Redis backend touches, built in one place.

The layout is the one node-resque 9 writes (``N`` is the namespace, ``resque`` by default;
a hash-tagged namespace such as ``{resque}`` puts every key in one Redis Cluster slot):

==========================================  ======  ===========================================
key                                         type    meaning
==========================================  ======  ===========================================
``N:queues``                                SET     names of all known queues
``N:queue:<q>``                             LIST    jobs waiting in queue ``q``, head first
``N:delayed_queue_schedule``                ZSET    delayed timestamps; member = score =
                                                    whole unix seconds, as a decimal string
``N:delayed:<ts>``                          LIST    jobs filed under timestamp ``ts``
``N:timestamps:<job json>``                 SET     ``delayed:<ts>`` for every timestamp the
                                                    exact job text is filed under
``N:workers``                               SET     ``<name>:<queues>`` of every worker
``N:worker:<name>:<queues>``                STRING  the worker's working-on record (JSON)
``N:worker:<name>:<queues>:started``        STRING  when the worker started, unix seconds
``N:worker:ping:<name>``                    STRING  ``{"time":..,"name":..,"queues":..}``
``N:stat:processed``, ``N:stat:failed``     STRING  global counters
``N:stat:processed:<name>``, ``...failed``  STRING  per-worker counters (dropped with it)
``N:failed``                                LIST    failure records (JSON), oldest first
``N:lock:<...>``, ``N:workerslock:<...>``   STRING  plugin locks; value = expiry, unix seconds
``N:resque_scheduler_leader_lock``          STRING  name of the leading scheduler (with TTL)
``N:stellar:delayed_precise``               ZSET    ours: member ``<ts>|<job json>``, score =
                                                    the precise time the job was asked for; only
                                                    for jobs whose time is not a whole second
``N:stellar:recurrent:stopped``             SET     ours: names of stopped periodic tasks
``N:stellar:working``                       SET     ours: ``<name>:<queues>`` of every worker
                                                    holding a working-on record our ``claim``
                                                    wrote (registered or not), so periodic
                                                    seeding sees every running copy
``N:stellar:notify:queued``                 LIST    ours: a wake-up signal, at most one
                                                    token; pushing, releasing, retrying or
                                                    promoting a job leaves it while anybody
                                                    waits, and an idle process waits for it
                                                    with ``BLPOP`` (``RedisBackend.wait_for``)
``N:stellar:waiting:queued``                ZSET    ours: who waits for that signal; member =
                                                    a backend's waiter id, score = when its
                                                    registration lapses (unix ms)
``N:stellar:notify:delayed``,               LIST,   ours: the same for schedulers, signalled
``N:stellar:waiting:delayed``               ZSET    by ``push_delayed`` when the job is due
                                                    before every other delayed job
==========================================  ======  ===========================================

Keys are joined as node-resque 9's ``connection.key(...)`` joins them: the namespace and the
parts with ``":"``, leaving out any part that is blank once trimmed (so ``queue("")`` is
``N:queue``, exactly what node-resque would touch). ``timestamps:`` and ``delayed:`` are
single parts in node-resque (``key("delayed:" + ts)``), so they are never trimmed away.

Nothing under ``stellar:`` changes the meaning of a Resque key: a node-resque process that
ignores them sees a consistent Resque layout. A ``delayed_precise`` entry whose job is no
longer filed (moved or deleted by another Resque client) is stale; ``promote_due`` drops it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

_GLOB_SPECIALS = frozenset("*?[]\\^-")


def _escape_glob(text: str) -> str:
    """Escape ``text`` for a Redis ``SCAN ... MATCH`` pattern."""
    return "".join("\\" + c if c in _GLOB_SPECIALS else c for c in text)


@dataclass(frozen=True)
class ResqueKeys:
    """Builds the Redis keys of one namespace; see the module docstring for the table."""

    namespace: str = "resque"

    # ------------------------------------------------------------------ helpers
    def _key(self, *parts: str) -> str:
        return ":".join(p for p in (self.namespace, *parts) if str(p).strip())

    @cached_property
    def prefix(self) -> str:
        """What every key of the namespace starts with (``"resque:"``)."""
        return self._key() + ":" if self.namespace.strip() else ""

    def relative(self, key: str) -> str:
        """``key`` without the namespace prefix (``"resque:lock:x"`` -> ``"lock:x"``)."""
        prefix = self.prefix
        return key[len(prefix) :] if prefix and key.startswith(prefix) else key

    def pattern(self, relative_glob: str) -> str:
        """A SCAN pattern: the namespace (escaped) followed by ``relative_glob`` as is."""
        return _escape_glob(self.prefix) + relative_glob

    # ------------------------------------------------------------------- queues
    @cached_property
    def queues(self) -> str:
        return self._key("queues")

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the keys object lives as long
    def queue(self, queue: str) -> str:
        return self._key("queue", queue)

    # ------------------------------------------------------------------ delayed
    @cached_property
    def delayed_schedule(self) -> str:
        return self._key("delayed_queue_schedule")

    def delayed(self, timestamp: int | str) -> str:
        return self._key(f"delayed:{timestamp}")

    def timestamps(self, payload: str) -> str:
        return self._key("timestamps:" + payload)

    @staticmethod
    def timestamps_member(timestamp: int | str) -> str:
        """Member of ``timestamps:<payload>`` sets: ``delayed:<ts>``, without namespace."""
        return f"delayed:{timestamp}"

    @cached_property
    def delayed_pattern(self) -> str:
        return self.pattern("delayed:*")

    @cached_property
    def delayed_precise(self) -> str:
        return self._key("stellar", "delayed_precise")

    @staticmethod
    def precise_member(timestamp: int | str, payload: str) -> str:
        """Member of the precise zset for ``payload`` filed under ``timestamp``."""
        return f"{timestamp}|{payload}"

    @staticmethod
    def split_precise_member(member: str) -> tuple[str, str]:
        """``(timestamp, payload)`` of a precise-zset member."""
        timestamp, _, payload = member.partition("|")
        return timestamp, payload

    # ------------------------------------------------------------------ workers
    @cached_property
    def workers(self) -> str:
        return self._key("workers")

    @staticmethod
    def worker_id(name: str, queues: str) -> str:
        """Member of the workers set: ``<name>:<queues>``."""
        return f"{name}:{queues}"

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - hot: every claim and finish
    def worker(self, name: str, queues: str) -> str:
        """The worker's working-on record."""
        return self._key("worker", name, queues)

    def worker_by_id(self, worker_id: str) -> str:
        """The working-on record of the workers-set member ``worker_id``."""
        return self._key("worker", worker_id)

    def worker_started(self, name: str, queues: str) -> str:
        return self._key("worker", name, queues, "started")

    def worker_ping(self, name: str) -> str:
        return self._key("worker", "ping", name)

    @cached_property
    def ping_pattern(self) -> str:
        return self.pattern("worker:ping:*")

    # -------------------------------------------------------------------- stats
    def stat(self, name: str) -> str:
        """A counter: ``stat("processed")``, ``stat("failed:<worker>")``..."""
        return self._key("stat", name)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - hot: every finish
    def worker_stat(self, kind: str, worker: str) -> str:
        """A per-worker counter, as node-resque names it: ``stat:<kind>:<worker name>``."""
        return self._key("stat", kind, worker)

    @cached_property
    def stat_pattern(self) -> str:
        return self.pattern("stat:*")

    # ------------------------------------------------------------------- failed
    @cached_property
    def failed(self) -> str:
        return self._key("failed")

    # -------------------------------------------------------------------- locks
    def lock(self, relative: str) -> str:
        """A plugin lock by its relative name (``lock:...`` or ``workerslock:...``)."""
        return self._key(relative)

    @cached_property
    def lock_patterns(self) -> tuple[str, str]:
        return self.pattern("lock:*"), self.pattern("workerslock:*")

    @cached_property
    def leader(self) -> str:
        return self._key("resque_scheduler_leader_lock")

    @cached_property
    def working(self) -> str:
        return self._key("stellar", "working")

    @cached_property
    def notify_queued(self) -> str:
        """The wake-up list of the ``queued`` signal."""
        return self._key("stellar", "notify", "queued")

    @cached_property
    def waiting_queued(self) -> str:
        """Who waits for the ``queued`` signal."""
        return self._key("stellar", "waiting", "queued")

    @cached_property
    def notify_delayed(self) -> str:
        """The wake-up list of the ``delayed`` signal."""
        return self._key("stellar", "notify", "delayed")

    @cached_property
    def waiting_delayed(self) -> str:
        """Who waits for the ``delayed`` signal."""
        return self._key("stellar", "waiting", "delayed")

    # ---------------------------------------------------------------- recurrent
    @cached_property
    def recurrent_stopped(self) -> str:
        return self._key("stellar", "recurrent", "stopped")
