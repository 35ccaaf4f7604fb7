"""Multi-producer multi-consumer queues.

Any number of processes attach senders and receivers to a :class:`Queue`, up
to ``max_endpoints`` at once. Each message is delivered to exactly one
receiver; messages of one sender are received in the order sent. A process
killed at any instruction cannot wedge the others (a message it was sending
or had just taken is lost, and counted in ``stats()``).
"""

from ._shmq import mpmc as _native

Queue = _native.Queue
Sender = _native.Sender
Receiver = _native.Receiver

__all__ = ["Queue", "Sender", "Receiver"]
