"""The dense kind (``shmq.dense``): fixed-size records, one at a time and in
batches (``send_records``, ``recv_records``, ``recv_records_into``), in one
process and across processes (more across processes: test_processes.py,
``any_kind``)."""

import doctest
import math
import multiprocessing
import struct
import threading

import numpy as np
import pytest

import peers
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
            assert str(e.value).startswith(f"{length} bytes are not whole records of 12 bytes")
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


# ---- batches of records ----------------------------------------------------

def records(start: int, stop: int) -> bytes:
    return b"".join(peers.record(i) for i in range(start, stop))


def test_batches_arrive_whole_and_in_order(name):
    assert peers.record(3) == record(3)
    with shmq.dense.Queue.create(name, capacity=16, record_size=12) as q:
        tx, rx = q.sender(), q.receiver()
        arr = np.array([(100, 0.5), (101, -1.25), (102, 8.0)], dtype=RECORD)
        # Every bytes-like type; counts are records.
        assert tx.send_records(records(0, 3)) == 3
        assert tx.try_send_records(bytearray(records(3, 4))) == 1
        assert tx.send_records(memoryview(b"xx" + records(4, 6))[2:], timeout=BOUND) == 2
        assert tx.send_records(arr, timeout=0) == 3
        assert tx.send_records(b"") == 0 and tx.try_send_records(bytearray()) == 0
        assert q.len() == 9 and q.stats()["enqueued"] == 9
        # recv_records returns up to max_records, as bytes.
        assert rx.recv_records(2, timeout=BOUND) == records(0, 2)
        assert rx.try_recv_records(1) == records(2, 3)
        assert rx.recv_records(0) == b"" and rx.try_recv_records(0) == b""
        # recv_records_into fills as many records as fit whole; the bytes past
        # them are untouched.
        buf = bytearray(b"\xee" * 30)
        assert rx.recv_records_into(buf, timeout=BOUND) == 2
        assert bytes(buf) == records(3, 5) + b"\xee" * 6
        assert rx.recv_records_into(bytearray(0)) == 0
        # A NumPy structured array of the record's dtype, larger than what is
        # queued: gets what there is (4 records), the rest untouched.
        out = np.array([(7, 7.0)] * 6, dtype=RECORD)
        assert rx.try_recv_records_into(out) == 4
        assert out[:1].tobytes() == records(5, 6)
        assert out[1:4].tolist() == arr.tolist()
        assert out[4:].tolist() == [(7, 7.0), (7, 7.0)]
        assert q.len() == 0 and q.stats()["dequeued"] == 9
        with pytest.raises(shmq.Empty):
            rx.try_recv_records(4)
        with pytest.raises(shmq.Empty):
            rx.try_recv_records_into(out)
        # Batches and single records mix: one queue, one order.
        tx.send(record(50))
        tx.send_records(records(51, 53))
        assert rx.recv(timeout=BOUND) == record(50)
        assert rx.recv_records(5, timeout=BOUND) == records(51, 53)
        tx.close()
        rx.close()


@pytest.mark.parametrize("length", [1, 11, 13, 25, 12 * 5 + 1])
def test_a_batch_not_of_whole_records_is_wrong_size(name, length):
    with shmq.dense.Queue.create(name, capacity=4, record_size=12) as q:
        tx, rx = q.sender(), q.receiver()
        for call in (lambda: tx.send_records(b"w" * length),
                     lambda: tx.try_send_records(b"w" * length),
                     lambda: tx.send_records(bytearray(length), timeout=0),
                     lambda: tx.send_records(np.zeros(length, dtype=np.uint8), timeout=BOUND)):
            with pytest.raises(shmq.WrongSize) as e:
                call()
            assert isinstance(e.value, ValueError)
            assert f"{length} bytes" in str(e.value)
        # Nothing was sent, not even the whole records in front.
        assert q.len() == 0 and q.stats()["enqueued"] == 0
        with pytest.raises(shmq.Empty):
            rx.try_recv_records(4)
        # On a full queue it is refused at once, before any wait (a
        # regression would hang until pytest-timeout: no timeout given).
        assert tx.send_records(records(0, 4)) == 4
        with pytest.raises(shmq.WrongSize):
            tx.send_records(b"w" * length)
        assert rx.recv_records(4, timeout=BOUND) == records(0, 4)
        tx.close()
        rx.close()


