"""Bad names, taken roles, permissions, and hostile bytes in the region:
each a shmq exception, never a crash."""

import json
import os
import random

import pytest

import shmq
from conftest import ALL_KINDS, finish, geometry, kind_name, python

SHM = "/dev/shm"


@pytest.mark.parametrize("bad", ["", "a/b", ".hidden", "x" * 201, "sp ace", "../etc"])
def test_bad_names_are_invalid_name_errors(any_kind, bad):
    kind = any_kind
    for call in (lambda: kind.Queue.create(bad), lambda: kind.Queue.open(bad),
                 lambda: kind.Queue.remove(bad), lambda: kind.Queue.open_or_create(bad)):
        with pytest.raises(shmq.InvalidName) as e:
            call()
        assert isinstance(e.value, ValueError)


def test_missing_and_existing_names(any_kind, name):
    kind = any_kind
    with pytest.raises(shmq.NotFound) as e:
        kind.Queue.open(name)
    assert e.value.errno is not None and e.value.filename == name
    with kind.Queue.create(name):
        with pytest.raises(shmq.AlreadyExists) as e:
            kind.Queue.create(name)
        assert isinstance(e.value, FileExistsError)


def test_invalid_geometry_is_invalid_region(kind, name):
    for capacity in (0, 3, 1000):
        with pytest.raises(shmq.InvalidRegion):
            kind.Queue.create(name, capacity=capacity)
    with pytest.raises(OverflowError):
        kind.Queue.create(name, capacity=-1)


@pytest.mark.parametrize("made", ALL_KINDS)
def test_another_kinds_region_is_invalid_region(name, made):
    with getattr(shmq, made).Queue.create(name):
        for other in ALL_KINDS:
            if other != made:
                with pytest.raises(shmq.InvalidRegion):
                    getattr(shmq, other).Queue.open(name)
        getattr(shmq, made).Queue.open(name).close()


def test_spsc_roles_are_exclusive_until_closed(name):
    with shmq.spsc.Queue.create(name) as q:
        other = shmq.spsc.Queue.open(name)
        tx, rx = q.sender(), q.receiver()
        for take in (q.sender, q.receiver, other.sender, other.receiver):
            with pytest.raises(shmq.RoleTaken):
                take()
        tx.close()
        other.sender().close()
        rx.close()
        other.close()


def test_mpmc_table_full(name):
    with shmq.mpmc.Queue.create(name, max_endpoints=2) as q:
        a, b = q.sender(), q.receiver()
        with pytest.raises(shmq.TableFull):
            q.sender()
        a.close()
        q.sender().close()
        b.close()


def test_a_file_others_may_write_is_refused(any_kind, name):
    kind = any_kind
    with kind.Queue.create(name):
        os.chmod(os.path.join(SHM, name), 0o666)
        with pytest.raises(shmq.PermissionDenied) as e:
            kind.Queue.open(name)
        assert isinstance(e.value, PermissionError)


def scribble(name, offset, data):
    with open(os.path.join(SHM, name), "r+b") as f:
        f.seek(offset)
        f.write(data)


@pytest.mark.parametrize(
    "offset,data",
    [
        (0, b"XXXX"),  # magic
        (4, (99).to_bytes(4, "little")),  # layout version
        (8, (77).to_bytes(4, "little")),  # kind
        (12, (3).to_bytes(4, "little")),  # index width
        (16, (3).to_bytes(4, "little")),  # capacity: not a power of two
        (16, (1 << 30).to_bytes(4, "little")),  # capacity: beyond the file
        (20, (1 << 25).to_bytes(4, "little")),  # slot size
        (24, (8).to_bytes(4, "little")),  # slot stride
        (32, (0xFFFFFFFF).to_bytes(4, "little")),  # total size
    ],
)
def test_a_forged_header_is_invalid_region(any_kind, name, offset, data):
    kind = any_kind
    if kind is shmq.bytes and offset == 24:
        data = (16).to_bytes(4, "little")  # its stride is 8 (the record alignment)
    with kind.Queue.create(name, **geometry(kind, 8, 16)):
        scribble(name, offset, data)
        with pytest.raises(shmq.InvalidRegion):
            kind.Queue.open(name)


def test_forged_cursors_poison_the_queue(name):
    with shmq.spsc.Queue.create(name, capacity=8, slot_size=16) as q:
        tx, rx = q.sender(), q.receiver()
        tx.send(b"before")
        # The slots (from byte 512) hold stamps and lengths: make them all
        # impossible values.
        size = os.path.getsize(os.path.join(SHM, name))
        scribble(name, 512, b"\xff" * (size - 512))
        with pytest.raises(shmq.Poisoned):
            rx.try_recv()
        with pytest.raises(shmq.Poisoned):
            rx.recv(timeout=1)
        assert q.stats()["poisoned"] is True
        tx.close()
        rx.close()


HOSTILE_CHILD = """
import json, mmap, os, random, sys
import shmq

kind, name, seed = getattr(shmq, sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
q = kind.Queue.create(name, **json.loads(sys.argv[5]))
size = q.slot_size  # read before any scribble
path = os.path.join("/dev/shm", name)
fd = os.open(path, os.O_RDWR)
region = mmap.mmap(fd, os.path.getsize(path))
tx, rx = q.sender(), q.receiver()
buf = bytearray(size)
errors = ok = 0


def scribble():
    # A hostile peer: random values in random words of the whole region
    # (header, cursors, wait line, slots); the file size never changes.
    for _ in range(rng.randrange(1, 8)):
        at = rng.randrange(0, len(region) - 8)
        region[at:at + 8] = rng.getrandbits(64).to_bytes(8, "little")


scribbler = None
if sys.argv[4] == "concurrent":
    # Another process scribbles all the time, also while calls run.
    scribbler = os.fork()
    if scribbler == 0:
        rng.seed(seed + 1)
        for _ in range(2_000_000):
            scribble()
        os._exit(0)
for round in range(300):
    if scribbler is None:
        scribble()
    calls = [lambda: q.len(), lambda: q.stats()]
    if not tx.closed:
        # Lengths up to the largest (dense: often exactly the record size).
        calls += [lambda: tx.try_send(b"m" * rng.choice((size, rng.randrange(0, size + 1)))),
                  lambda: tx.send(b"m" * size, timeout=0.001)]
    if not rx.closed:
        calls += [lambda: rx.try_recv(), lambda: rx.recv_into(buf, timeout=0.001)]
    for call in calls:
        try:
            call()
            ok += 1
        except shmq.Error:
            errors += 1
    if round % 50 == 49:
        # Fresh endpoints, as an application would retry.
        tx.close()
        rx.close()
    for end in ("tx", "rx"):
        if globals()[end].closed:
            try:
                globals()[end] = q.sender() if end == "tx" else q.receiver()
            except shmq.Error:
                errors += 1
if scribbler is not None:
    os.kill(scribbler, 9)
    os.waitpid(scribbler, 0)
print("survived", ok, errors)
"""


@pytest.mark.parametrize("mode", ["interleaved", "concurrent"])
def test_random_scribbles_raise_only_shmq_errors(any_kind, name, mode):
    # In a child process, so that a crash (a signal) would show as its exit
    # status instead of killing the test run.
    kind = any_kind
    seed = random.randrange(1 << 30)
    shape = json.dumps(geometry(kind, 8, 32))
    proc = python(HOSTILE_CHILD, kind_name(kind), name, str(seed), mode, shape)
    code, out, err = finish(proc)
    assert code == 0, f"seed {seed}: {err}"
    assert out.startswith("survived"), f"seed {seed}: {err}"
