"""The bytes kind (``shmq.bytes``): variable-length messages in a ring of
bytes, in one process (across processes: test_processes.py, ``any_kind``)."""

import numpy as np
import pytest

import shmq
from conftest import BOUND


def pattern(n: int, seed: int = 0) -> bytes:
    """``n`` bytes that differ from one message to the next."""
    return bytes((i * 31 + seed * 7 + n) % 251 for i in range(n))


def test_sizes_zero_to_max_round_trip(name):
    with shmq.bytes.Queue.create(name, capacity_bytes=4096, max_message=1000) as q:
        assert (q.capacity, q.slot_size) == (4096, 1000)
        tx, rx = q.sender(), q.receiver()
        assert (tx.capacity, tx.slot_size, rx.capacity, rx.slot_size) == (4096, 1000, 4096, 1000)
        for n in (0, 1, 7, 8, 9, 500, 999, 1000):
            tx.send(pattern(n))
            assert rx.recv(timeout=BOUND) == pattern(n)
            tx.try_send(pattern(n, 1))
            assert rx.try_recv() == pattern(n, 1)
            tx.send(pattern(n, 2), timeout=BOUND)
            buf = bytearray(1000)
            assert rx.recv_into(buf, timeout=BOUND) == n
            assert bytes(buf[:n]) == pattern(n, 2)
        assert q.len() == 0
        tx.close()
        rx.close()


def test_longer_than_max_message_is_too_large(name):
    with shmq.bytes.Queue.create(name, capacity_bytes=4096, max_message=1000) as q:
        tx, rx = q.sender(), q.receiver()
        for call in (lambda: tx.send(b"x" * 1001), lambda: tx.try_send(b"x" * 1001),
                     lambda: tx.send(b"x" * 5000, timeout=0)):
            with pytest.raises(shmq.TooLarge) as e:
                call()
            assert isinstance(e.value, ValueError)
        assert q.len() == 0
        with pytest.raises(shmq.Empty):
            rx.try_recv()
        tx.close()
        rx.close()


def test_a_short_buffer_is_too_large_and_the_message_stays(name):
    with shmq.bytes.Queue.create(name, capacity_bytes=4096, max_message=100) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send(pattern(40))
        for call in (lambda: rx.recv_into(bytearray(39), timeout=BOUND),
                     lambda: rx.try_recv_into(bytearray(10))):
            with pytest.raises(shmq.TooLarge):
                call()
        exact = bytearray(40)
        assert rx.try_recv_into(exact) == 40
        assert bytes(exact) == pattern(40)
        tx.close()
        rx.close()


def test_room_is_counted_in_bytes(name):
    # Each record takes its length rounded up to 8, plus an 8-byte header:
    # two records of 112 bytes take 240 of the 256, a third does not fit.
    with shmq.bytes.Queue.create(name, capacity_bytes=256, max_message=112) as q:
        tx, rx = q.sender(), q.receiver()
        tx.try_send(pattern(112, 0))
        tx.try_send(pattern(112, 1))
        with pytest.raises(shmq.Full):
            tx.try_send(pattern(112, 2))
        with pytest.raises(shmq.Timeout):
            tx.send(pattern(112, 2), timeout=0.01)
        assert q.len() == 2
        stats = q.stats()
        assert (stats["enqueued"], stats["dequeued"]) == (2, 0)
        assert stats["bytes_enqueued"] - stats["bytes_dequeued"] == 2 * 120
        assert [rx.try_recv() for _ in range(2)] == [pattern(112, 0), pattern(112, 1)]
        # An empty ring has room for the largest message (here after a wrap).
        tx.try_send(pattern(112, 2))
        assert rx.try_recv() == pattern(112, 2)
        stats = q.stats()
        assert (stats["enqueued"], stats["dequeued"]) == (3, 3)
        assert stats["bytes_dequeued"] == stats["bytes_enqueued"]
        tx.close()
        rx.close()


def test_mixed_sizes_wrap_the_ring_many_times(name):
    # Sizes from a fixed sequence, in rounds of "send until full, then
    # drain": the ring wraps at every alignment; each message arrives whole
    # and in order.
    sizes = [(i * 37) % 113 for i in range(3000)]
    with shmq.bytes.Queue.create(name, capacity_bytes=256, max_message=112) as q:
        tx, rx = q.sender(), q.receiver()
        sent = got = 0
        while got < len(sizes):
            while sent < len(sizes):
                try:
                    tx.try_send(pattern(sizes[sent], sent))
                except shmq.Full:
                    break
                sent += 1
            assert sent > got  # an empty ring always has room for the largest
            while True:
                try:
                    msg = rx.try_recv()
                except shmq.Empty:
                    break
                assert msg == pattern(sizes[got], got), got
                got += 1
            assert got == sent
        assert q.stats()["enqueued"] == len(sizes)
        tx.close()
        rx.close()


def test_numpy_arrays_of_any_length(name):
    with shmq.bytes.Queue.create(name, capacity_bytes=1 << 16, max_message=8000) as q:
        tx, rx = q.sender(), q.receiver()
        for n in (0, 1, 3, 1000):
            tx.send(np.arange(n, dtype=np.float64) * 0.5)
        for n in (0, 1, 3, 1000):
            out = np.full(1000, -1.0)
            k = rx.recv_into(out, timeout=BOUND)
            assert k == 8 * n
            assert out[:n].tolist() == [i * 0.5 for i in range(n)]
        tx.close()
        rx.close()


def test_iteration_ends_when_the_sender_closes(name):
    with shmq.bytes.Queue.create(name, capacity_bytes=1024, max_message=100) as q:
        rx = q.receiver()
        with q.sender() as tx:
            for n in range(0, 100, 9):
                tx.send(pattern(n))
        assert list(rx) == [pattern(n) for n in range(0, 100, 9)]
        with pytest.raises(shmq.Disconnected):
            rx.recv(timeout=BOUND)
        rx.close()


@pytest.mark.parametrize(
    "capacity_bytes,max_message",
    [(1000, 100), (32, 0), (256, 113), (0, 0), (1 << 31, 100)],
)
def test_invalid_geometry_is_invalid_region(name, capacity_bytes, max_message):
    with pytest.raises(shmq.InvalidRegion):
        shmq.bytes.Queue.create(name, capacity_bytes=capacity_bytes, max_message=max_message)


def test_defaults_open_and_roles(name):
    with shmq.bytes.Queue.create(name) as q:
        assert (q.capacity, q.slot_size) == (1 << 20, 64 << 10)
        again = shmq.bytes.Queue.open(name)
        assert (again.capacity, again.slot_size) == (1 << 20, 64 << 10)
        tx = q.sender()
        with pytest.raises(shmq.RoleTaken):
            again.sender()
        with again.receiver() as rx:
            with pytest.raises(shmq.RoleTaken):
                q.receiver()
            tx.send(b"x" * (64 << 10))
            assert rx.recv(timeout=BOUND) == b"x" * (64 << 10)
        stats = q.stats()
        assert (stats["producer"], stats["consumer"]) == ("attached", "closed")
        assert stats["poisoned"] is False
        tx.close()
        again.close()
