"""Single-producer single-consumer queues.

A :class:`Queue` is a handle to a named region; from it a process takes the
sender role (:meth:`Queue.sender`) or the receiver role
(:meth:`Queue.receiver`), each held by at most one live endpoint at a time
across all processes (:class:`~shmq.RoleTaken` otherwise). The role of an
endpoint whose process died can be taken again. Messages arrive exactly once
and in order while both ends live.
"""

from ._shmq import spsc as _native

Queue = _native.Queue
Sender = _native.Sender
Receiver = _native.Receiver

__all__ = ["Queue", "Sender", "Receiver"]
