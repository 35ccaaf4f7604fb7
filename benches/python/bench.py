#!/usr/bin/env python3
"""shmq from Python against the usual ways Python processes exchange data.

    python benches/python/bench.py [--quick] [--markdown] [--stream N] [--rtt M] [--size B]

One run measures, between two processes (this one and a child started with
multiprocessing "spawn"), with messages of ``--size`` bytes (64 by default):

- **stream**: the child sends N messages as fast as it can; this process
  receives them (timed from the first message to the last);
- **round trip**: this process sends a message and waits for the child's
  echo, M times (median and 99th percentile).

Transports:

- ``shmq.spsc`` — ``send`` / ``recv_into`` (blocking calls, default wait);
- ``multiprocessing.Queue`` — ``put`` / ``get`` of ``bytes``;
- ``multiprocessing.Pipe`` — ``send_bytes`` / ``recv_bytes``;
- a pure-Python ring over ``multiprocessing.shared_memory``: the hand-rolled
  approach (head/tail counters packed with ``struct``, busy polling, no
  safety against a crashed or hostile peer; correct only on x86's ordered
  stores).

It prints a Markdown table with ratios to shmq in the same run and the
targets of issue #13; ``--markdown`` prints it as the "Python" section of
docs/benchmarks.md, heading included (benches/report.sh appends it there). Figures are only
comparable within one run (see docs/benchmarks.md on this VM's two speed
levels); run it on a quiet machine, with nothing else busy.
"""

import argparse
import multiprocessing
import os
import platform
import statistics
import struct
import sys
import time
from multiprocessing import shared_memory

import shmq

SPAWN = multiprocessing.get_context("spawn")
BOUND = 120.0  # seconds: a hang detector for joins and receives


# ---------------------------------------------------------------- shmq


def shmq_stream_child(name, count, size):
    q = shmq.spsc.Queue.open(name)
    msg = bytes(size)
    with q.sender() as tx:
        for _ in range(count):
            tx.send(msg)


def shmq_stream(count, size):
    name = f"shmq-pybench-{os.getpid()}-s"
    with shmq.spsc.Queue.create(name, capacity=4096, slot_size=size) as q, q.receiver() as rx:
        child = SPAWN.Process(target=shmq_stream_child, args=(name, count, size))
        child.start()
        buf = bytearray(size)
        rx.recv_into(buf, timeout=BOUND)
        start = time.perf_counter()
        for _ in range(count - 1):
            rx.recv_into(buf)
        elapsed = time.perf_counter() - start
        child.join(BOUND)
    return elapsed / (count - 1)


def shmq_echo_child(ping_name, pong_name, count, size):
    ping, pong = shmq.spsc.Queue.open(ping_name), shmq.spsc.Queue.open(pong_name)
    buf = bytearray(size)
    with ping.receiver() as rx, pong.sender() as tx:
        for _ in range(count):
            n = rx.recv_into(buf)
            tx.send(memoryview(buf)[:n])


def shmq_rtt(count, size):
    ping_name, pong_name = (f"shmq-pybench-{os.getpid()}-{s}" for s in ("ping", "pong"))
    with shmq.spsc.Queue.create(ping_name, capacity=64, slot_size=size) as ping, \
            shmq.spsc.Queue.create(pong_name, capacity=64, slot_size=size) as pong, \
            ping.sender() as tx, pong.receiver() as rx:
        child = SPAWN.Process(target=shmq_echo_child, args=(ping_name, pong_name, count, size))
        child.start()
        msg, buf = bytes(size), bytearray(size)
        tx.send(msg)  # the first one waits for the child to start
        rx.recv_into(buf, timeout=BOUND)
        samples = []
        for _ in range(count - 1):
            t0 = time.perf_counter_ns()
            tx.send(msg)
            rx.recv_into(buf)
            samples.append(time.perf_counter_ns() - t0)
        child.join(BOUND)
    return samples


# ---------------------------------------------------- multiprocessing.Queue


def mpq_stream_child(q, count, size):
    msg = bytes(size)
    for _ in range(count):
        q.put(msg)


def mpq_stream(count, size):
    q = SPAWN.Queue(maxsize=4096)
    child = SPAWN.Process(target=mpq_stream_child, args=(q, count, size))
    child.start()
    q.get(timeout=BOUND)
    start = time.perf_counter()
    for _ in range(count - 1):
        q.get()
    elapsed = time.perf_counter() - start
    child.join(BOUND)
    return elapsed / (count - 1)


def mpq_echo_child(ping, pong, count):
    for _ in range(count):
        pong.put(ping.get())


