"""The native module (type stubs); use :mod:`shmq.spsc` and :mod:`shmq.mpmc`."""

from types import ModuleType

__all__ = ["spsc", "mpmc", "WAIT_SLICE", "_after_fork_in_child"]

spsc: ModuleType
mpmc: ModuleType
WAIT_SLICE: float
"""Longest stretch (seconds) a blocking call waits without checking signals."""

def _after_fork_in_child() -> None: ...
