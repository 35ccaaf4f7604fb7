"""Across processes: plain ``python`` processes sharing only a name,
``multiprocessing`` with "spawn" and "fork", peers that exit or are killed.
Tests whose messages all have one length run on every kind (``any_kind``)."""

import json
import multiprocessing
import os
import signal
import time

import pytest

import peers
import shmq
from conftest import BOUND, finish, fresh_name, geometry, kind_name, python, read_line, until

COUNT = 2000


def test_separate_processes_sharing_only_the_name(any_kind, name):
    kind = any_kind
    shape = json.dumps(geometry(kind, 64, 8))
    # Neither process is the parent of a queue object: each opens or creates
    # the (persistent) queue by name, in whatever order they get there.
    producer = python(
        """
        import json, sys, shmq
        kind, name, count = getattr(shmq, sys.argv[1]), sys.argv[2], int(sys.argv[3])
        q = kind.Queue.open_or_create(name, **json.loads(sys.argv[4]), persist=True)
        with q.sender() as tx:
            for i in range(count):
                tx.send(i.to_bytes(8, "little"), timeout=60)
        print("sent")
        """,
        kind_name(kind), name, str(COUNT), shape,
    )
    consumer = python(
        """
        import json, sys, shmq
        kind, name, count = getattr(shmq, sys.argv[1]), sys.argv[2], int(sys.argv[3])
        q = kind.Queue.open_or_create(name, **json.loads(sys.argv[4]), persist=True)
        buf = bytearray(16)
        with q.receiver() as rx:
            got = []
            for _ in range(count):
                n = rx.recv_into(buf, timeout=60)
                got.append(int.from_bytes(buf[:n], "little"))
        assert got == list(range(count)), got[:10]
        print("received")
        """,
        kind_name(kind), name, str(COUNT), shape,
    )
    for proc, word in ((producer, "sent"), (consumer, "received")):
        code, out, err = finish(proc)
        assert (code, out.strip()) == (0, word), err


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_multiprocessing_producer(any_kind, name, method):
    kind = any_kind
    ctx = multiprocessing.get_context(method)
    with kind.Queue.create(name, **geometry(kind, 64, 8)) as q:
        with q.receiver() as rx:
            # The Queue handle is pickled (spawn: reopened by name) or inherited (fork).
            child = ctx.Process(target=peers.produce, args=(q, COUNT))
            child.start()
            got = [int.from_bytes(rx.recv(timeout=BOUND), "little") for _ in range(COUNT)]
            child.join(BOUND)
            assert child.exitcode == 0
            assert got == list(range(COUNT))
            # The child's sender is gone: drained, then Disconnected.
            with pytest.raises(shmq.Disconnected):
                rx.recv(timeout=BOUND)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_mpmc_two_producer_processes(name, method):
    ctx = multiprocessing.get_context(method)
    with shmq.mpmc.Queue.create(name, capacity=64, slot_size=16) as q:
        with q.receiver() as rx:
            # Both senders attach before either sends: otherwise one could
            # finish and detach before the other attaches, and the receiver
            # would rightly see no live sender (Disconnected) in between.
            barrier = ctx.Barrier(2)
            children = [
                ctx.Process(target=peers.produce, args=(q, COUNT, tag, barrier))
                for tag in (b"a", b"b")
            ]
            for c in children:
                c.start()
            seen = {b"a": [], b"b": []}
            for _ in range(2 * COUNT):
                m = rx.recv(timeout=BOUND)
                seen[m[:1]].append(int.from_bytes(m[1:], "little"))
            for c in children:
                c.join(BOUND)
                assert c.exitcode == 0
            # Exactly once, and in order per sender.
            assert seen == {b"a": list(range(COUNT)), b"b": list(range(COUNT))}


def test_endpoints_inherited_across_fork_are_refused_in_the_child(any_kind, name):
    kind = any_kind
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    with kind.Queue.create(name, **geometry(kind, 4, 10)) as q:
        tx, rx = q.sender(), q.receiver()
        child = ctx.Process(target=peers.use_inherited, args=(tx, rx, results))
        child.start()
        outcomes = results.get(timeout=BOUND)
        child.join(BOUND)
        assert child.exitcode == 0
        assert outcomes == ["refused", "refused"]
        # The child closed its copies: the parent's endpoints still hold
        # their roles and work.
        if kind is not shmq.mpmc:
            with pytest.raises(shmq.RoleTaken):
                q.sender()
        tx.send(b"still mine")
        assert rx.recv(timeout=BOUND) == b"still mine"
        tx.close()
        rx.close()


def test_a_creator_handle_closed_in_a_forked_child_keeps_the_name(any_kind, name):
    kind = any_kind
    ctx = multiprocessing.get_context("fork")
    with kind.Queue.create(name) as q:
        child = ctx.Process(target=peers.close_queue, args=(q,))
        child.start()
        child.join(BOUND)
        assert child.exitcode == 0
        # Closing there did not remove the name (only the parent's close does).
        kind.Queue.open(name).close()
    with pytest.raises(shmq.NotFound):
        kind.Queue.open(name)


SENDER_CHILD = """
import sys, time, shmq
kind, name = getattr(shmq, sys.argv[1]), sys.argv[2]
q = kind.Queue.open(name)
tx = q.sender()
tx.send(b"last words")
print("ready", flush=True)
if sys.argv[3] == "exit":
    sys.exit(0)
time.sleep(600)  # until killed
"""


def test_disconnected_when_the_sender_process_exits(any_kind, name):
    kind = any_kind
    with kind.Queue.create(name, **geometry(kind, 8, 10)) as q, q.receiver() as rx:
        proc = python(SENDER_CHILD, kind_name(kind), name, "exit")
        assert read_line(proc) == "ready"
        assert finish(proc)[0] == 0
        assert rx.recv(timeout=BOUND) == b"last words"
        with pytest.raises(shmq.Disconnected):
            rx.recv(timeout=BOUND)


def test_a_killed_senders_role_is_taken_over(any_kind, name):
    kind = any_kind
    with kind.Queue.create(name, **geometry(kind, 8, 10)) as q, q.receiver() as rx:
        proc = python(SENDER_CHILD, kind_name(kind), name, "sleep")
        assert read_line(proc) == "ready"
        if kind is not shmq.mpmc:
            with pytest.raises(shmq.RoleTaken):
                q.sender()
        proc.send_signal(signal.SIGKILL)
        code, _, _ = finish(proc)
        assert code == -signal.SIGKILL
        # What the dead sender committed arrives, then Disconnected.
        assert rx.recv(timeout=BOUND) == b"last words"
        with pytest.raises(shmq.Disconnected):
            rx.recv(timeout=BOUND)
        # Its role is free: a new sender takes it and traffic resumes.
        with q.sender() as tx:
            tx.send(b"new sender")
            assert rx.recv(timeout=BOUND) == b"new sender"


def test_a_sender_is_told_when_the_receiver_process_is_gone(kind, name):
    with kind.Queue.create(name, capacity=4, slot_size=8) as q, q.sender() as tx:
        proc = python(
            """
            import sys, shmq
            rx = getattr(shmq, sys.argv[1]).Queue.open(sys.argv[2]).receiver()
            print(rx.recv(timeout=60).decode(), flush=True)
            """,
            kind_name(kind), name,
        )
        tx.send(b"one")
        code, out, err = finish(proc)
        assert (code, out.strip()) == (0, "one"), err
        # The queue accepts what fits, then reports the receiver gone.
        for _ in range(4):
            tx.send(b"x", timeout=BOUND)
        with pytest.raises(shmq.Disconnected):
            tx.send(b"x", timeout=BOUND)