def mpq_rtt(count, size):
    ping, pong = SPAWN.Queue(), SPAWN.Queue()
    child = SPAWN.Process(target=mpq_echo_child, args=(ping, pong, count))
    child.start()
    msg = bytes(size)
    ping.put(msg)
    pong.get(timeout=BOUND)
    samples = []
    for _ in range(count - 1):
        t0 = time.perf_counter_ns()
        ping.put(msg)
        pong.get()
        samples.append(time.perf_counter_ns() - t0)
    child.join(BOUND)
    return samples


# ---------------------------------------------------- multiprocessing.Pipe


def pipe_stream_child(conn, count, size):
    msg = bytes(size)
    for _ in range(count):
        conn.send_bytes(msg)


def pipe_stream(count, size):
    receiver, sender = SPAWN.Pipe(duplex=False)
    child = SPAWN.Process(target=pipe_stream_child, args=(sender, count, size))
    child.start()
    if not receiver.poll(BOUND):
        raise RuntimeError("pipe child did not start")
    receiver.recv_bytes()
    start = time.perf_counter()
    for _ in range(count - 1):
        receiver.recv_bytes()
    elapsed = time.perf_counter() - start
    child.join(BOUND)
    return elapsed / (count - 1)


def pipe_echo_child(conn, count):
    for _ in range(count):
        conn.send_bytes(conn.recv_bytes())


def pipe_rtt(count, size):
    here, there = SPAWN.Pipe()
    child = SPAWN.Process(target=pipe_echo_child, args=(there, count))
    child.start()
    msg = bytes(size)
    here.send_bytes(msg)
    if not here.poll(BOUND):
        raise RuntimeError("pipe child did not start")
    here.recv_bytes()
    samples = []
    for _ in range(count - 1):
        t0 = time.perf_counter_ns()
        here.send_bytes(msg)
        here.recv_bytes()
        samples.append(time.perf_counter_ns() - t0)
    child.join(BOUND)
    return samples


# ------------------------------------- pure-Python ring over shared_memory

COUNTER = struct.Struct("<Q")
LINE = 128  # head and tail on lines of their own
RING_SLOTS = 4096


class Ring:
    """A single-producer single-consumer ring of fixed-size slots in a
    ``SharedMemory`` block: tail at byte 0, head at byte 128, slots from 256.
    Both sides busy-poll. What many people write by hand."""

    def __init__(self, shm, size):
        self.shm, self.buf, self.size = shm, shm.buf, size
        self.pos = 0  # own cursor, private

    @classmethod
    def create(cls, size):
        shm = shared_memory.SharedMemory(create=True, size=2 * LINE + RING_SLOTS * size)
        return cls(shm, size)

    @classmethod
    def attach(cls, name, size):
        return cls(shared_memory.SharedMemory(name=name), size)

    def push(self, msg):
        buf, pos = self.buf, self.pos
        while pos - COUNTER.unpack_from(buf, LINE)[0] >= RING_SLOTS:
            pass  # full: busy-poll the consumer's head
        at = 2 * LINE + (pos % RING_SLOTS) * self.size
        buf[at:at + self.size] = msg
        self.pos = pos + 1
        COUNTER.pack_into(buf, 0, pos + 1)

    def pop_into(self, out):
        buf, pos = self.buf, self.pos
        while COUNTER.unpack_from(buf, 0)[0] == pos:
            pass  # empty: busy-poll the producer's tail
        at = 2 * LINE + (pos % RING_SLOTS) * self.size
        out[:] = buf[at:at + self.size]
        self.pos = pos + 1
        COUNTER.pack_into(buf, LINE, pos + 1)

    def close(self):
        self.buf = None
        self.shm.close()


def ring_stream_child(name, count, size):
    ring = Ring.attach(name, size)
    msg = bytes(size)
    for _ in range(count):
        ring.push(msg)
    ring.close()


def ring_stream(count, size):
    ring = Ring.create(size)
    try:
        child = SPAWN.Process(target=ring_stream_child, args=(ring.shm.name, count, size))
        child.start()
        out = bytearray(size)
        ring.pop_into(out)
        start = time.perf_counter()
        for _ in range(count - 1):
            ring.pop_into(out)
        elapsed = time.perf_counter() - start
        child.join(BOUND)
    finally:
        ring.close()
        ring.shm.unlink()
    return elapsed / (count - 1)


