"""Targets of child processes started with ``multiprocessing`` (importable by
name, as the "spawn" start method requires)."""

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
