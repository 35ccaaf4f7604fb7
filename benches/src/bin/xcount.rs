//! `xcount`: one thread pushes and pops `u64` messages through one SPSC ring,
//! so that `valgrind --tool=callgrind` (or `perf stat -e instructions`) can
//! count the instructions each path costs per message, repeatably on a
//! loaded machine. No timing: the figure is instructions, not nanoseconds.
//!
//! ```text
//! cargo build --release -p shmq-benches --bin xcount
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/xcount CASE N          # total instructions for N messages
//! ```
//!
//! Per-message cost = (total at N2 − total at N1) / (N2 − N1): the fixed cost
//! of creating the ring cancels. CASE is one of
//! `core`, `api` (per message, `try_push_value`/`try_pop_value` against
//! `try_send_value`/`try_recv_value`), `core-stream`, `api-stream` (the same
//! with `Pacing::Throughput` on both ends), `core-batch`, `api-batch`
//! (slices of 256). Messages go through in bursts of 64 (push 64, pop 64), so
//! every path runs as in a stream, minus the other core.

use shmq::spsc::Pacing;
use shmq_benches::shm::{ShmFile, AREA};
use shmq_benches::{err, ring, Result};
use std::hint::black_box;

const CAPACITY: u32 = 4096;
const BURST: u64 = 64;
const BATCH: usize = 256;

fn main() {
    if let Err(e) = run() {
        eprintln!("xcount: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [case, n] = &args[..] else {
        return Err(err(
            "usage: xcount core|api|core-stream|api-stream|core-batch|api-batch|dense|dense-batch N",
        ));
    };
    let n: u64 = n.parse()?;
    let sum = match case.as_str() {
        "core" | "core-stream" | "core-batch" => core(case, n)?,
        "api" | "api-stream" | "api-batch" => {
            let q = shmq::spsc::Queue::create_anonymous(shmq::spsc::Config {
                capacity: CAPACITY,
                slot_size: ring::U64_SLOT,
            })?;
            let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
            if case == "api-stream" {
                tx.set_pacing(Pacing::Throughput);
                rx.set_pacing(Pacing::Throughput);
            }
            api(case == "api-batch", n, tx, rx)?
        }
        "dense" | "dense-batch" => {
            let q = shmq::dense::Queue::create_anonymous(shmq::dense::Config {
                capacity: CAPACITY,
                record_size: 8,
            })?;
            api(case == "dense-batch", n, q.sender()?, q.receiver()?)?
        }
        other => return Err(err(format!("unknown case {other}"))),
    };
    // The values must add up: every message went through, once, in order.
    let want = n.saturating_sub(1) * n / 2;
    if sum != want {
        return Err(err(format!("checksum {sum}, expected {want}")));
    }
    println!("{case}: {n} messages");
    Ok(())
}

fn core(case: &str, n: u64) -> Result<u64> {
    let shm = ShmFile::create("xcount", AREA + ring::footprint(CAPACITY)?)?;
    // SAFETY: the region and both endpoints are locals dropped before `shm`.
    let region = unsafe { ring::create(&shm, AREA, CAPACITY)? };
    let mut tx = ring::producer(region.clone())?;
    let mut rx = ring::consumer(region)?;
    if case == "core-stream" {
        tx.set_pacing(Pacing::Throughput);
        rx.set_pacing(Pacing::Throughput);
    }
    let mut sum = 0u64;
    if case == "core-batch" {
        let mut buf = [0u64; BATCH];
        let mut next = 0u64;
        while next < n {
            let k = (n - next).min(BATCH as u64) as usize;
            for (i, b) in buf[..k].iter_mut().enumerate() {
                *b = next + i as u64;
            }
            let sent = tx.push_slice(black_box(&buf[..k]))?;
            let got = rx.pop_slice(&mut buf[..sent])?;
            sum += buf[..got].iter().sum::<u64>();
            next += got as u64;
        }
        return Ok(sum);
    }
    let mut i = 0u64;
    while i < n {
        let end = (i + BURST).min(n);
        for v in i..end {
            tx.try_push_value(black_box(&v))?;
        }
        let mut left = end - i;
        while left > 0 {
            match rx.try_pop_value::<u64>() {
                Ok(v) => {
                    sum += black_box(v);
                    left -= 1;
                }
                // Throughput pacing: soft empties while fewer than a batch remain.
                Err(shmq_core::spsc::PopError::Empty) => {}
                Err(e) => return Err(e.into()),
            }
        }
        i = end;
    }
    Ok(sum)
}

/// The user API of any kind, per message in bursts or in batches.
fn api<K: shmq::Kind>(
    batch: bool,
    n: u64,
    mut tx: shmq::Sender<K>,
    mut rx: shmq::Receiver<K>,
) -> Result<u64> {
    let mut sum = 0u64;
    if batch {
        let mut buf = [0u64; BATCH];
        let mut next = 0u64;
        while next < n {
            let k = (n - next).min(BATCH as u64) as usize;
            for (i, b) in buf[..k].iter_mut().enumerate() {
                *b = next + i as u64;
            }
            let sent = tx.try_send_slice(black_box(&buf[..k]))?;
            let got = rx.try_recv_slice(&mut buf[..sent])?;
            sum += buf[..got].iter().sum::<u64>();
            next += got as u64;
        }
        return Ok(sum);
    }
    let mut i = 0u64;
    while i < n {
        let end = (i + BURST).min(n);
        for v in i..end {
            tx.try_send_value(black_box(&v))?;
        }
        let mut left = end - i;
        while left > 0 {
            match rx.try_recv_value::<u64>() {
                Ok(v) => {
                    sum += black_box(v);
                    left -= 1;
                }
                Err(shmq::TryRecvError::Empty) => {}
                Err(e) => return Err(e.into()),
            }
        }
        i = end;
    }
    Ok(sum)
}
