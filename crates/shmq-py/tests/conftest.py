"""Fixtures and bounded-wait helpers shared by the binding's tests.

Every wait in these tests has a bound (``BOUND`` seconds, generous: it is a
hang detector, never a speed requirement), and pytest-timeout bounds each
test as a whole (pyproject.toml).
"""

import itertools
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import shmq

# Bound of every wait for another process (a hang detector, not a figure).
BOUND = 60.0

_names = itertools.count()


def fresh_name(tag: str = "t") -> str:
    return f"shmq-py-{tag}-{os.getpid()}-{next(_names)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def name():
    """A queue name nobody uses; removed after the test if it still exists."""
    n = fresh_name()
    yield n
    try:
        shmq.remove(n)
    except shmq.NotFound:
        pass


@pytest.fixture(params=["spsc", "mpmc"])
def kind(request):
    """The module of each slotted queue kind: shmq.spsc, then shmq.mpmc."""
    return getattr(shmq, request.param)


ALL_KINDS = ["spsc", "mpmc", "bytes", "dense"]


@pytest.fixture(params=ALL_KINDS)
def any_kind(request):
    """The module of every queue kind, for tests whose messages all have one
    length (a dense queue takes records of exactly one length) and that do
    not count slots (a bytes queue's capacity is in bytes)."""
    return getattr(shmq, request.param)


def kind_name(kind) -> str:
    return kind.__name__.split(".")[1]


def geometry(kind, capacity: int, size: int) -> dict:
    """``create()`` arguments of ``kind`` for ``capacity`` messages of
    ``size`` bytes: records of exactly ``size`` (dense); a ring of at least
    ``capacity`` records of ``size`` bytes and their headers (bytes)."""
    k = kind_name(kind)
    if k == "dense":
        return {"capacity": capacity, "record_size": size}
    if k == "bytes":
        need = max(64, capacity * ((size + 7) // 8 * 8 + 8), 2 * (size + 16))
        return {"capacity_bytes": 1 << (need - 1).bit_length(), "max_message": size}
    return {"capacity": capacity, "slot_size": size}


def until(condition, what: str, bound: float = BOUND):
    """Polls ``condition()`` until it is true; fails the test after ``bound`` s."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {bound} s")
        time.sleep(0.005)


def python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    """Starts a separate ``python`` process running ``code`` (dedented)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def read_line(proc: subprocess.Popen, bound: float = BOUND) -> str:
    """The next line of ``proc``'s stdout, within ``bound`` seconds."""
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(bound):
            proc.kill()
            out, err = proc.communicate(timeout=BOUND)
            pytest.fail(f"no line from the child within {bound} s; stderr:\n{err}")
    return proc.stdout.readline().strip()


def finish(proc: subprocess.Popen, bound: float = BOUND):
    """Waits (bounded) for ``proc`` to exit; returns (returncode, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=bound)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=BOUND)
        pytest.fail(f"child did not exit within {bound} s; stderr:\n{err}")
    return proc.returncode, out, err
