//! Loom models of the dense ring, over the loom twin of the region (loom
//! atomics for every shared word, a loom `UnsafeCell` per record so that a
//! record read before the tail store that publishes it, or overwritten
//! before the head store that releases it, is reported as a race).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p shmq-core --features __testing --release --test loom_dense
//! ```
//!
//! Preemption bound 2, as for the slot ring (`loom_spsc.rs`): a missing
//! Release/Acquire pair on the tail or the head, or a batch published
//! before its last record is written, each shows with at most two forced
//! switches. Capacities are 2, so that three records already wrap and a
//! batch of two starting at position 1 straddles the ring's end.
#![cfg(loom)]

use loom::thread;
use shmq_core::dense::{Consumer, PopError, Producer, PushError};
use shmq_core::layout::{EndpointState, Geometry};
use shmq_core::testing::HeapRegion;

/// Bound on forced preemptions (see the module docs for the reason).
const PREEMPTIONS: usize = 2;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(PREEMPTIONS);
    }
    b.check(f);
}

/// A ring of two 4-byte records, with both ends attached.
fn ends() -> (HeapRegion, Producer, Consumer) {
    let heap = HeapRegion::new(Geometry::new_dense(2, 4).unwrap());
    // SAFETY: no other producer of this region is used concurrently (one per role in this model).
    let tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this model).
    let rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    (heap, tx, rx)
}

/// Record `i`: four bytes `0x10 + i`.
fn rec(i: usize) -> [u8; 4] {
    [0x10 + i as u8; 4]
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

/// Pushes all of `items` in batches, yielding to loom while full.
fn push_all(tx: &mut Producer, items: &[[u8; 4]]) {
    let mut sent = 0;
    while sent < items.len() {
        match tx.push_slice(&items[sent..]) {
            Ok(n) => sent += n,
            Err(PushError::Full) => thread::yield_now(),
            Err(e) => panic!("push_slice failed: {e}"),
        }
    }
}

/// Pops one record, yielding to loom while empty.
fn pop_spin(rx: &mut Consumer) -> [u8; 4] {
    let mut buf = [0u8; 4];
    loop {
        match rx.try_pop(&mut buf) {
            Ok(4) => return buf,
            Err(PopError::Empty) => thread::yield_now(),
            r => panic!("pop failed: {r:?}"),
        }
    }
}

/// Pops `n` records in batches of up to two, yielding while empty.
fn pop_all(rx: &mut Consumer, n: usize) -> Vec<[u8; 4]> {
    let mut got = Vec::new();
    while got.len() < n {
        let mut out = [[0u8; 4]; 2];
        let want = (n - got.len()).min(2);
        match rx.pop_slice(&mut out[..want]) {
            Ok(k) => got.extend_from_slice(&out[..k]),
            Err(PopError::Empty) => thread::yield_now(),
            Err(e) => panic!("pop_slice failed: {e}"),
        }
    }
    got
}

#[test]
fn push_pop_across_wrap() {
    model(|| {
        let (_heap, mut tx, mut rx) = ends();
        let t = thread::spawn(move || {
            for i in 0..3 {
                push_spin(&mut tx, &rec(i));
            }
        });
        for i in 0..3 {
            assert_eq!(pop_spin(&mut rx), rec(i), "record {i}");
        }
        t.join().unwrap();
        assert_eq!(rx.try_pop(&mut [0u8; 4]), Err(PopError::Empty));
    });
}

/// Batches on both sides, the first starting at position 1 so that it
/// straddles the ring's end (slots 1, 0), the next one reusing slot 1.
#[test]
fn batches_across_wrap() {
    model(|| {
        let (_heap, mut tx, mut rx) = ends();
        tx.try_push(&rec(9)).unwrap();
        assert_eq!(pop_spin(&mut rx), rec(9));
        let t = thread::spawn(move || push_all(&mut tx, &[rec(0), rec(1), rec(2)]));
        let got = pop_all(&mut rx, 3);
        t.join().unwrap();
        assert_eq!(got, [rec(0), rec(1), rec(2)]);
        assert_eq!(rx.pop_slice(&mut [[0u8; 4]; 2]), Err(PopError::Empty));
    });
}

/// A batch is published by one store: a concurrent batch pop sees all of
/// it or none of it, never a prefix.
#[test]
fn batch_is_seen_whole_or_not_at_all() {
    model(|| {
        let (_heap, mut tx, mut rx) = ends();
        let t = thread::spawn(move || assert_eq!(tx.push_slice(&[rec(0), rec(1)]), Ok(2)));
        let mut out = [[0u8; 4]; 2];
        match rx.pop_slice(&mut out) {
            Ok(n) => {
                assert_eq!(n, 2, "a batch seen in part");
                assert_eq!(out, [rec(0), rec(1)]);
            }
            Err(PopError::Empty) => {
                t.join().unwrap();
                assert_eq!(pop_all(&mut rx, 2), [rec(0), rec(1)]);
                return;
            }
            Err(e) => panic!("pop_slice failed: {e}"),
        }
        t.join().unwrap();
    });
}

/// A full ring: single and batch pushes find it full until the consumer's
/// head store is visible, then exactly the freed records fit.
#[test]
fn full_ring() {
    model(|| {
        let (_heap, mut tx, mut rx) = ends();
        assert_eq!(tx.push_slice(&[rec(0), rec(1), rec(2)]), Ok(2));
        assert_eq!(tx.try_push(&rec(2)), Err(PushError::Full));
        assert_eq!(tx.push_slice(&[rec(2)]), Err(PushError::Full));
        let t = thread::spawn(move || {
            // Full until the head store becomes visible; one slot is freed.
            push_all(&mut tx, &[rec(2)]);
            assert_eq!(tx.push_slice(&[rec(3)]), Err(PushError::Full));
        });
        assert_eq!(pop_spin(&mut rx), rec(0));
        t.join().unwrap();
        assert_eq!(pop_all(&mut rx, 2), [rec(1), rec(2)]);
        assert_eq!(rx.try_pop(&mut [0u8; 4]), Err(PopError::Empty));
    });
}

/// The producer pushes (one record, then a batch that wraps) and closes;
/// the consumer, finding the ring empty, may conclude only after seeing
/// `Closed` and popping once more: it must have every record by then.
#[test]
fn drain_then_closed() {
    model(|| {
        let (_heap, tx, mut rx) = ends();
        let t = thread::spawn(move || {
            let mut tx = tx;
            push_spin(&mut tx, &rec(0));
            push_all(&mut tx, &[rec(1), rec(2)]);
            drop(tx);
        });
        let mut got = Vec::new();
        let mut out = [[0u8; 4]; 2];
        loop {
            match rx.pop_slice(&mut out) {
                Ok(n) => got.extend_from_slice(&out[..n]),
                Err(PopError::Empty) => {
                    if rx.producer_state() == EndpointState::Closed {
                        // The rule: after seeing Closed, pop until empty once more.
                        while let Ok(n) = rx.pop_slice(&mut out) {
                            got.extend_from_slice(&out[..n]);
                        }
                        break;
                    }
                    thread::yield_now();
                }
                Err(e) => panic!("pop_slice failed: {e}"),
            }
        }
        assert_eq!(
            got,
            [rec(0), rec(1), rec(2)],
            "everything pushed before close"
        );
        t.join().unwrap();
    });
}
