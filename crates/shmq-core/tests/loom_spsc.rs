//! Loom models of the SPSC ring, run over the loom twin of the region (loom
//! atomics for every shared word, a loom `UnsafeCell` per payload so the
//! payload hand-off itself is checked).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p shmq-core --features __testing --release --test loom_spsc
//! ```
//!
//! Preemption bound: 2 (set in each model as well, so the bound holds without
//! the environment variable). Every interleaving bug we know of in a
//! two-party ring (a stale cached index, a missing Release/Acquire pair on a
//! stamp or the head, a batch whose stamps become visible before its payloads)
//! needs at most two forced switches to show; a bound of 3 makes the wrap and
//! takeover models take minutes instead of seconds. Capacities are 2 so that
//! three messages already wrap.
#![cfg(loom)]

use loom::thread;
use shmq_core::layout::{EndpointState, Geometry, QueueKind};
use shmq_core::spsc::{Consumer, Pacing, PopError, Producer, PushError};
use shmq_core::testing::{crashed_push, CrashPoint, HeapRegion};

/// Bound on forced preemptions (see the module docs for the reason).
const PREEMPTIONS: usize = 2;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(PREEMPTIONS);
    }
    b.check(f);
}

fn heap(capacity: u32, slot_size: u32) -> HeapRegion {
    HeapRegion::new(Geometry::new(QueueKind::Spsc, capacity, slot_size).unwrap())
}

/// Message `i`: `i + 1` bytes (so lengths differ), each byte `0x10 + i`.
fn msg(i: usize) -> Vec<u8> {
    vec![0x10 + i as u8; i % 3 + 1]
}

/// Pushes, yielding to loom while full.
fn push_spin(tx: &mut Producer, m: &[u8]) {
    loop {
        match tx.try_push(m) {
            Ok(()) => return,
            Err(PushError::Full) => thread::yield_now(),
            Err(e) => panic!("push failed: {e}"),
        }
    }
}

/// Pops one message, yielding to loom while empty.
fn pop_spin(rx: &mut Consumer) -> Vec<u8> {
    let mut buf = [0u8; 8];
    loop {
        match rx.try_pop(&mut buf) {
            Ok(n) => return buf[..n].to_vec(),
            Err(PopError::Empty) => thread::yield_now(),
            Err(e) => panic!("pop failed: {e}"),
        }
    }
}

