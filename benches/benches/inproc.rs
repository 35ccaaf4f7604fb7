//! In-process comparison (criterion): one producer thread and one consumer
//! thread, pinned to cores 1 and 0, streaming `u64`s through a bounded queue
//! of 4096 slots.
//!
//! shmq's SPSC ring runs over a heap region (`shmq_core::testing::HeapRegion`)
//! exactly as it would over a mapping; its peers are rtrb, crossbeam's
//! `ArrayQueue`, crossbeam-channel `bounded` and `std::sync::mpsc::sync_channel`.
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

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shmq_benches::proc::{pin_to, Deadline, Spin, PARENT_CORE, PEER_CORE};
use shmq_core::layout::{Geometry, QueueKind};
use shmq_core::spsc::{Consumer, PopError, Producer, PushError};
use shmq_core::testing::HeapRegion;
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
    let mut tx = Producer::attach(heap.region()).expect("attach producer");
    let mut rx = Consumer::attach(heap.region()).expect("attach consumer");
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
    let mut tx = Producer::attach(heap.region()).expect("attach producer");
    let mut rx = Consumer::attach(heap.region()).expect("attach consumer");
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

criterion_group!(benches, spsc_1p1c);
criterion_main!(benches);