def test_a_receive_buffer_shorter_than_a_record_is_refused(name):
    with shmq.dense.Queue.create(name, capacity=4, record_size=12) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send_records(records(0, 2))
        for call in (lambda: rx.recv_records_into(bytearray(11), timeout=BOUND),
                     lambda: rx.recv_records_into(bytearray(1)),
                     lambda: rx.try_recv_records_into(np.zeros(11, dtype=np.uint8))):
            with pytest.raises(shmq.TooLarge):
                call()
        # Read-only buffers are refused too.
        with pytest.raises((BufferError, TypeError)):
            rx.recv_records_into(b"\0" * 24, timeout=BOUND)
        # The records stayed queued.
        assert q.len() == 2
        buf = bytearray(23)  # holds one whole record
        assert rx.recv_records_into(buf, timeout=BOUND) == 1
        assert bytes(buf) == record(0) + bytes(11)
        assert rx.recv_records(1, timeout=BOUND) == record(1)
        tx.close()
        rx.close()


def test_a_nearly_full_queue_takes_a_prefix(name):
    with shmq.dense.Queue.create(name, capacity=8, record_size=12) as q:
        tx, rx = q.sender(), q.receiver()
        for i in range(6):
            tx.send(record(i))
        # Room for two: the first two records of five go, the caller keeps
        # the rest.
        batch = memoryview(records(6, 11))
        n = tx.send_records(batch, timeout=BOUND)
        assert n == 2 and q.len() == 8
        rest = batch[n * tx.slot_size:]
        with pytest.raises(shmq.Full):
            tx.try_send_records(rest)
        with pytest.raises(shmq.Timeout):
            tx.send_records(rest, timeout=0.01)
        assert rx.recv_records(100, timeout=BOUND) == records(0, 8)
        assert tx.try_send_records(rest) == 3
        assert rx.recv_records(100, timeout=BOUND) == records(8, 11)
        # A batch larger than the whole queue goes in prefixes too.
        big = memoryview(records(11, 31))
        sent = []
        while big:
            n = tx.try_send_records(big)
            assert 1 <= n <= 8
            sent.append(n)
            assert rx.recv_records(100, timeout=BOUND) == big[:n * 12].tobytes()
            big = big[n * 12:]
        assert sum(sent) == 20
        tx.close()
        rx.close()


