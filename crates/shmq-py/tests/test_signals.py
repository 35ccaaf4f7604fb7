"""Ctrl-C (SIGINT) ends a blocking call with KeyboardInterrupt, in a separate
``python`` process, whose endpoints then still work and which exits cleanly."""

import signal

import pytest

import shmq
from conftest import finish, geometry, kind_name, python, read_line, until

BLOCKED_CHILD = """
import sys, shmq
kind, name, call = getattr(shmq, sys.argv[1]), sys.argv[2], sys.argv[3]
q = kind.Queue.open(name)
with q.receiver() as rx, q.sender() as tx:
    if call.startswith("send"):
        while True:  # fill the queue, so that send() blocks
            try:
                tx.try_send(b"x")
            except shmq.Full:
                break
    print("ready", flush=True)
    try:
        if call == "recv":
            rx.recv()
        elif call == "recv_into":
            rx.recv_into(bytearray(8))
        elif call == "iterate":
            for _ in rx:
                pass
        elif call == "recv_records":  # dense only
            rx.recv_records(4)
        elif call == "recv_records_into":  # dense only
            rx.recv_records_into(bytearray(8))
        elif call == "send_records":  # dense only
            tx.send_records(b"xy")
        else:
            tx.send(b"x")
        print("returned")
    except KeyboardInterrupt:
        print("interrupted")
    # The interrupted endpoints still work.
    while True:
        try:
            rx.try_recv()
        except shmq.Empty:
            break
    tx.try_send(b"y")
    assert rx.try_recv() == b"y"
    print("usable")
print("closed", flush=True)
"""


def interrupt_blocked_child(kind, name, call):
    with kind.Queue.create(name, **geometry(kind, 4, 1)) as q:
        proc = python(BLOCKED_CHILD, kind_name(kind), name, call)
        assert read_line(proc) == "ready"
        # Send SIGINT once the child is parked in the call (it registered to
        # sleep), so that the signal lands inside it, not before.
        side = "producer_sleeps" if call.startswith("send") else "consumer_sleeps"
        until(lambda: q.stats()["wait"][side] > 0, "the child to block")
        proc.send_signal(signal.SIGINT)
        code, out, err = finish(proc)
        assert code == 0, err
        assert out.split() == ["interrupted", "usable", "closed"], err
        # It closed its endpoints on the way out: the roles are free.
        q.sender().close()
        q.receiver().close()


@pytest.mark.parametrize("call", ["recv", "recv_into", "iterate", "send"])
def test_ctrl_c_interrupts_a_blocking_call(any_kind, name, call):
    # Every message is one byte long: a dense queue's records are 1 byte.
    interrupt_blocked_child(any_kind, name, call)


@pytest.mark.parametrize("call", ["recv_records", "recv_records_into", "send_records"])
def test_ctrl_c_interrupts_a_blocking_batch_call(name, call):
    interrupt_blocked_child(shmq.dense, name, call)