def ring_echo_child(ping_name, pong_name, count, size):
    ping, pong = Ring.attach(ping_name, size), Ring.attach(pong_name, size)
    buf = bytearray(size)
    for _ in range(count):
        ping.pop_into(buf)
        pong.push(buf)
    ping.close()
    pong.close()


def ring_rtt(count, size):
    ping, pong = Ring.create(size), Ring.create(size)
    try:
        child = SPAWN.Process(target=ring_echo_child, args=(ping.shm.name, pong.shm.name, count, size))
        child.start()
        msg, buf = bytes(size), bytearray(size)
        ping.push(msg)
        pong.pop_into(buf)
        samples = []
        for _ in range(count - 1):
            t0 = time.perf_counter_ns()
            ping.push(msg)
            pong.pop_into(buf)
            samples.append(time.perf_counter_ns() - t0)
        child.join(BOUND)
    finally:
        for r in (ping, pong):
            r.close()
            r.shm.unlink()
    return samples


# ------------------------------------------------------------------ report

TRANSPORTS = [
    ("shmq.spsc", shmq_stream, shmq_rtt),
    ("multiprocessing.Queue", mpq_stream, mpq_rtt),
    ("multiprocessing.Pipe", pipe_stream, pipe_rtt),
    ("pure-Python ring (shared_memory, busy polling)", ring_stream, ring_rtt),
]


def targets(results):
    """The targets of issue #13: (what, text of the ratio, met?)."""
    base_stream, base_rtt, _ = results["shmq.spsc"]
    mpq, pipe, ring = (results[k] for k in (
        "multiprocessing.Queue", "multiprocessing.Pipe",
        "pure-Python ring (shared_memory, busy polling)"))
    stream_mpq, stream_ring, rtt_pipe = mpq[0] / base_stream, ring[0] / base_stream, pipe[1] / base_rtt
    return [
        ("shmq stream ≥ 20× multiprocessing.Queue", f"{stream_mpq:.1f}×", stream_mpq >= 20),
        ("≥ 3× the pure-Python ring", f"{stream_ring:.1f}×", stream_ring >= 3),
        ("round trip ≤ 1/20 of Pipe's", f"1/{rtt_pipe:.1f}", rtt_pipe >= 20),
    ]


def report(results, args, markdown):
    """Prints the table, the ratios to shmq and the targets; with
    ``markdown``, as the section of docs/benchmarks.md (heading included)."""
    base_stream, base_rtt, _ = results["shmq.spsc"]
    context = (
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at the start"
        + ("; quick mode: tiny counts, figures meaningless" if args.quick else "")
    )
    if markdown:
        print("## Python: shmq vs multiprocessing (issue #13)\n")
        print(f"Measured by `python benches/python/bench.py --markdown` ({context}).\n")
    else:
        print(f"{context}.\n")
    print("| transport | stream ns/msg | msg/s | stream ÷ shmq | RTT median µs | RTT p99 µs | RTT ÷ shmq |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, (per_msg, median, p99) in results.items():
        print(
            f"| {label} | {per_msg * 1e9:,.0f} | {1 / per_msg:,.0f} | {per_msg / base_stream:.1f}× "
            f"| {median / 1000:,.2f} | {p99 / 1000:,.2f} | {median / base_rtt:.1f}× |"
        )
    checks = "; ".join(
        f"{what}: {ratio} ({'met' if met else 'missed'})" for what, ratio, met in targets(results))
    def spaced(n):
        return f"{n:,}".replace(",", " ")

    counts = f"{args.size} B messages, {spaced(args.stream)} per stream, {spaced(args.rtt)} round trips"
    print(f"\nTargets of issue #13 (same run): {checks}. {counts}.")


def main():
    parser = argparse.ArgumentParser(description="shmq vs multiprocessing, from Python")
    parser.add_argument("--stream", type=int, default=200_000, help="messages per stream run")
    parser.add_argument("--rtt", type=int, default=20_000, help="round trips per run")
    parser.add_argument("--size", type=int, default=64, help="message size in bytes")
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks that it runs")
    parser.add_argument("--markdown", action="store_true",
                        help="print the section of docs/benchmarks.md (benches/report.sh appends it)")
    args = parser.parse_args()
    if args.quick:
        args.stream, args.rtt = 2000, 200

    results = {}
    for label, stream, rtt in TRANSPORTS:
        print(f"running {label} ...", file=sys.stderr)
        per_msg = stream(args.stream, args.size)
        samples = sorted(rtt(args.rtt, args.size))
        results[label] = (
            per_msg,
            statistics.median(samples),
            samples[min(len(samples) - 1, int(0.99 * len(samples)))],
        )
    report(results, args, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
