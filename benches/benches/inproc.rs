//! In-process comparison (criterion): one producer thread and one consumer
//! thread, pinned to cores 1 and 0, streaming `u64`s through a bounded queue
//! of 4096 slots.
//!
//! shmq's SPSC ring runs over a heap region (`shmq_core::testing::HeapRegion`)
//! exactly as it would over a mapping; its peers are rtrb, crossbeam's
//! `ArrayQueue`, crossbeam-channel `bounded` and `std::sync::mpsc::sync_channel`.
//! A second group compares shmq-core's MPMC ring (heap region, no crash
//! repair: `NoPeers`) with `ArrayQueue`, 1p1c and 2p2c (the latter
//! oversubscribed on this 2-core machine: indicative only).
//! One criterion iteration is one message, so the reported time is ns per
//! message and the throughput is messages per second. The cross-process
//! figures (the ones that matter for shmq) come from the `xproc` binary;
//! these are the in-process numbers users compare against.
//!
//! ```text
//! cargo bench -p shmq-benches --bench inproc
//! ```
//!
//! Every wait is bounded: the spinning sides give up after [`BOUND`], the
//! channels use `recv_timeout`, and a blocked `send` fails once the receiver
//! is dropped.

use criterion::{criterion_group, Criterion, Throughput};
use shmq_benches::proc::{pin_to, Deadline, Spin, PARENT_CORE, PEER_CORE};
use shmq_benches::report::Latency;
use shmq_core::layout::{Geometry, QueueKind};
use shmq_core::mpmc;
use shmq_core::spsc::{Consumer, PopError, Producer, PushError};
use shmq_core::testing::{HeapRegion, NoPeers};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Slots of every queue.
const CAPACITY: usize = 4096;
/// Items per `push_slice`/`pop_slice` call of the batch case.
const BATCH: usize = 256;
/// Bound on any one wait.
const BOUND: Duration = Duration::from_secs(30);

/// Runs `produce` on a second thread pinned to [`PEER_CORE`] and `consume`
/// on this one, and returns the wall time of both.
fn two_threads<P, C>(produce: P, consume: C) -> Duration
where
    P: FnOnce() + Send,
    C: FnOnce(),
{
    std::thread::scope(|s| {
        let t0 = Instant::now();
        let producer = s.spawn(move || {
            // Best effort: on one CPU the bench still runs, unpinned.
            let _ = pin_to(PEER_CORE);
            produce();
        });
        consume();
        let elapsed = t0.elapsed();
        producer.join().expect("producer thread panicked");
        elapsed
    })
}

fn spin(what: &'static str) -> Spin {
    Spin::new(Deadline::after(BOUND), what)
}

fn shmq_ring() -> HeapRegion {
    let g = Geometry::new(QueueKind::Spsc, CAPACITY as u32, 8).expect("valid geometry");
    HeapRegion::new(g)
}

fn shmq_per_message(n: u64) -> Duration {
    let heap = shmq_ring();
    // SAFETY: the only producer of this heap region.
    let mut tx = unsafe { Producer::attach(heap.region()) }.expect("attach producer");
    // SAFETY: the only consumer of this heap region.
    let mut rx = unsafe { Consumer::attach(heap.region()) }.expect("attach consumer");
    // Both endpoints are dropped inside `two_threads`, before `heap`.
    two_threads(
        move || {
            let mut s = spin("shmq space");
            for i in 0..n {
                loop {
                    match tx.try_push_value(&i) {
                        Ok(()) => break,
                        Err(PushError::Full) => s.step().expect("bounded wait"),
                        Err(e) => panic!("push: {e}"),
                    }
                }
            }
        },
        move || {
            let mut s = spin("shmq data");
            for i in 0..n {
                let v = loop {
                    match rx.try_pop_value::<u64>() {
                        Ok(v) => break v,
                        Err(PopError::Empty) => s.step().expect("bounded wait"),
                        Err(e) => panic!("pop: {e}"),
                    }
                };
                assert_eq!(v, i);
            }
        },
    )
}

fn shmq_batch(n: u64) -> Duration {
    let heap = shmq_ring();
    // SAFETY: the only producer of this heap region.
    let mut tx = unsafe { Producer::attach(heap.region()) }.expect("attach producer");
    // SAFETY: the only consumer of this heap region.
    let mut rx = unsafe { Consumer::attach(heap.region()) }.expect("attach consumer");
    two_threads(
        move || {
            let mut s = spin("shmq space");
            let mut buf = [0u64; BATCH];
            let mut next = 0;
            while next < n {
                let k = (n - next).min(BATCH as u64) as usize;
                for (j, b) in buf[..k].iter_mut().enumerate() {
                    *b = next + j as u64;
                }
                let mut done = 0;
                while done < k {
                    match tx.push_slice(&buf[done..k]) {
                        Ok(m) => done += m,
                        Err(PushError::Full) => s.step().expect("bounded wait"),
                        Err(e) => panic!("push: {e}"),
                    }
                }
                next += k as u64;
            }
        },
        move || {
            let mut s = spin("shmq data");
            let mut buf = [0u64; BATCH];
            let mut next = 0;
            while next < n {
                match rx.pop_slice(&mut buf) {
                    Ok(m) => {
                        for &v in &buf[..m] {
                            assert_eq!(v, next);
                            next += 1;
                        }
                    }
                    Err(PopError::Empty) => s.step().expect("bounded wait"),
                    Err(e) => panic!("pop: {e}"),
                }
            }
        },
    )
}

