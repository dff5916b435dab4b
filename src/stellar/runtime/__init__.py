"""What runs: task processors (workers in a pool) and the leader-elected scheduler."""

from stellar.runtime.pool import ProcessorPool
from stellar.runtime.scheduler import Scheduler
from stellar.runtime.worker import Worker

__all__ = ["ProcessorPool", "Scheduler", "Worker"]
