//! The main job: a producer process streams timestamped sensor readings to a
//! consumer process through a shmq queue in `/dev/shm`; the consumer
//! verifies every reading (sequence number + checksum) and prints throughput
//! and latency percentiles, and the same readings through a Unix socket
//! for contrast, measured in the same run.
//!
//! ```text
//! cargo run --release -p shmq --example sensor_pipeline [-- --stream N --paced N --rate HZ --pipe N]
//! ```
//!
//! The parent creates the queue and spawns two children (this same program,
//! re-executed), pinned to CPUs 0 and 1. Before the traffic, the two children
//! measure the floor: the round trip of a cache line between them, so that
//! the figures can be read against this run's machine (on a VM the two vCPUs
//! may sit close or far apart).
//!
//! Readings are fixed-size plain data, so the queue is a [`shmq::dense`]
//! queue: records of exactly `size_of::<Reading>()` bytes back to back, a
//! batch published with one store. The phases:
//! 1. *stream*: `--stream` readings as fast as the queue takes them
//!    (throughput, from the first send to the last receive), in batches of
//!    up to [`BATCH`] readings (`try_send_slice` / `try_recv_slice`), as a
//!    sensor driver delivers them. Per reading the timed work is the queue's
//!    own plus a few nanoseconds: building the reading (pseudo-random
//!    values and a word-wise checksum) and verifying it (sequence number and
//!    checksum). No clock is read per reading: the first reading carries the
//!    start time, the consumer reads the clock once after the last one;
//! 2. *paced*: `--paced` readings at `--rate` per second, one `send_value`
//!    each, each stamped with its *intended* send time, so the latency
//!    figures include any delay the producer itself suffered (coordinated
//!    omission corrected);
//! 3. *socket*: `--pipe` readings through a Unix stream socket (a pipe
//!    measures the same on Linux) between the same two processes, twice: in
//!    the stream's batches (one `write(2)` per batch, `read(2)` until the
//!    batch is complete), then one reading per `write(2)`; no user-space
//!    buffering on either side, built and verified the same way, timed the
//!    same way: the contrast.
//!
//! Every wait is bounded: a child that sees no progress for 10 s fails.

use bytemuck::{Pod, Zeroable};
use hdrhistogram::Histogram;
use memmap2::MmapRaw;
use shmq::dense::{Config, Queue};
use shmq::TryRecvError;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One sensor reading: 56 bytes, every bit pattern valid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
struct Reading {
    seq: u64,
    /// Intended send time, CLOCK_MONOTONIC nanoseconds (shared by all processes).
    sent_ns: u64,
    sensor: u32,
    /// 0: stream phase, 1: paced phase.
    phase: u32,
    values: [f32; 6],
    checksum: u64,
}

impl Reading {
    fn checksum(&self) -> u64 {
        // A multiply-xor mix over the six 64-bit words before the checksum:
        // any single changed bit changes it (each step is a bijection of the
        // running value), at a few nanoseconds per reading, so the stream
        // phase measures the queue rather than a byte-wise hash.
        let words: [u64; 7] = bytemuck::cast(*self);
        words[..6].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &w| {
            (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
        })
    }
}

const PATIENCE: Duration = Duration::from_secs(10);
/// Readings per batch in the stream and socket phases (3.5 KiB).
const BATCH: usize = 64;
/// Readings per `write(2)` in the two runs of the socket phase.
const SOCKET_BATCHES: [usize; 2] = [BATCH, 1];
const FLOOR_ROUNDS: u64 = 100_000;

struct Args {
    stream: u64,
    paced: u64,
    rate: u64,
    pipe: u64,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        stream: 5_000_000,
        paced: 200_000,
        rate: 100_000,
        pipe: 200_000,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--stream" => args.stream = n,
            "--paced" => args.paced = n,
            "--rate" if n > 0 => args.rate = n,
            "--pipe" => args.pipe = n,
            _ => return Err(format!("unknown or invalid option {flag} {value}")),
        }
    }
    Ok(args)
}

fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Times the kernel took this process off its CPU against its will so far
/// (`nonvoluntary_ctxt_switches` in `/proc/self/status`), 0 if unknown.
fn preemptions() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn pin(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
        eprintln!("note: could not pin to cpu {cpu}: {e}");
    }
}