fn rtrb(n: u64) -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    two_threads(
        move || {
            let mut s = spin("rtrb space");
            for i in 0..n {
                while tx.push(i).is_err() {
                    s.step().expect("bounded wait");
                }
            }
        },
        move || {
            let mut s = spin("rtrb data");
            for i in 0..n {
                let v = loop {
                    match rx.pop() {
                        Ok(v) => break v,
                        Err(_) => s.step().expect("bounded wait"),
                    }
                };
                assert_eq!(v, i);
            }
        },
    )
}

fn array_queue(n: u64) -> Duration {
    let q = crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY);
    let q = &q;
    two_threads(
        move || {
            let mut s = spin("ArrayQueue space");
            for i in 0..n {
                while q.push(i).is_err() {
                    s.step().expect("bounded wait");
                }
            }
        },
        move || {
            let mut s = spin("ArrayQueue data");
            for i in 0..n {
                let v = loop {
                    match q.pop() {
                        Some(v) => break v,
                        None => s.step().expect("bounded wait"),
                    }
                };
                assert_eq!(v, i);
            }
        },
    )
}

fn crossbeam_channel(n: u64) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    two_threads(
        move || {
            for i in 0..n {
                // Fails (instead of blocking forever) once the receiver is gone.
                tx.send(i).expect("receiver alive");
            }
        },
        move || {
            for i in 0..n {
                assert_eq!(rx.recv_timeout(BOUND).expect("bounded wait"), i);
            }
        },
    )
}

fn std_sync_channel(n: u64) -> Duration {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAPACITY);
    two_threads(
        move || {
            for i in 0..n {
                // Fails (instead of blocking forever) once the receiver is gone.
                tx.send(i).expect("receiver alive");
            }
        },
        move || {
            for i in 0..n {
                assert_eq!(rx.recv_timeout(BOUND).expect("bounded wait"), i);
            }
        },
    )
}

/// One measured case: `n` messages through a queue, returning the wall time.
type Case = fn(u64) -> Duration;

fn spsc_1p1c(c: &mut Criterion) {
    let _ = pin_to(PARENT_CORE);
    let mut g = c.benchmark_group("spsc_1p1c_u64");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
    let cases: [(&str, Case); 6] = [
        ("shmq_core_heap_per_message", shmq_per_message),
        ("shmq_core_heap_batch_256", shmq_batch),
        ("rtrb", rtrb),
        ("crossbeam_ArrayQueue", array_queue),
        ("crossbeam_channel_bounded", crossbeam_channel),
        ("std_sync_channel", std_sync_channel),
    ];
    for (name, f) in cases {
        g.bench_function(name, |b| b.iter_custom(f));
    }
    g.finish();
}

/// `n` messages through an MPMC queue from one thread per `producers`
/// closure to one thread per `consumers` closure (all on two cores; more than
/// two threads are oversubscribed, so indicative only). Producer `k` of `p`
/// sends `k, k + p, k + 2p, ...`; the values received are counted and summed.
fn mpmc_run<P, C>(producers: Vec<P>, consumers: Vec<C>, n: u64) -> Duration
where
    P: FnMut(u64) -> bool + Send,
    C: FnMut() -> Option<u64> + Send,
{
    let p = producers.len() as u64;
    let n = n.max(p);
    let taken = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for (k, mut push) in producers.into_iter().enumerate() {
            s.spawn(move || {
                let _ = pin_to(if k % 2 == 0 { PEER_CORE } else { PARENT_CORE });
                let mut sp = spin("mpmc space");
                let mut v = k as u64;
                while v < n {
                    while !push(v) {
                        sp.step().expect("bounded wait");
                    }
                    v += p;
                }
            });
        }
        for (k, mut pop) in consumers.into_iter().enumerate() {
            let (taken, sum) = (&taken, &sum);
            s.spawn(move || {
                let _ = pin_to(if k % 2 == 0 { PARENT_CORE } else { PEER_CORE });
                let mut sp = spin("mpmc data");
                // Relaxed: counters only; the scope's join orders the final reads.
                while taken.load(Ordering::Relaxed) < n {
                    match pop() {
                        Some(v) => {
                            taken.fetch_add(1, Ordering::Relaxed);
                            sum.fetch_add(v, Ordering::Relaxed);
                        }
                        None => sp.step().expect("bounded wait"),
                    }
                }
            });
        }
    });
    let elapsed = t0.elapsed();
    assert_eq!(taken.into_inner(), n);
    assert_eq!(sum.into_inner(), n * (n - 1) / 2);
    elapsed
}

