//! MPMC throughput: shmq's MPMC queue across processes vs crossbeam's
//! `ArrayQueue` in-process, 1 producer × 1 consumer and 2 × 2, same run, with
//! the floor (cache-line ping-pong RTT between two pinned processes) printed
//! next to every figure (this VM has two speed levels; see the design notes).
//!
//! `cargo run --release -p shmq-benches --bin xmpmc [-- --messages N --rounds R]`
//! Measured, never asserted. 2 × 2 on 2 vCPUs is oversubscribed: indicative.
//!
//! Fairness: both queues run at two capacities, 1 Ki and 16 Ki slots, and
//! `ArrayQueue` also with its own best waiting (crossbeam-utils' `Backoff`:
//! `spin` after a failed push/pop, `snooze` once it `is_completed`, the way
//! crossbeam's own channels wait) next to the harness's spin-then-yield, so
//! the ratio is not an artefact of one setting.

use crossbeam_queue::ArrayQueue;
use shmq::mpmc::{Config, Queue};
use shmq::{TryRecvError, TrySendError};
use shmq_benches::proc::pin_to;
use shmq_benches::shm::ShmFile;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Spin a little, then yield (needed when oversubscribed).
fn idle(fails: &mut u32) {
    *fails += 1;
    if *fails < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

fn child(args: &[String]) -> ! {
    let what = args[2].as_str();
    let name = &args[3];
    let core: usize = args[4].parse().unwrap();
    let n: u64 = args[5].parse().unwrap();
    let _ = pin_to(core);
    match what {
        "pong" => {
            let f = ShmFile::open(std::path::Path::new(name)).unwrap();
            let (ping, pong) = (f.u64_at(0), f.u64_at(128));
            let deadline = Instant::now() + Duration::from_secs(60);
            for i in 1..=n {
                let mut spins = 0u32;
                while ping.load(Ordering::Acquire) != i {
                    spins = spins.wrapping_add(1);
                    if spins % 1_000_000 == 0 && Instant::now() > deadline {
                        std::process::exit(2);
                    }
                    std::hint::spin_loop();
                }
                pong.store(i, Ordering::Release);
            }
        }
        "producer" => {
            let q = Queue::open(name).unwrap();
            let mut tx = q.sender().unwrap();
            let id: u64 = args[6].parse().unwrap();
            println!("READY");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
            let mut fails = 0;
            let mut i = 0;
            while i < n {
                match tx.try_send_value(&(id << 48 | i)) {
                    Ok(()) => {
                        i += 1;
                        fails = 0;
                    }
                    Err(TrySendError::Full) => idle(&mut fails),
                    Err(e) => panic!("{e}"),
                }
            }
        }
        "consumer" => {
            let q = Queue::open(name).unwrap();
            let mut rx = q.receiver().unwrap();
            println!("READY");
            let mut got = 0u64;
            let mut first = 0;
            let mut fails = 0;
            loop {
                match rx.try_recv_value::<u64>() {
                    Ok(_) => {
                        if got == 0 {
                            first = now_ns();
                        }
                        got += 1;
                        fails = 0;
                    }
                    Err(TryRecvError::Empty) => idle(&mut fails),
                    Err(TryRecvError::Disconnected) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            // Last message time: Disconnected is seen within ~64 polls of it.
            println!("RESULT {got} {first} {}", now_ns());
        }
        _ => panic!("unknown child {what}"),
    }
    std::process::exit(0)
}

fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Cache-line ping-pong round trip between two pinned processes, ns.
fn floor(rounds: u64) -> f64 {
    let f = ShmFile::create("xmpmc-floor", 4096).unwrap();
    let (ping, pong) = (f.u64_at(0), f.u64_at(128));
    let path = f.path().display().to_string();
    let mut c = spawn(&["pong", &path, "1", &rounds.to_string()]);
    let _ = pin_to(0);
    let start = Instant::now();
    for i in 1..=rounds {
        ping.store(i, Ordering::Release);
        while pong.load(Ordering::Acquire) != i {
            std::hint::spin_loop();
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / rounds as f64;
    c.wait().unwrap();
    ns
}

/// shmq MPMC across processes: `p` producers, `c` consumers, ns per message
/// (first message taken to last, across consumers, CLOCK_MONOTONIC).
fn shmq_run(p: usize, c: usize, n: u64, capacity: u32) -> f64 {
    use std::io::{BufRead, BufReader, Write};
    let name = format!("xmpmc-{}", std::process::id());
    let q = Queue::create(
        &name,
        Config {
            capacity,
            slot_size: 8,
            max_endpoints: 8,
        },
    )
    .unwrap();
    let per = n / p as u64;
    let mut cons: Vec<_> = (0..c)
        .map(|i| spawn(&["consumer", &name, &(1 - i % 2).to_string(), "0"]))
        .collect();
    let mut prods: Vec<_> = (0..p)
        .map(|i| {
            spawn(&[
                "producer",
                &name,
                &(i % 2).to_string(),
                &per.to_string(),
                &i.to_string(),
            ])
        })
        .collect();
    let mut readers: Vec<_> = cons
        .iter_mut()
        .chain(prods.iter_mut())
        .map(|ch| BufReader::new(ch.stdout.take().unwrap()))
        .collect();
    for r in &mut readers {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        assert_eq!(l.trim(), "READY");
    }
    for pr in &mut prods {
        writeln!(pr.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let (mut total, mut first, mut last) = (0u64, u64::MAX, 0u64);
    for r in readers.iter_mut().take(c) {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let v: Vec<u64> = l
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        total += v[0];
        // A consumer that got nothing (its peer drained everything) has no
        // first-message time: it must not stretch the window.
        if v[0] > 0 {
            first = first.min(v[1]);
            last = last.max(v[2]);
        }
    }
    for ch in cons.iter_mut().chain(prods.iter_mut()) {
        ch.wait().unwrap();
    }
    assert_eq!(total, per * p as u64, "every message arrived");
    drop(q);
    (last - first) as f64 / total as f64
}

/// How the in-process threads wait on a full/empty `ArrayQueue`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The harness's own: spin 64 times, then yield (as the shmq children).
    SpinYield,
    /// crossbeam-utils' `Backoff` (`spin`, then `snooze` once completed).
    Backoff,
}

/// One failed attempt's wait.
#[inline]
fn wait_once(wait: Wait, fails: &mut u32, backoff: &crossbeam_utils::Backoff) {
    match wait {
        Wait::SpinYield => idle(fails),
        Wait::Backoff if backoff.is_completed() => backoff.snooze(),
        Wait::Backoff => backoff.spin(),
    }
}

/// crossbeam ArrayQueue in-process, threads pinned alternately to cores 0/1.
fn crossbeam_run(p: usize, c: usize, n: u64, capacity: usize, wait: Wait) -> f64 {
    let q = Arc::new(ArrayQueue::<u64>::new(capacity));
    let per = n / p as u64;
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for i in 0..p {
            let q = q.clone();
            s.spawn(move || {
                let _ = pin_to(i % 2);
                let mut fails = 0;
                let backoff = crossbeam_utils::Backoff::new();
                let mut k = 0;
                while k < per {
                    if q.push(k).is_ok() {
                        k += 1;
                        fails = 0;
                        backoff.reset();
                    } else {
                        wait_once(wait, &mut fails, &backoff);
                    }
                }
            });
        }
        for i in 0..c {
            let (q, done) = (q.clone(), done.clone());
            s.spawn(move || {
                let _ = pin_to(1 - i % 2);
                let mut fails = 0;
                let backoff = crossbeam_utils::Backoff::new();
                while done.load(Ordering::Relaxed) < per * p as u64 {
                    if q.pop().is_some() {
                        done.fetch_add(1, Ordering::Relaxed);
                        fails = 0;
                        backoff.reset();
                    } else {
                        wait_once(wait, &mut fails, &backoff);
                    }
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / (per * p as u64) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args);
    }
    let get = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = get("--messages", 10_000_000);
    let rounds = get("--rounds", 3);
    println!(
        "xmpmc: {n} u64 messages per run; ns/msg (lower is better); ArrayQueue waits spin-then-yield (as shmq's children) or with crossbeam's Backoff; ratios are ArrayQueue time / shmq time at the same capacity"
    );
    for r in 0..rounds {
        let f0 = floor(200_000);
        for cap in [1024u32, 16 * 1024] {
            let s11 = shmq_run(1, 1, n, cap);
            let c11 = crossbeam_run(1, 1, n, cap as usize, Wait::SpinYield);
            let b11 = crossbeam_run(1, 1, n, cap as usize, Wait::Backoff);
            let s22 = shmq_run(2, 2, n, cap);
            let c22 = crossbeam_run(2, 2, n, cap as usize, Wait::SpinYield);
            let b22 = crossbeam_run(2, 2, n, cap as usize, Wait::Backoff);
            println!(
                "round {r}, capacity {cap}: 1x1 shmq xproc {s11:.2} vs ArrayQueue {c11:.2} ({:.2}x), Backoff {b11:.2} ({:.2}x) | 2x2 shmq xproc {s22:.2} vs ArrayQueue {c22:.2} ({:.2}x), Backoff {b22:.2} ({:.2}x)",
                c11 / s11,
                b11 / s11,
                c22 / s22,
                b22 / s22
            );
        }
        let f1 = floor(200_000);
        println!("round {r}: floor RTT {f0:.0} ns before, {f1:.0} ns after");
    }
}