/// A small shared page for the floor measurement: `ping` at byte 0, `pong` at
/// byte 128 (separate cache-line pairs), the measured floor at byte 256.
struct FloorPage {
    map: MmapRaw,
}

impl FloorPage {
    fn path(name: &str) -> String {
        format!("/dev/shm/{name}-floor")
    }
    fn create(name: &str) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(Self::path(name))?;
        file.set_len(4096)
    }
    fn open(name: &str) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(Self::path(name))?;
        let map = MmapRaw::map_raw(&file)?;
        if map.len() < 4096 {
            return Err(std::io::Error::other("floor page too small"));
        }
        Ok(FloorPage { map })
    }
    fn word(&self, off: usize) -> &AtomicU64 {
        assert!(off + 8 <= self.map.len() && off % 8 == 0);
        // SAFETY: in bounds and 8-aligned (the mapping is page aligned); the page
        // is only ever accessed through atomics; it lives as long as `self`.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(off).cast()) }
    }
}

/// Spins until `word == want`, failing after `PATIENCE`.
fn spin_until(word: &AtomicU64, want: u64) -> Result<(), String> {
    let start = Instant::now();
    let mut spins = 0u32;
    // Acquire: pairs with the peer's Release store of `want`.
    while word.load(Ordering::Acquire) != want {
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins % 4096 == 0 && start.elapsed() > PATIENCE {
            return Err("floor peer made no progress for 10 s".into());
        }
    }
    Ok(())
}

/// Builds reading `seq` of `phase` from the generator state `rng`.
fn reading(rng: &mut u64, seq: u64, phase: u32, sent_ns: u64) -> Reading {
    // xorshift64*: cheap, deterministic pseudo-random sensor values.
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    let bits = rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut r = Reading {
        seq,
        sent_ns,
        sensor: (bits >> 56) as u32,
        phase,
        values: [0.0; 6],
        checksum: 0,
    };
    for (k, v) in r.values.iter_mut().enumerate() {
        *v = ((bits >> (k * 8)) & 0xffff) as f32 / 64.0 - 512.0;
    }
    r.checksum = r.checksum();
    r
}

/// Checks that `r` is reading `expected` and intact.
fn verify(r: &Reading, expected: u64) -> Result<(), String> {
    if r.seq != expected {
        return Err(format!("expected reading {expected}, got {}", r.seq));
    }
    if r.checksum != r.checksum() {
        return Err(format!("reading {} fails its checksum", r.seq));
    }
    Ok(())
}

fn producer(name: &str, args: &Args) -> Result<(), String> {
    pin(0);
    let floor = FloorPage::open(name).map_err(|e| format!("floor page: {e}"))?;
    let (ping, pong) = (floor.word(0), floor.word(128));
    let start = Instant::now();
    for i in 1..=FLOOR_ROUNDS {
        // Release: pairs with the consumer's Acquire load in `spin_until`.
        ping.store(i, Ordering::Release);
        spin_until(pong, i)?;
    }
    let floor_ns = start.elapsed().as_nanos() as u64 / FLOOR_ROUNDS;
    // stdout is the socket to the consumer: the consumer reports the floor.
    floor.word(256).store(floor_ns, Ordering::Relaxed);

    let queue = Queue::open(name).map_err(|e| format!("open: {e}"))?;
    let mut tx = queue.sender().map_err(|e| format!("sender: {e}"))?;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut seq = 0u64;
    // Stream: only the first reading carries a clock reading (the start).
    let mut batch = [Reading::zeroed(); BATCH];
    while seq < args.stream {
        let k = (args.stream - seq).min(BATCH as u64) as usize;
        for (i, r) in batch[..k].iter_mut().enumerate() {
            let n = seq + i as u64;
            *r = reading(&mut rng, n, 0, if n == 0 { now_ns() } else { 0 });
        }
        let mut sent = 0;
        while sent < k {
            sent += tx
                .send_slice(&batch[sent..k], PATIENCE)
                .map_err(|e| format!("send {}: {e}", seq + sent as u64))?;
        }
        seq += k as u64;
    }
    let period_ns = 1_000_000_000 / args.rate;
    let t0 = now_ns();
    for i in 0..args.paced {
        let intended = t0 + i * period_ns;
        while now_ns() < intended {
            std::hint::spin_loop();
        }
        let r = reading(&mut rng, seq, 1, intended);
        tx.send_value(&r, PATIENCE)
            .map_err(|e| format!("send {seq}: {e}"))?;
        seq += 1;
    }
    drop(tx);
    floor.word(264).store(preemptions(), Ordering::Relaxed);
    // The contrast: the same readings through a Unix socket (our stdout),
    // in the stream's batches, then one per write. A consumer that died
    // closes its end: the write fails. Unbuffered: one write(2) per batch
    // (std's stdout would batch on its own).
    for per_write in SOCKET_BATCHES {
        socket_send(&mut rng, &mut batch[..per_write], args.pipe)?;
    }
    Ok(())
}

