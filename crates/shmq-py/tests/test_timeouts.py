"""Timeouts, and waits that release the GIL (threads of one process)."""

import math
import threading

import pytest

import shmq
from conftest import BOUND


def test_recv_times_out_on_an_empty_queue(kind, name):
    with kind.Queue.create(name, capacity=4, slot_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        for call in (lambda: rx.recv(timeout=0.05), lambda: rx.recv(timeout=0),
                     lambda: rx.recv_into(bytearray(8), timeout=0.01)):
            with pytest.raises(shmq.Timeout) as e:
                call()
            assert isinstance(e.value, TimeoutError)
        tx.close()


def test_send_times_out_on_a_full_queue(kind, name):
    with kind.Queue.create(name, capacity=2, slot_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send(b"1")
        tx.send(b"2")
        with pytest.raises(shmq.Timeout):
            tx.send(b"3", timeout=0.05)
        with pytest.raises(shmq.Timeout):
            tx.send(b"3", timeout=0)
        assert rx.recv() == b"1"
        tx.send(b"3", timeout=0)
        rx.close()


@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan])
def test_invalid_timeouts_are_value_errors(kind, name, bad):
    with kind.Queue.create(name) as q:
        tx, rx = q.sender(), q.receiver()
        with pytest.raises(ValueError):
            rx.recv(timeout=bad)
        with pytest.raises(ValueError):
            tx.send(b"x", timeout=bad)
        tx.close()
        rx.close()


def test_infinite_timeout_waits_without_bound(kind, name):
    with kind.Queue.create(name) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send(b"x")
        assert rx.recv(timeout=math.inf) == b"x"
        tx.close()
        rx.close()


def test_a_blocked_recv_lets_other_threads_run(kind, name):
    # The receiving thread blocks in recv() without a timeout; the main
    # thread (which needs the GIL) then sends. If recv held the GIL, the main
    # thread could not run and the join below would give up.
    with kind.Queue.create(name, capacity=4, slot_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        got = []
        t = threading.Thread(target=lambda: got.append(rx.recv()))
        t.start()
        tx.send(b"hello")
        t.join(BOUND)
        assert not t.is_alive() and got == [b"hello"]
        tx.close()
        rx.close()


def test_a_blocked_send_completes_when_another_thread_makes_room(kind, name):
    with kind.Queue.create(name, capacity=2, slot_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send(b"1")
        tx.send(b"2")
        t = threading.Thread(target=tx.send, args=(b"3",), kwargs={"timeout": BOUND})
        t.start()
        assert rx.recv(timeout=BOUND) == b"1"
        t.join(BOUND)
        assert not t.is_alive()
        assert [rx.recv(timeout=BOUND) for _ in range(2)] == [b"2", b"3"]
        tx.close()
        rx.close()


def test_an_endpoint_busy_in_another_thread_is_refused(name):
    # One endpoint, two threads: the second gets PyO3's borrow error while
    # the first waits (no deadlock, no shared use of the endpoint).
    with shmq.spsc.Queue.create(name, capacity=2, slot_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        t = threading.Thread(target=lambda: pytest.raises(shmq.Disconnected, rx.recv))
        t.start()
        from conftest import until
        until(lambda: q.stats()["wait"]["consumer_sleeps"] > 0, "the receiver to park")
        with pytest.raises(RuntimeError):
            rx.try_recv()
        tx.close()  # the waiting recv ends with Disconnected
        t.join(BOUND)
        assert not t.is_alive()
        rx.close()
