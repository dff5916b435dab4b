"""ResqueKeys: every key pinned to the exact string node-resque 9 builds.

The expected strings are what ``connection.key(...)`` of node-resque (src/core/*.ts) gives
for the same call, e.g. ``key("worker", name, queues, "started")``.
"""

from __future__ import annotations

import dataclasses

import pytest

from stellar.backends.redis.keys import ResqueKeys
from stellar.codec import encode_job

K = ResqueKeys()
JOB = encode_job("email.send", "mail", [{"to": "a@b.c"}])


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (K.queues, "resque:queues"),
        (K.queue("mail"), "resque:queue:mail"),
        (K.queue("a:b c"), "resque:queue:a:b c"),
        (K.delayed_schedule, "resque:delayed_queue_schedule"),
        (K.delayed(1_700_000_000), "resque:delayed:1700000000"),
        (K.delayed("1700000000"), "resque:delayed:1700000000"),
        (
            K.timestamps(JOB),
            'resque:timestamps:{"class":"email.send","queue":"mail","args":[{"to":"a@b.c"}]}',
        ),
        (K.timestamps_member(1_700_000_000), "delayed:1700000000"),
        (K.workers, "resque:workers"),
        (K.worker_id("host:12+1", "mail,low"), "host:12+1:mail,low"),
        (K.worker("host:12+1", "mail,low"), "resque:worker:host:12+1:mail,low"),
        (K.worker_by_id("host:12+1:mail,low"), "resque:worker:host:12+1:mail,low"),
        (K.worker("host:12+1", "*"), "resque:worker:host:12+1:*"),
        (K.worker_started("host:12+1", "mail"), "resque:worker:host:12+1:mail:started"),
        (K.worker_ping("host:12+1"), "resque:worker:ping:host:12+1"),
        (K.stat("processed"), "resque:stat:processed"),
        (K.stat("failed"), "resque:stat:failed"),
        (K.stat("processed:host:12+1"), "resque:stat:processed:host:12+1"),
        (K.worker_stat("processed", "host:12+1"), "resque:stat:processed:host:12+1"),
        (K.worker_stat("failed", "host:12+1"), "resque:stat:failed:host:12+1"),
        (K.failed, "resque:failed"),
        (K.lock('lock:t:q:[{"a":1}]'), 'resque:lock:t:q:[{"a":1}]'),
        (K.lock("workerslock:t:q:[{}]"), "resque:workerslock:t:q:[{}]"),
        (K.leader, "resque:resque_scheduler_leader_lock"),
        # our additions, inside the namespace
        (K.delayed_precise, "resque:stellar:delayed_precise"),
        (K.precise_member(101, JOB), "101|" + JOB),
        (K.recurrent_stopped, "resque:stellar:recurrent:stopped"),
        (K.working, "resque:stellar:working"),
    ],
)
def test_keys_match_node_resque(built: str, expected: str) -> None:
    assert built == expected


def test_blank_parts_are_dropped_like_node_resque_9() -> None:
    # node-resque 9 filters parts whose String(x).trim() is empty
    assert K.queue("") == "resque:queue"
    assert K.queue("  ") == "resque:queue"
    assert K.worker("host:1", "") == "resque:worker:host:1"
    # "timestamps:" + payload and "delayed:" + ts are single parts there: never dropped
    assert K.timestamps(" ") == "resque:timestamps: "


def test_other_namespaces() -> None:
    tagged = ResqueKeys("{resque}")
    assert tagged.queue("q") == "{resque}:queue:q"
    assert tagged.delayed_precise == "{resque}:stellar:delayed_precise"
    assert tagged.leader == "{resque}:resque_scheduler_leader_lock"
    assert ResqueKeys("app:jobs").queues == "app:jobs:queues"
    bare = ResqueKeys("")
    assert bare.queues == "queues"
    assert bare.prefix == ""
    assert bare.relative("lock:x") == "lock:x"


def test_relative_and_patterns() -> None:
    assert K.prefix == "resque:"
    assert K.relative("resque:lock:t:q:[{}]") == "lock:t:q:[{}]"
    assert K.relative("other:lock:x") == "other:lock:x"
    assert K.lock_patterns == ("resque:lock:*", "resque:workerslock:*")
    assert K.stat_pattern == "resque:stat:*"
    assert K.delayed_pattern == "resque:delayed:*"
    assert K.ping_pattern == "resque:worker:ping:*"
    # glob characters of the namespace are escaped, the wildcard part is not
    assert ResqueKeys("a*b[1]").pattern("lock:*") == "a\\*b\\[1\\]:lock:*"
    assert ResqueKeys("{resque}").pattern("stat:*") == "{resque}:stat:*"


def test_precise_member_round_trip() -> None:
    member = K.precise_member(101, '{"a":"x|y"}')
    assert K.split_precise_member(member) == ("101", '{"a":"x|y"}')


def test_keys_object_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        K.namespace = "other"  # type: ignore[misc]
    assert K.queues is K.queues  # built once