/// Writes `total` readings to stdout, `batch.len()` per `write(2)`.
fn socket_send(rng: &mut u64, batch: &mut [Reading], total: u64) -> Result<(), String> {
    let out = std::io::stdout();
    let mut i = 0;
    while i < total {
        let k = (total - i).min(batch.len() as u64) as usize;
        for (j, r) in batch[..k].iter_mut().enumerate() {
            let n = i + j as u64;
            *r = reading(rng, n, 2, if n == 0 { now_ns() } else { 0 });
        }
        let mut bytes = bytemuck::cast_slice::<Reading, u8>(&batch[..k]);
        while !bytes.is_empty() {
            let n = rustix::io::write(out.as_fd(), bytes)
                .map_err(|e| format!("socket write {i}: {e}"))?;
            bytes = &bytes[n..];
        }
        i += k as u64;
    }
    Ok(())
}

fn consumer(name: &str, args: &Args) -> Result<(), String> {
    pin(1);
    let floor = FloorPage::open(name).map_err(|e| format!("floor page: {e}"))?;
    let (ping, pong) = (floor.word(0), floor.word(128));
    for i in 1..=FLOOR_ROUNDS {
        spin_until(ping, i)?;
        // Release: pairs with the producer's Acquire load in `spin_until`.
        pong.store(i, Ordering::Release);
    }

    let queue = Queue::open(name).map_err(|e| format!("open: {e}"))?;
    let mut rx = queue.receiver().map_err(|e| format!("receiver: {e}"))?;
    let mut batch = [Reading::zeroed(); BATCH];
    // Bounds up to a minute: `saturating_record` clamps to the highest
    // trackable value instead of growing (`new(3)` alone tracks ≈ 2 µs).
    let mut latency =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())?;
    let (mut expected, mut stream_first_ns, mut stream_last_ns) = (0u64, 0u64, 0u64);
    let mut last_progress = Instant::now();
    let mut idle = 0u32;
    'recv: loop {
        let n = match rx.try_recv_slice(&mut batch) {
            Ok(n) => n,
            Err(TryRecvError::Empty) => {
                std::hint::spin_loop();
                idle = idle.wrapping_add(1);
                if idle % 1024 == 0 && last_progress.elapsed() > PATIENCE {
                    return Err(format!("no reading for 10 s after {expected}"));
                }
                continue;
            }
            Err(TryRecvError::Disconnected) => break 'recv,
            Err(e) => return Err(format!("recv after {expected}: {e}")),
        };
        if idle != 0 {
            idle = 0;
            last_progress = Instant::now();
        }
        for r in &batch[..n] {
            verify(r, expected)?;
            expected += 1;
            if r.phase == 0 {
                if r.seq == 0 {
                    stream_first_ns = r.sent_ns;
                }
                if expected == args.stream {
                    // The last stream reading: one clock read for the whole phase.
                    stream_last_ns = now_ns();
                }
            } else {
                latency.saturating_record(now_ns().saturating_sub(r.sent_ns));
            }
        }
    }
    let total = args.stream + args.paced;
    if expected != total {
        return Err(format!("received {expected} readings, expected {total}"));
    }
    let consumer_preempted = preemptions();
    let floor_ns = floor.word(256).load(Ordering::Relaxed).max(1);
    let mut pipe_ns = Vec::new();
    for per_read in SOCKET_BATCHES {
        pipe_ns.extend(pipe_stream(&mut batch[..per_read], args.pipe)?);
    }
    println!(
        "floor:  a cache line's round trip between the two processes takes {floor_ns} ns (mean of {FLOOR_ROUNDS}, measured before the traffic)"
    );
    let mut shmq_ns = None;
    if args.stream > 0 {
        let secs = stream_last_ns.saturating_sub(stream_first_ns) as f64 / 1e9;
        let per_msg = secs * 1e9 / args.stream as f64;
        shmq_ns = Some(per_msg);
        println!(
            "stream: {} readings in {secs:.3} s: {:.1} M msg/s, {per_msg:.1} ns/msg ({:.3}× the floor round trip); every one verified",
            args.stream,
            args.stream as f64 / secs / 1e6,
            per_msg / floor_ns as f64,
        );
        println!(
            "        per reading: 1/{BATCH} of a try_send_slice + try_recv_slice of up to {BATCH} readings of 56 B (shmq::dense), building the reading (xorshift + checksum) and verifying it (sequence + checksum); no clock read per reading"
        );
    }
    for (per_msg, per_write) in pipe_ns.iter().zip(SOCKET_BATCHES) {
        print!(
            "socket: {} readings through a Unix socket between the same processes, {per_write} per write: {per_msg:.1} ns/msg",
            args.pipe
        );
        match shmq_ns {
            Some(s) if s > 0.0 => {
                println!(" ({:.1}× the shmq stream's time per reading)", per_msg / s)
            }
            _ => println!(),
        }
    }
    if !pipe_ns.is_empty() {
        println!(
            "        per reading: its share of a write(2) + read(2) until the batch arrived (no user-space buffering), the same building and verifying, timed the same way"
        );
    }
    if !latency.is_empty() {
        let us = |q: f64| latency.value_at_quantile(q) as f64 / 1e3;
        println!(
            "paced:  {} readings at {}/s; latency from the intended send time (coordinated omission corrected):",
            args.paced, args.rate
        );
        println!(
            "        p50 {:.2} µs  p99 {:.2} µs  p99.9 {:.2} µs  max {:.2} µs  (p50 = {:.1}× half the floor round trip)",
            us(0.5),
            us(0.99),
            us(0.999),
            latency.max() as f64 / 1e3,
            latency.value_at_quantile(0.5) as f64 / (floor_ns as f64 / 2.0),
        );
        if latency.value_at_quantile(0.5) * 4 < floor_ns {
            // A message cannot arrive faster than a cache line crosses: the
            // two CPUs' monotonic clocks disagree (seen on VMs), and every
            // one-way figure above is off by that skew.
            println!(
                "        WARNING: p50 is below a quarter of the floor round trip: the two CPUs' clocks disagree; these one-way figures are not trustworthy (the floor and stream figures are)"
            );
        }
        let late = latency.count_between(100_000, u64::MAX);
        if late > 0 {
            println!(
                "        the kernel preempted the producer {} and the consumer {} times before the socket phase (/proc/self/status)",
                floor.word(264).load(Ordering::Relaxed),
                consumer_preempted
            );
            // Both processes spin on their own CPU; when the kernel runs
            // something else there, the readings scheduled meanwhile are
            // late by up to that time slice, and are counted so.
            println!(
                "        {late} of {} readings arrived more than 100 µs after their intended send time: a process lost its CPU for a while (every later reading of that stretch counts as late)",
                latency.len()
            );
        }
    }
    Ok(())
}

