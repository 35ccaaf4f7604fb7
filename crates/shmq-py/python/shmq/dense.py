"""Fixed-size records back to back (single producer, single consumer).

Every message of a dense :class:`Queue` is exactly ``record_size`` bytes
(the queue's ``slot_size``) — typically one NumPy scalar or structured
record, or a ``struct``-packed value — stored with no per-message header.
A message of any other length is refused with :class:`~shmq.WrongSize`
(a :class:`ValueError`), nothing sent. ``capacity`` counts records.

The classes and methods are those of :mod:`shmq.spsc` (roles, crash
takeover, disconnection, untrusted peers). Each ``send`` sends one record
and each ``recv`` returns one; ``recv_into`` needs a buffer of at least
``record_size`` bytes (a shorter one raises :class:`~shmq.TooLarge`, the
record staying queued).

Batches: :meth:`Sender.send_records` sends the bytes of many records back to
back (a NumPy array of the record's dtype, say), published at once, and
returns how many records went — a prefix, at least one, when the queue has
room for fewer; call again with the rest. :meth:`Receiver.recv_records_into`
fills a buffer with as many records as it holds whole (at least one) and
returns how many; :meth:`Receiver.recv_records` returns up to
``max_records`` as ``bytes``. Each has a ``try_`` form that never waits.

>>> import numpy as np, shmq
>>> with shmq.dense.Queue.create("doc-dense", capacity=1024, record_size=8) as q:
...     with q.sender() as tx, q.receiver() as rx:
...         for v in (1.5, 2.5):
...             tx.send(np.float64(v))
...         out = np.zeros(2, dtype=np.float64)
...         rx.recv_into(out[0:1]), rx.recv_into(out[1:2])
...         out.tolist()
(8, 8)
[1.5, 2.5]
>>> with shmq.dense.Queue.create("doc-dense-batch", capacity=1024, record_size=8) as q:
...     with q.sender() as tx, q.receiver() as rx:
...         tx.send_records(np.arange(5, dtype=np.int64))
...         out = np.zeros(8, dtype=np.int64)
...         n = rx.recv_records_into(out)
...         out[:n].tolist()
5
[0, 1, 2, 3, 4]
"""

from ._shmq import dense as _native

Queue = _native.Queue
Sender = _native.Sender
Receiver = _native.Receiver

__all__ = ["Queue", "Sender", "Receiver"]