def test_batch_calls_time_out(name):
    with shmq.dense.Queue.create(name, capacity=2, record_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        buf = bytearray(16)
        for call in (lambda: rx.recv_records(2, timeout=0.05),
                     lambda: rx.recv_records(2, timeout=0),
                     lambda: rx.recv_records_into(buf, timeout=0.05)):
            with pytest.raises(shmq.Timeout) as e:
                call()
            assert isinstance(e.value, TimeoutError)
        assert tx.send_records(b"a" * 8 + b"b" * 8) == 2
        with pytest.raises(shmq.Timeout):
            tx.send_records(b"c" * 8, timeout=0.05)
        for call in (lambda: tx.send_records(b"c" * 8, timeout=-1),
                     lambda: rx.recv_records(1, timeout=float("nan")),
                     lambda: rx.recv_records_into(buf, timeout=-0.5)):
            with pytest.raises(ValueError):
                call()
        assert buf == bytearray(16)  # the timeouts wrote nothing
        assert rx.recv_records(4, timeout=BOUND) == b"a" * 8 + b"b" * 8
        tx.close()
        rx.close()
        # A closed endpoint refuses the batch calls as the others.
        with pytest.raises(ValueError):
            tx.send_records(b"a" * 8)
        with pytest.raises(ValueError):
            rx.recv_records_into(buf)


def test_blocked_batch_calls_release_the_gil(name):
    # A thread blocks in recv_records_into without a timeout; the main thread
    # (which needs the GIL) then sends. If the call held the GIL, the main
    # thread could not run and the join below would give up. Then the same
    # for send_records on a full queue.
    with shmq.dense.Queue.create(name, capacity=2, record_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        buf = bytearray(24)
        got = []
        t = threading.Thread(target=lambda: got.append(rx.recv_records_into(buf)))
        t.start()
        assert tx.send_records(b"a" * 8 + b"b" * 8, timeout=math.inf) == 2
        t.join(BOUND)
        # Both records were published with one store: one batch.
        assert not t.is_alive() and got == [2]
        assert bytes(buf) == b"a" * 8 + b"b" * 8 + bytes(8)
        assert q.len() == 0
        assert tx.send_records(b"c" * 16) == 2
        sent = []
        t = threading.Thread(target=lambda: sent.append(tx.send_records(b"d" * 16)))
        t.start()
        assert rx.recv_records(1, timeout=BOUND) == b"c" * 8
        t.join(BOUND)
        assert not t.is_alive() and sent == [1]  # room for one: a prefix of one
        assert rx.recv_records(4, timeout=math.inf) == b"c" * 8 + b"d" * 8
        tx.close()
        rx.close()


def test_a_batched_stream_across_processes(name):
    count = 5000
    ctx = multiprocessing.get_context("spawn")
    with shmq.dense.Queue.create(name, capacity=64, record_size=12) as q, q.receiver() as rx:
        child = ctx.Process(target=peers.produce_records, args=(q, count))
        child.start()
        got = bytearray()
        sizes = (3, 50, 1, 16, 200)
        out = np.zeros(max(sizes), dtype=RECORD)
        i = 0
        while len(got) < count * 12:
            k = sizes[i % len(sizes)]
            if i % 2:
                n = rx.recv_records_into(out[:k], timeout=BOUND)
                assert 1 <= n <= k
                got += out[:n].tobytes()
            else:
                batch = rx.recv_records(k, timeout=BOUND)
                assert 1 <= len(batch) // 12 <= k and len(batch) % 12 == 0
                got += batch
            i += 1
        child.join(BOUND)
        assert child.exitcode == 0
        assert len(got) == count * 12
        ids = np.frombuffer(bytes(got), dtype=RECORD)
        assert ids["id"].tolist() == list(range(count))
        assert bytes(got) == records(0, count)
        # The child's sender is gone: drained, then Disconnected.
        for call in (lambda: rx.recv_records(4, timeout=BOUND),
                     lambda: rx.recv_records_into(out, timeout=BOUND),
                     lambda: rx.try_recv_records(4)):
            with pytest.raises(shmq.Disconnected):
                call()


def test_a_batch_sender_is_told_when_the_receiver_process_is_gone(name):
    count = 300
    ctx = multiprocessing.get_context("spawn")
    with shmq.dense.Queue.create(name, capacity=8, record_size=12) as q, q.sender() as tx:
        child = ctx.Process(target=peers.consume_records, args=(q, count))
        child.start()
        rest = memoryview(records(0, count))
        while rest:
            rest = rest[tx.send_records(rest, timeout=BOUND) * 12:]
        child.join(BOUND)
        assert child.exitcode == 0  # it received every record, exactly
        # The queue accepts what fits, then reports the receiver gone.
        assert tx.send_records(records(0, 8), timeout=BOUND) == 8
        with pytest.raises(shmq.Disconnected):
            tx.send_records(records(8, 9), timeout=BOUND)
        with pytest.raises(shmq.Disconnected):
            tx.try_send_records(records(8, 9))


def test_docstring_examples_run():
    # The module's and its classes' docstrings (the Rust ones included).
    tests = doctest.DocTestFinder().find(shmq.dense, globs={"shmq": shmq, "np": np})
    names = {t.name.rsplit(".", 1)[-1] for t in tests if t.examples}
    assert {"dense", "send_records", "recv_records", "recv_records_into"} <= names, names
    runner = doctest.DocTestRunner()
    for t in tests:
        runner.run(t)
    assert runner.failures == 0