/// The consumer's half of a socket run: reads `total` readings from stdin
/// (the producer's stdout), `batch.len()` at a time, and returns the ns per
/// reading, timed from the producer's clock in the first reading to our
/// clock after the last.
fn pipe_stream(batch: &mut [Reading], total: u64) -> Result<Option<f64>, String> {
    if total == 0 {
        return Ok(None);
    }
    // Unbuffered: read(2) straight from the socket (std's stdin would
    // read ahead into a buffer and hide the per-reading cost).
    let input = std::io::stdin();
    let mut first_ns = 0;
    let mut i = 0;
    while i < total {
        let k = (total - i).min(batch.len() as u64) as usize;
        let buf = bytemuck::cast_slice_mut::<Reading, u8>(&mut batch[..k]);
        let mut got = 0;
        while got < buf.len() {
            match rustix::io::read(input.as_fd(), &mut buf[got..]) {
                // A producer that died closes the socket: end of file.
                Ok(0) => return Err(format!("socket read {i}: end of file")),
                Ok(n) => got += n,
                Err(e) => return Err(format!("socket read {i}: {e}")),
            }
        }
        for r in &batch[..k] {
            verify(r, i)?;
            if i == 0 {
                first_ns = r.sent_ns;
            }
            i += 1;
        }
    }
    let ns = now_ns().saturating_sub(first_ns) as f64 / total as f64;
    Ok(Some(ns))
}

