"""Targets of child processes started with ``multiprocessing`` (importable by
name, as the "spawn" start method requires)."""

import struct

import shmq


def produce(q, count, tag=b"", barrier=None):
    """Sends ``tag + i`` for i in range(count) on a new sender of ``q``, after
    every party of ``barrier`` (if any) has attached its sender."""
    with q.sender() as tx:
        if barrier is not None:
            barrier.wait(60)
        for i in range(count):
            tx.send(tag + i.to_bytes(8, "little"), timeout=60)


def use_inherited(tx, rx, results):
    """In a forked child: endpoints inherited from the parent refuse to work,
    and closing them has no effect on the parent's roles."""
    outcomes = []
    # A message of the queue's slot size: valid for every kind (dense takes
    # exactly that length), so only the inheritance can refuse it.
    for call in (lambda: tx.try_send(b"x" * tx.slot_size), lambda: rx.try_recv()):
        try:
            call()
            outcomes.append("worked")
        except shmq.Error:
            outcomes.append("refused")
    tx.close()
    rx.close()
    results.put(outcomes)


def close_queue(q):
    """In a forked child: closes the inherited (creator's) queue handle."""
    q.close()


def record(i):
    """Record ``i`` of the dense batch tests: 12 bytes (``<Id``: ``i``, ``i / 4``)."""
    return struct.pack("<Id", i, i / 4)


# Batch sizes (records) the batched peers cycle through.
BATCHES = (1, 7, 33, 2, 64, 5, 100)


def produce_records(q, count):
    """Sends records 0..count of ``record`` on a new sender of the dense queue
    ``q``, in batches of ``BATCHES`` records, each batch sent in as many
    ``send_records`` calls as the queue's room takes."""
    with q.sender() as tx:
        i, b = 0, 0
        while i < count:
            k = min(BATCHES[b % len(BATCHES)], count - i)
            rest = memoryview(b"".join(record(j) for j in range(i, i + k)))
            while rest:
                n = tx.send_records(rest, timeout=60)
                assert n >= 1, n
                rest = rest[n * tx.slot_size:]
            i, b = i + k, b + 1


def consume_records(q, count):
    """Receives ``count`` records of ``record`` on a new receiver of the
    dense queue ``q`` with ``recv_records``, checks each, and exits."""
    with q.receiver() as rx:
        got = b""
        while len(got) < count * rx.slot_size:
            got += rx.recv_records((count * rx.slot_size - len(got)) // rx.slot_size, timeout=60)
        assert got == b"".join(record(i) for i in range(count))
