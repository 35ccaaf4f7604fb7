"""Messages of every bytes-like type, in one process."""

import array
import pickle

import numpy as np
import pytest

import shmq
from conftest import BOUND


def bytes_of(obj) -> bytes:
    return bytes(memoryview(obj).cast("B"))


SENDABLE = [
    b"",
    b"hello",
    bytearray(b"a bytearray"),
    memoryview(b"0123456789")[2:7],
    array.array("d", [1.5, -2.25]),
    np.arange(6, dtype=np.float64),
    np.arange(16, dtype=np.uint8).reshape(4, 4),
    np.zeros(0, dtype=np.int32),
]


def test_every_bytes_like_type_round_trips(kind, name):
    with kind.Queue.create(name, capacity=16, slot_size=64) as q:
        with q.sender() as tx, q.receiver() as rx:
            for data in SENDABLE:
                tx.send(data)
                assert rx.recv() == bytes_of(data)
            for data in SENDABLE:
                tx.try_send(data)
                assert rx.try_recv() == bytes_of(data)


def test_recv_into_writes_into_every_writable_type(kind, name):
    with kind.Queue.create(name, capacity=16, slot_size=64) as q:
        tx, rx = q.sender(), q.receiver()
        payload = np.arange(4, dtype=np.float64)

        tx.send(payload)
        out = np.zeros(8, dtype=np.float64)
        assert rx.recv_into(out) == 32
        assert list(out[:4]) == [0.0, 1.0, 2.0, 3.0]

        tx.send(b"abc")
        buf = bytearray(10)
        assert rx.recv_into(buf, timeout=1) == 3
        assert buf[:3] == b"abc"

        tx.send(b"xyz")
        backing = bytearray(10)
        assert rx.try_recv_into(memoryview(backing)[5:]) == 3
        assert backing[5:8] == b"xyz"

        tx.send(b"")
        assert rx.recv_into(bytearray(0)) == 0

        tx.send(b"\x01\x00\x00\x00\x02\x00\x00\x00")
        ints = array.array("i", [0, 0])
        assert rx.recv_into(ints) == 8
        assert list(ints) == [1, 2]


def test_unusable_buffers_are_refused_and_the_message_stays(kind, name):
    with kind.Queue.create(name, capacity=4, slot_size=16) as q:
        tx, rx = q.sender(), q.receiver()
        with pytest.raises(TypeError):
            tx.send("a str is not bytes")
        with pytest.raises(BufferError):
            tx.send(memoryview(bytearray(8))[::2])  # not contiguous
        with pytest.raises(shmq.TooLarge) as e:
            tx.send(b"x" * 17)
        assert isinstance(e.value, ValueError)

        tx.send(b"0123456789")
        with pytest.raises((BufferError, TypeError)):
            rx.recv_into(b"read-only bytes are not writable")
        with pytest.raises(shmq.TooLarge):
            rx.recv_into(bytearray(4))
        assert rx.recv() == b"0123456789"


def test_full_and_empty(kind, name):
    with kind.Queue.create(name, capacity=4, slot_size=8) as q:
        tx, rx = q.sender(), q.receiver()
        with pytest.raises(shmq.Empty):
            rx.try_recv()
        for i in range(4):
            tx.try_send(bytes([i]))
        assert q.len() == 4
        with pytest.raises(shmq.Full):
            tx.try_send(b"x")
        assert [rx.try_recv() for _ in range(4)] == [b"\x00", b"\x01", b"\x02", b"\x03"]
        assert q.len() == 0


def test_iteration_ends_when_the_sender_closes(kind, name):
    with kind.Queue.create(name, capacity=8, slot_size=8) as q:
        rx = q.receiver()
        with q.sender() as tx:
            for i in range(5):
                tx.send(bytes([i]))
        assert list(rx) == [bytes([i]) for i in range(5)]
        with pytest.raises(shmq.Disconnected):
            rx.recv(timeout=BOUND)


