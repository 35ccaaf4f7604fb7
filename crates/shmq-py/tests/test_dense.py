"""The dense kind (``shmq.dense``): fixed-size records, in one process
(across processes: test_processes.py, ``any_kind``)."""

import struct

import numpy as np
import pytest

import shmq
from conftest import BOUND

# A 12-byte record (not a multiple of 8: each takes 16 in the ring).
RECORD = np.dtype([("id", "<u4"), ("value", "<f8")], align=False)


def record(i: int) -> bytes:
    return struct.pack("<Id", i, i / 4)


def test_records_of_every_bytes_like_type_round_trip(name):
    assert RECORD.itemsize == 12
    with shmq.dense.Queue.create(name, capacity=8, record_size=12) as q:
        assert (q.capacity, q.slot_size) == (8, 12)
        tx, rx = q.sender(), q.receiver()
        assert (tx.capacity, tx.slot_size, rx.capacity, rx.slot_size) == (8, 12, 8, 12)
        arr = np.array([(7, 1.75), (8, -2.5)], dtype=RECORD)
        for data in (record(1), bytearray(record(2)), memoryview(b"xx" + record(3))[2:],
                     arr[0:1], arr[1:2]):
            tx.send(data)
        assert rx.recv(timeout=BOUND) == record(1)
        assert rx.try_recv() == record(2)
        buf = bytearray(12)
        assert rx.recv_into(buf, timeout=BOUND) == 12
        assert bytes(buf) == record(3)
        out = np.zeros(2, dtype=RECORD)
        assert rx.recv_into(out[0:1], timeout=BOUND) == 12
        assert rx.try_recv_into(out[1:2]) == 12
        assert out.tolist() == [(7, 1.75), (8, -2.5)]
        tx.close()
        rx.close()


@pytest.mark.parametrize("length", [0, 1, 11, 13, 24])
def test_a_message_not_one_record_long_is_wrong_size(name, length):
    with shmq.dense.Queue.create(name, capacity=4, record_size=12) as q:
        tx, rx = q.sender(), q.receiver()
        for call in (lambda: tx.send(b"w" * length), lambda: tx.try_send(b"w" * length),
                     lambda: tx.send(b"w" * length, timeout=0),
                     lambda: tx.send(bytearray(length), timeout=BOUND)):
            with pytest.raises(shmq.WrongSize) as e:
                call()
            assert isinstance(e.value, ValueError) and isinstance(e.value, shmq.Error)
            assert not isinstance(e.value, shmq.TooLarge)
            assert str(e.value) == f"message of {length} bytes is not one record of 12"
        # Nothing was sent.
        assert q.len() == 0
        assert q.stats()["enqueued"] == 0
        with pytest.raises(shmq.Empty):
            rx.try_recv()
        # The sender still works.
        tx.send(record(5))
        assert rx.recv(timeout=BOUND) == record(5)
        tx.close()
        rx.close()


def test_wrong_size_is_refused_before_waiting_on_a_full_queue(name):
    with shmq.dense.Queue.create(name, capacity=2, record_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send(b"A" * 8)
        tx.send(b"B" * 8)
        with pytest.raises(shmq.Full):
            tx.try_send(b"C" * 8)
        with pytest.raises(shmq.WrongSize):
            tx.try_send(b"short")
        # Without a timeout a full queue would wait for ever: the length is
        # checked first (a regression would hang until pytest-timeout).
        with pytest.raises(shmq.WrongSize):
            tx.send(b"short")
        assert [rx.try_recv(), rx.try_recv()] == [b"A" * 8, b"B" * 8]
        tx.close()
        rx.close()


def test_receive_buffers_must_hold_a_record(name):
    with shmq.dense.Queue.create(name, capacity=4, record_size=12) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send(record(9))
        for call in (lambda: rx.recv_into(bytearray(11), timeout=BOUND),
                     lambda: rx.try_recv_into(bytearray(0))):
            with pytest.raises(shmq.TooLarge):
                call()
        # A longer buffer receives one record; the rest is left as it was.
        big = bytearray(b"\xee" * 30)
        assert rx.recv_into(big, timeout=BOUND) == 12
        assert bytes(big) == record(9) + b"\xee" * 18
        tx.close()
        rx.close()


def test_capacity_counts_records_and_order_holds(name):
    with shmq.dense.Queue.create(name, capacity=4, record_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        for i in range(4):
            tx.try_send(i.to_bytes(8, "little"))
        assert q.len() == 4
        with pytest.raises(shmq.Full):
            tx.try_send(b"\0" * 8)
        with pytest.raises(shmq.Timeout):
            tx.send(b"\0" * 8, timeout=0.01)
        assert [int.from_bytes(rx.try_recv(), "little") for _ in range(4)] == [0, 1, 2, 3]
        stats = q.stats()
        assert (stats["enqueued"], stats["dequeued"]) == (4, 4)
        assert stats["full"] >= 1 and stats["poisoned"] is False
        tx.close()
        rx.close()


def test_many_records_wrap_the_ring(name):
    with shmq.dense.Queue.create(name, capacity=8, record_size=12) as q:
        tx, rx = q.sender(), q.receiver()
        got = []
        for i in range(1000):
            tx.send(record(i), timeout=BOUND)
            if i % 5 == 4:
                while True:
                    try:
                        got.append(rx.try_recv())
                    except shmq.Empty:
                        break
        got.extend(rx.try_recv() for _ in range(q.len()))
        assert got == [record(i) for i in range(1000)]
        tx.close()
        rx.close()


def test_numpy_scalars_are_records(name):
    with shmq.dense.Queue.create(name, capacity=16, record_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        values = [np.float64(1.5), np.int64(-3), np.uint64(2**63)]
        for v in values:
            tx.send(v)
        with pytest.raises(shmq.WrongSize):
            tx.send(np.float32(1.0))
        with pytest.raises(shmq.WrongSize):
            tx.send(np.arange(2, dtype=np.float64))  # two records: not one message
        out = np.zeros(3, dtype=np.uint64)
        for i in range(3):
            assert rx.recv_into(out[i:i + 1], timeout=BOUND) == 8
        assert out.tobytes() == b"".join(v.tobytes() for v in values)
        tx.close()
        rx.close()


@pytest.mark.parametrize("capacity,record_size", [(3, 8), (0, 8), (8, 0), (8, (1 << 24) + 1)])
def test_invalid_geometry_is_invalid_region(name, capacity, record_size):
    with pytest.raises(shmq.InvalidRegion):
        shmq.dense.Queue.create(name, capacity=capacity, record_size=record_size)


def test_defaults_open_and_roles(name):
    with shmq.dense.Queue.create(name) as q:
        assert (q.capacity, q.slot_size) == (4096, 8)
        again = shmq.dense.Queue.open(name)
        assert (again.capacity, again.slot_size) == (4096, 8)
        tx = q.sender()
        with pytest.raises(shmq.RoleTaken):
            again.sender()
        with again.receiver() as rx:
            tx.send(b"12345678")
            assert list(rx.recv(timeout=BOUND)) == list(b"12345678")
        tx.close()
        with q.receiver() as rx:
            assert list(rx) == []  # the sender closed: drained and disconnected
        again.close()
