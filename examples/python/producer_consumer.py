#!/usr/bin/env python3
"""The classic shmq example in Python: a producer process sends sensor
readings, a consumer receives and checks them, then prints throughput and
latency percentiles.

    python examples/python/producer_consumer.py [--count N] [--kind spsc|mpmc]

A reading is a 24-byte struct: id (u64), timestamp (u64, CLOCK_MONOTONIC in
nanoseconds, the same clock in every process of the machine) and value
(f64). The producer is a separate process (multiprocessing, "spawn": a fresh
interpreter that opens the queue by name); this process is the consumer. It
receives into one preallocated buffer (``recv_into``: no allocation per
message) and checks that every id arrives exactly once and in order and that
every value is a plausible reading. The latency of a message is the time
from its timestamp to its receipt: it includes the time it spent queued, so
it grows when the producer runs ahead of the consumer.
"""

import argparse
import multiprocessing
import os
import random
import struct
import sys
import time

import shmq

READING = struct.Struct("<QQd")  # id, timestamp_ns, value
LOW, HIGH = -40.0, 85.0  # the sensor's range, in degrees Celsius


def produce(queue, count: int, seed: int) -> None:
    """The producer process: ``count`` readings of a random walk."""
    rng = random.Random(seed)
    value = 20.0
    with queue.sender() as tx:
        buf = bytearray(READING.size)
        for i in range(count):
            value = min(HIGH, max(LOW, value + rng.gauss(0.0, 0.5)))
            READING.pack_into(buf, 0, i, time.monotonic_ns(), value)
            tx.send(buf)
    # Leaving the `with` block closes the sender: the consumer drains the
    # queue, then its iteration ends (Disconnected).


def percentile(sorted_values, p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def consume(rx, count: int):
    """Receives until the producer is gone; returns (received, elapsed s, latencies ns)."""
    buf = bytearray(READING.size)
    latencies = []
    expected = 0
    start = None
    while True:
        try:
            n = rx.recv_into(buf, timeout=30)
        except shmq.Disconnected:
            break
        now = time.monotonic_ns()
        if start is None:
            start = now
        if n != READING.size:
            raise SystemExit(f"message of {n} bytes, expected {READING.size}")
        ident, stamp, value = READING.unpack_from(buf)
        if ident != expected:
            raise SystemExit(f"reading {ident} arrived where {expected} was due")
        if not LOW <= value <= HIGH:
            raise SystemExit(f"reading {ident} has an impossible value {value}")
        latencies.append(now - stamp)
        expected += 1
    if expected != count:
        raise SystemExit(f"received {expected} readings of {count}")
    elapsed = (time.monotonic_ns() - start) / 1e9 if start is not None else 0.0
    return expected, elapsed, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="readings to send")
    parser.add_argument("--kind", choices=["spsc", "mpmc"], default="spsc")
    args = parser.parse_args()

    kind = getattr(shmq, args.kind)
    name = f"shmq-example-{os.getpid()}"
    with kind.Queue.create(name, capacity=4096, slot_size=READING.size) as queue:
        with queue.receiver() as rx:
            ctx = multiprocessing.get_context("spawn")
            producer = ctx.Process(target=produce, args=(queue, args.count, 1))
            producer.start()
            received, elapsed, latencies = consume(rx, args.count)
            producer.join(60)
            if producer.exitcode != 0:
                print(f"producer failed: exit code {producer.exitcode}", file=sys.stderr)
                return 1

    latencies.sort()
    us = lambda ns: f"{ns / 1000:.1f} µs"  # noqa: E731
    print(f"{args.kind}: {received} readings checked (ids in order, exactly once, values in range)")
    if elapsed > 0:
        print(f"throughput: {received / elapsed:,.0f} readings/s ({elapsed * 1e9 / received:.0f} ns each)")
    if latencies:
        print(
            "latency (timestamp to receipt, queueing included): "
            f"p50 {us(percentile(latencies, 50))}, p99 {us(percentile(latencies, 99))}, "
            f"p99.9 {us(percentile(latencies, 99.9))}, max {us(latencies[-1])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
