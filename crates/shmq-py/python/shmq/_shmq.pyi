"""The native module (type stubs); use :mod:`shmq.spsc`, :mod:`shmq.mpmc`,
:mod:`shmq.bytes` and :mod:`shmq.dense`."""

from types import ModuleType

__all__ = ["spsc", "mpmc", "bytes", "dense", "WAIT_SLICE", "_after_fork_in_child"]

spsc: ModuleType
mpmc: ModuleType
bytes: ModuleType
dense: ModuleType
WAIT_SLICE: float
"""Longest stretch (seconds) a blocking call waits without checking signals."""

def _after_fork_in_child() -> None: ...