fn parent(raw: &[String]) -> Result<(), String> {
    let name = format!("shmq-sensors-{}", std::process::id());
    let slot_size = std::mem::size_of::<Reading>() as u32;
    let queue = Queue::create(
        &name,
        Config {
            capacity: 4096,
            record_size: slot_size,
        },
    )
    .map_err(|e| format!("create {name}: {e}"))?;
    FloorPage::create(&name).map_err(|e| format!("floor page: {e}"))?;
    let result = run_children(&name, raw);
    let _ = std::fs::remove_file(FloorPage::path(&name));
    result?;
    let s = queue.stats();
    println!(
        "queue \"{name}\" (shmq::dense, {} records of {slot_size} B): enqueued {}, dequeued {}, found full {}, found empty {}, poisoned {}",
        queue.capacity(),
        s.enqueued,
        s.dequeued,
        s.full,
        s.empty,
        if s.poisoned { "yes" } else { "no" }
    );
    Ok(())
}

fn run_children(name: &str, raw: &[String]) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // The channel of the contrast phase: producer's stdout -> consumer's stdin.
    // A Unix stream socket pair (std since 1.10; a pipe behaves the same here).
    let (pipe_r, pipe_w) =
        std::os::unix::net::UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
    let (pipe_r, pipe_w) = (OwnedFd::from(pipe_r), OwnedFd::from(pipe_w));
    let spawn = |role: &str, io: Stdio| {
        let mut cmd = Command::new(&exe);
        cmd.arg(role).arg(name).args(raw);
        if role == "consumer" {
            cmd.stdin(io);
        } else {
            cmd.stdout(io);
        }
        cmd.spawn().map_err(|e| format!("spawn {role}: {e}"))
    };
    let mut consumer = spawn("consumer", Stdio::from(pipe_r))?;
    let mut producer = match spawn("producer", Stdio::from(pipe_w)) {
        Ok(p) => p,
        Err(e) => {
            let _ = consumer.kill();
            let _ = consumer.wait();
            return Err(e);
        }
    };
    println!(
        "shmq sensor pipeline: producer pid {} (cpu 0) -> consumer pid {} (cpu 1)",
        producer.id(),
        consumer.id()
    );
    let p = producer.wait().map_err(|e| e.to_string())?;
    if !p.success() {
        let _ = consumer.kill();
    }
    let c = consumer.wait().map_err(|e| e.to_string())?;
    if p.success() && c.success() {
        Ok(())
    } else {
        Err(format!("producer {p}, consumer {c}"))
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (role, rest) = match argv.first().map(String::as_str) {
        Some(r @ ("producer" | "consumer")) if argv.len() >= 2 => {
            (Some((r, argv[1].clone())), &argv[2..])
        }
        _ => (None, &argv[..]),
    };
    let args = match parse_args(rest.iter().cloned()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "sensor_pipeline: {e}\nusage: sensor_pipeline [--stream N] [--paced N] [--rate HZ] [--pipe N]"
            );
            return ExitCode::from(2);
        }
    };
    let result = match role {
        Some(("producer", name)) => producer(&name, &args),
        Some((_, name)) => consumer(&name, &args),
        None => parent(rest),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sensor_pipeline: {e}");
            ExitCode::FAILURE
        }
    }
}
