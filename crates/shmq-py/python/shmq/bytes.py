"""Variable-length messages in a ring of bytes (single producer, single
consumer).

A :class:`Queue` of this kind is a ring of ``capacity_bytes`` bytes (a power
of two) in which each message takes only its own length, rounded up to 8,
plus an 8-byte header: small events and large frames share one queue without
every slot being sized for the largest. Messages are 0 to ``max_message``
bytes (fixed at creation, at most ``capacity_bytes // 2 - 16``).

The classes and methods are those of :mod:`shmq.spsc` (roles, crash
takeover, disconnection, untrusted peers), with two differences in meaning:
``capacity`` is the ring's size in bytes and ``slot_size`` is
``max_message``; ``len()`` counts messages. The Rust crate's zero-copy loans
(``Sender::try_loan``, ``Receiver::try_recv_with``) are not exposed: in
Python, ``send`` copies from any bytes-like object and ``recv_into`` into
any writable one, each a single copy.

>>> import shmq
>>> with shmq.bytes.Queue.create("doc-bytes", capacity_bytes=4096, max_message=1000) as q:
...     with q.sender() as tx, q.receiver() as rx:
...         tx.send(b"a short event")
...         tx.send(b"x" * 1000)
...         (rx.recv(), len(rx.recv()), q.capacity, q.slot_size)
(b'a short event', 1000, 4096, 1000)
"""

from ._shmq import bytes as _native

Queue = _native.Queue
Sender = _native.Sender
Receiver = _native.Receiver

__all__ = ["Queue", "Sender", "Receiver"]