def test_attributes_len_and_stats(kind, name):
    with kind.Queue.create(name, capacity=8, slot_size=32) as q:
        assert (q.name, q.capacity, q.slot_size, q.len()) == (name, 8, 32, 0)
        tx, rx = q.sender(), q.receiver()
        assert (tx.capacity, tx.slot_size, rx.capacity, rx.slot_size) == (8, 32, 8, 32)
        for _ in range(3):
            tx.send(b"m")
        rx.recv()
        assert q.len() == 2
        stats = q.stats()
        if kind is shmq.spsc:
            assert (stats["enqueued"], stats["dequeued"]) == (3, 1)
            assert (stats["producer"], stats["consumer"]) == ("attached", "attached")
        else:
            assert (stats["claimed"], stats["taken"]) == (3, 1)
            assert (stats["producers"], stats["consumers"]) == (1, 1)
        assert stats["poisoned"] is False
        assert set(stats["wait"]) >= {"consumer_sleeps", "producer_sleeps"}
        assert "closed" not in repr(q)


def test_context_managers_close(kind, name):
    with kind.Queue.create(name) as q:
        with q.sender() as tx, q.receiver() as rx:
            tx.send(b"m")
        assert tx.closed and rx.closed
        with pytest.raises(ValueError):
            tx.send(b"m")
        with pytest.raises(ValueError):
            rx.try_recv()
        tx.close()  # idempotent
        # The roles are free again.
        q.sender().close()
        q.receiver().close()
    assert q.closed
    with pytest.raises(ValueError):
        q.sender()
    # The creator's handle and endpoints are closed: the name is gone.
    with pytest.raises(shmq.NotFound):
        kind.Queue.open(name)


def test_open_or_create_then_remove(kind, name):
    a = kind.Queue.open_or_create(name, capacity=32, slot_size=16, persist=True)
    b = kind.Queue.open_or_create(name, capacity=64, slot_size=8)
    assert (b.capacity, b.slot_size) == (32, 16)  # opened, not re-created
    with a.sender() as tx, b.receiver() as rx:
        tx.send(b"across handles")
        assert rx.recv(timeout=5) == b"across handles"
    kind.Queue.remove(name)
    with pytest.raises(shmq.NotFound):
        kind.Queue.open(name)
    with pytest.raises(shmq.NotFound) as e:
        kind.Queue.remove(name)
    assert isinstance(e.value, FileNotFoundError)
    a.close()
    b.close()


def test_queue_pickles_by_name_and_endpoints_do_not(kind, name):
    with kind.Queue.create(name, capacity=4, slot_size=8) as q:
        again = pickle.loads(pickle.dumps(q))
        assert type(again) is kind.Queue
        assert (again.name, again.capacity) == (name, 4)
        tx = q.sender()
        with pytest.raises(TypeError):
            pickle.dumps(tx)
        with again.receiver() as rx:
            tx.send(b"p")
            assert rx.recv(timeout=5) == b"p"
        tx.close()
        again.close()


def test_module_surface():
    for k in ("spsc", "mpmc", "bytes", "dense"):
        module = getattr(shmq, k)
        assert k in shmq.__all__ and module.__all__ == ["Queue", "Sender", "Receiver"]
        for cls in (module.Queue, module.Sender, module.Receiver):
            assert cls.__module__ == f"shmq.{k}" and cls.__doc__
        assert module.Sender.send.__doc__ and module.Queue.create.__doc__
    assert issubclass(shmq.WrongSize, ValueError) and not issubclass(shmq.WrongSize, shmq.TooLarge)
    assert issubclass(shmq.Timeout, TimeoutError)
    assert issubclass(shmq.PermissionDenied, PermissionError)
    assert issubclass(shmq.NotFound, FileNotFoundError)
    assert all(issubclass(getattr(shmq, n), shmq.Error) for n in shmq.errors.__all__)