#[test]
fn push_pop_across_wrap() {
    model(|| {
        let heap = heap(2, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let t = thread::spawn(move || {
            for i in 0..3 {
                push_spin(&mut tx, &msg(i));
            }
        });
        for i in 0..3 {
            assert_eq!(pop_spin(&mut rx), msg(i), "message {i}");
        }
        t.join().unwrap();
        assert_eq!(rx.try_pop(&mut [0u8; 8]), Err(PopError::Empty));
    });
}

#[test]
fn full_then_push_after_pop() {
    model(|| {
        let heap = heap(2, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        tx.try_push(&msg(0)).unwrap();
        tx.try_push(&msg(1)).unwrap();
        assert_eq!(tx.try_push(&msg(2)), Err(PushError::Full));
        let t = thread::spawn(move || {
            // Full until the consumer's head store becomes visible.
            push_spin(&mut tx, &msg(2));
            assert_eq!(tx.try_push(&msg(3)), Err(PushError::Full));
        });
        assert_eq!(pop_spin(&mut rx), msg(0));
        t.join().unwrap();
        assert_eq!(pop_spin(&mut rx), msg(1));
        assert_eq!(pop_spin(&mut rx), msg(2));
        assert_eq!(rx.try_pop(&mut [0u8; 8]), Err(PopError::Empty));
    });
}

#[test]
fn empty_until_published() {
    model(|| {
        let heap = heap(2, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        assert_eq!(rx.try_pop(&mut [0u8; 8]), Err(PopError::Empty));
        let t = thread::spawn(move || tx.try_push(&msg(1)).unwrap());
        // Concurrently: either still empty, or the whole message.
        let mut buf = [0u8; 8];
        let first = rx.try_pop(&mut buf).map(|n| buf[..n].to_vec());
        t.join().unwrap();
        match first {
            Ok(m) => assert_eq!(m, msg(1)),
            Err(PopError::Empty) => assert_eq!(pop_spin(&mut rx), msg(1)),
            Err(e) => panic!("unexpected {e}"),
        }
        assert_eq!(rx.try_pop(&mut buf), Err(PopError::Empty));
    });
}

#[test]
fn slice_batch_publish() {
    model(|| {
        let heap = heap(2, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let t = thread::spawn(move || {
            let items = [0x0101_0101u32, 0x0202_0202, 0x0303_0303];
            let mut sent = 0;
            while sent < items.len() {
                match tx.push_slice(&items[sent..]) {
                    Ok(n) => sent += n,
                    Err(PushError::Full) => thread::yield_now(),
                    Err(e) => panic!("push_slice failed: {e}"),
                }
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            let mut out = [0u32; 2];
            match rx.pop_slice(&mut out) {
                Ok(n) => got.extend_from_slice(&out[..n]),
                Err(PopError::Empty) => thread::yield_now(),
                Err(e) => panic!("pop_slice failed: {e}"),
            }
        }
        t.join().unwrap();
        assert_eq!(got, [0x0101_0101, 0x0202_0202, 0x0303_0303]);
    });
}

#[test]
fn drain_then_closed() {
    model(|| {
        let heap = heap(2, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let t = thread::spawn(move || {
            let mut tx = tx;
            tx.try_push(&msg(0)).unwrap();
            tx.try_push(&msg(1)).unwrap();
            drop(tx);
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 8];
        loop {
            match rx.try_pop(&mut buf) {
                Ok(n) => got.push(buf[..n].to_vec()),
                Err(PopError::Empty) => {
                    if rx.producer_state() == EndpointState::Closed {
                        // The rule: after seeing Closed, pop until empty once more.
                        while let Ok(n) = rx.try_pop(&mut buf) {
                            got.push(buf[..n].to_vec());
                        }
                        break;
                    }
                    thread::yield_now();
                }
                Err(e) => panic!("pop failed: {e}"),
            }
        }
        assert_eq!(got, [msg(0), msg(1)], "everything pushed before close");
        t.join().unwrap();
    });
}

/// A producer pushes `before` messages and dies (no Drop), at `crash` inside
/// the next push if given; after it is gone (the platform crate's role lock
/// makes that a happens-before edge, modelled by `join`) a new producer
/// attaches and pushes the rest while the consumer reads throughout.
fn takeover(before: usize, crash: Option<CrashPoint>) {
    model(move || {
        let heap = heap(2, 4);
        let region = heap.region();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let dying = {
            let region = heap.region();
            thread::spawn(move || {
                // SAFETY: no other producer of this region is used concurrently (one per role in this test).
                let mut tx = unsafe { Producer::attach(region.clone()) }.unwrap();
                for i in 0..before {
                    push_spin(&mut tx, &msg(i));
                }
                std::mem::forget(tx); // killed: no Drop, state stays Attached
                if let Some(point) = crash {
                    // SAFETY: the ring has room (capacity 2, before <= 1), so the
                    // slot is free, and the producer above is gone (forgotten).
                    unsafe { crashed_push(&region, before as u64, &msg(before), point) };
                }
            })
        };
        // The consumer reads while the first producer runs and dies.
        let mut got = Vec::new();
        let mut buf = [0u8; 8];
        if let Ok(n) = rx.try_pop(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        dying.join().unwrap();
        let committed = before + usize::from(crash == Some(CrashPoint::BeforeTail));
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(region) }.unwrap();
        let successor = thread::spawn(move || {
            for i in committed..3 {
                push_spin(&mut tx, &msg(i));
            }
        });
        while got.len() < 3 {
            got.push(pop_spin(&mut rx));
        }
        successor.join().unwrap();
        // Nothing committed lost, nothing duplicated, FIFO.
        assert_eq!(got, [msg(0), msg(1), msg(2)]);
        assert_eq!(rx.try_pop(&mut buf), Err(PopError::Empty));
    });
}

#[test]
fn takeover_after_clean_pushes() {
    takeover(1, None);
}

#[test]
fn takeover_crash_before_stamp() {
    takeover(1, Some(CrashPoint::BeforeStamp));
}

#[test]
fn takeover_crash_before_tail() {
    takeover(1, Some(CrashPoint::BeforeTail));
}

#[test]
fn takeover_crash_in_first_push() {
    takeover(0, Some(CrashPoint::BeforeTail));
}

/// Both ends in `Pacing::Throughput` (B-Queue batching; capacity 4, so
/// batches of up to 2): the consumer's probe a batch ahead and its takes of
/// the predicted run, and the producer's batched refills across a wrap,
/// deliver every message once, in order, with its bytes (the payload cells
/// check that a predicted slot is never read before its payload is written).
#[test]
fn throughput_pacing_across_wrap() {
    model(|| {
        let heap = heap(4, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        tx.set_pacing(Pacing::Throughput);
        rx.set_pacing(Pacing::Throughput);
        let t = thread::spawn(move || {
            for i in 0..5 {
                push_spin(&mut tx, &msg(i));
            }
        });
        for i in 0..5 {
            assert_eq!(pop_spin(&mut rx), msg(i), "message {i}");
        }
        t.join().unwrap();
        rx.exact();
        assert_eq!(rx.try_pop(&mut [0u8; 8]), Err(PopError::Empty));
    });
}

/// A throughput-paced consumer that sees the producer closed drains
/// everything with exact pops (the waiting loop's rule: `exact()` before the
/// retry), whatever its probe distance was.
#[test]
fn throughput_pacing_drain_then_closed() {
    model(|| {
        let heap = heap(4, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        rx.set_pacing(Pacing::Throughput);
        let t = thread::spawn(move || {
            let mut tx = tx;
            for i in 0..3 {
                tx.try_push(&msg(i)).unwrap();
            }
            drop(tx);
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 8];
        loop {
            match rx.try_pop(&mut buf) {
                Ok(n) => got.push(buf[..n].to_vec()),
                Err(PopError::Empty) => {
                    if rx.producer_state() == EndpointState::Closed {
                        loop {
                            rx.exact();
                            match rx.try_pop(&mut buf) {
                                Ok(n) => got.push(buf[..n].to_vec()),
                                Err(PopError::Empty) => break,
                                Err(e) => panic!("pop failed: {e}"),
                            }
                        }
                        break;
                    }
                    thread::yield_now();
                }
                Err(e) => panic!("pop failed: {e}"),
            }
        }
        assert_eq!(
            got,
            [msg(0), msg(1), msg(2)],
            "everything pushed before close"
        );
        t.join().unwrap();
    });
}

/// A throughput-paced producer on a full ring: an exact push after the
/// consumer freed a slot succeeds (the waiting loop's re-check before it
/// parks), and soft `Full`s never lose or reorder a message.
#[test]
fn throughput_pacing_full_ring() {
    model(|| {
        let heap = heap(4, 4);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        tx.set_pacing(Pacing::Throughput);
        for i in 0..4 {
            tx.try_push(&msg(i)).unwrap();
        }
        let t = thread::spawn(move || {
            assert_eq!(pop_spin(&mut rx), msg(0));
            rx
        });
        // Full until the head store is visible; exact, so one free slot is enough.
        loop {
            tx.exact();
            match tx.try_push(&msg(4)) {
                Ok(()) => break,
                Err(PushError::Full) => thread::yield_now(),
                Err(e) => panic!("push failed: {e}"),
            }
        }
        let mut rx = t.join().unwrap();
        for i in 1..5 {
            assert_eq!(pop_spin(&mut rx), msg(i), "message {i}");
        }
    });
}