/// shmq-core's MPMC ring over a heap region, `p` producers and `c` consumers
/// (endpoint entries `0..p` and `p..p + c`), each endpoint owned by its thread.
fn shmq_mpmc(p: usize, c: usize, n: u64) -> Duration {
    let g = Geometry::new_mpmc(CAPACITY as u32, 8, (p + c) as u32).expect("valid geometry");
    let heap = HeapRegion::new(g);
    let producers = (0..p)
        .map(|e| {
            let mut tx = mpmc::Producer::attach(heap.region(), e, NoPeers).expect("attach");
            move |v: u64| match tx.try_push_value(&v) {
                Ok(()) => true,
                Err(mpmc::PushError::Full) => false,
                Err(e) => panic!("push: {e}"),
            }
        })
        .collect();
    let consumers = (p..p + c)
        .map(|e| {
            let mut rx = mpmc::Consumer::attach(heap.region(), e, NoPeers).expect("attach");
            move || match rx.try_pop_value::<u64>() {
                Ok(v) => Some(v),
                Err(mpmc::PopError::Empty) => None,
                Err(e) => panic!("pop: {e}"),
            }
        })
        .collect();
    // Every endpoint is dropped inside `mpmc_run`, before `heap`.
    mpmc_run(producers, consumers, n)
}

fn array_queue_mpmc(p: usize, c: usize, n: u64) -> Duration {
    let q = crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY);
    let q = &q;
    let producers = (0..p).map(|_| move |v| q.push(v).is_ok()).collect();
    let consumers = (0..c).map(|_| move || q.pop()).collect();
    mpmc_run(producers, consumers, n)
}

fn mpmc_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpmc_u64");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
    g.bench_function("shmq_core_mpmc_heap_1p1c", |b| {
        b.iter_custom(|n| shmq_mpmc(1, 1, n))
    });
    g.bench_function("crossbeam_ArrayQueue_1p1c", |b| {
        b.iter_custom(|n| array_queue_mpmc(1, 1, n))
    });
    g.bench_function("shmq_core_mpmc_heap_2p2c_oversubscribed", |b| {
        b.iter_custom(|n| shmq_mpmc(2, 2, n))
    });
    g.bench_function("crossbeam_ArrayQueue_2p2c_oversubscribed", |b| {
        b.iter_custom(|n| array_queue_mpmc(2, 2, n))
    });
    g.finish();
}

/// One `u64` on its own pair of cache lines.
#[repr(align(128))]
struct Line(AtomicU64);

/// The in-process floor: p50 of the round trip of an atomic bounced between
/// two threads pinned to the two cores (two cache lines), in ns.
fn thread_floor() -> f64 {
    const WARM: u64 = 10_000;
    const TOTAL: u64 = WARM + 100_000;
    let (ping, pong) = (Line(AtomicU64::new(0)), Line(AtomicU64::new(0)));
    let (ping, pong) = (&ping.0, &pong.0);
    let mut lat = Latency::new();
    two_threads(
        move || {
            let mut s = spin("floor ping");
            for i in 1..=TOTAL {
                // Acquire/Release: pair with the main thread's Release store
                // of ping and Acquire load of pong.
                while ping.load(Ordering::Acquire) != i {
                    s.step().expect("bounded wait");
                }
                pong.store(i, Ordering::Release);
            }
        },
        || {
            let mut s = spin("floor pong");
            let mut prev = Instant::now();
            for i in 1..=TOTAL {
                // Release/Acquire: pair with the other thread's Acquire load
                // of ping and Release store of pong.
                ping.store(i, Ordering::Release);
                while pong.load(Ordering::Acquire) != i {
                    s.step().expect("bounded wait");
                }
                let now = Instant::now();
                if i > WARM {
                    lat.record((now - prev).as_nanos() as u64);
                }
                prev = now;
            }
        },
    );
    lat.quantile(0.5) as f64
}

criterion_group!(benches, spsc_1p1c, mpmc_group);

/// `criterion_main!`, with the in-process floor measured before and after
/// the groups and, if `SHMQ_FLOOR_FILE` is set, written there as
/// `before_ns after_ns` (read by `xproc --criterion`).
fn main() {
    let _ = pin_to(PARENT_CORE);
    let before = thread_floor();
    benches();
    Criterion::default().configure_from_args().final_summary();
    let after = thread_floor();
    eprintln!(
        "in-process floor (atomic ping-pong RTT p50): {before:.0} ns before, {after:.0} ns after"
    );
    if let Ok(path) = std::env::var("SHMQ_FLOOR_FILE") {
        std::fs::write(&path, format!("{before} {after}\n")).expect("write the floor file");
    }
}
