"""shmq: lock-free queues in shared memory between processes that do not
trust each other.

Four kinds of queue, all named regions in ``/dev/shm`` that unrelated
processes open by name, with the same classes (``Queue``, ``Sender``,
``Receiver``) and methods:

- :mod:`shmq.spsc` — one sender and one receiver at a time;
- :mod:`shmq.mpmc` — any number of senders and receivers (up to a limit set
  at creation), each message delivered to exactly one receiver;
- :mod:`shmq.bytes` — one sender and one receiver; variable-length messages
  in a ring of bytes, each taking only its own length;
- :mod:`shmq.dense` — one sender and one receiver; fixed-size records (every
  message exactly ``record_size`` bytes) back to back.

Messages are byte strings of up to ``slot_size`` bytes (dense: exactly
``slot_size``). A send to a full queue fails (``try_send``) or waits
(``send``); it never overwrites. Blocking
calls release the GIL and are interruptible with Ctrl-C. A crashed peer's
role can be taken over, and the survivor learns that its peer is gone
(:class:`Disconnected`); whatever a peer writes into the shared region, this
process gets exceptions (:class:`Poisoned`, …), never a crash.

>>> import shmq
>>> with shmq.spsc.Queue.create("doc-example") as q, q.sender() as tx, q.receiver() as rx:
...     tx.send(b"hello")
...     rx.recv()
b'hello'
"""

import os as _os

from . import _shmq
from .errors import (
    AlreadyExists,
    Disconnected,
    Empty,
    Error,
    Full,
    InvalidName,
    InvalidRegion,
    IoError,
    NotFound,
    NotReady,
    PermissionDenied,
    Poisoned,
    RoleTaken,
    TableFull,
    Timeout,
    TooLarge,
    WrongSize,
)
from . import bytes, dense, mpmc, spsc

__all__ = [
    "spsc",
    "mpmc",
    "bytes",
    "dense",
    "remove",
    "Error",
    "Full",
    "Empty",
    "Timeout",
    "Disconnected",
    "TooLarge",
    "WrongSize",
    "RoleTaken",
    "TableFull",
    "Poisoned",
    "InvalidRegion",
    "NotReady",
    "InvalidName",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "IoError",
]

__version__ = "0.1.0"

# Queue handles and endpoints inherited by a forked child must neither be
# used nor closed there (they share the parent's role locks).
_os.register_at_fork(after_in_child=_shmq._after_fork_in_child)


def remove(name: str) -> None:
    """Removes the queue ``name`` (of any kind) from ``/dev/shm``.

    Processes that have it open keep using it; the name can be created anew.
    Raises :class:`NotFound` or :class:`InvalidName`.
    """
    spsc.Queue.remove(name)
