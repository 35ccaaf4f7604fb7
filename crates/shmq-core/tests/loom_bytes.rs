//! Loom models of the byte-record ring, over the loom twin of the region
//! (one loom atomic per data word: headers and payload bytes alike, as in
//! production, where every access to the data area is an index-width atomic).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p shmq-core --features __testing --release --test loom_bytes
//! ```
//!
//! Preemption bound 2, as for the slot ring (`loom_spsc.rs`): a missing
//! Release/Acquire pair on a header or the head, a terminator written after
//! its record's header, or a padding record published before the lap start
//! is cleared, each shows with at most two forced switches. The ring is the
//! smallest allowed (64 bytes), so a few messages already pad and wrap.
#![cfg(loom)]

use loom::thread;
use shmq_core::bytes::{Consumer, PopError, Producer, PushError};
use shmq_core::layout::Geometry;
use shmq_core::testing::HeapRegion;

const PREEMPTIONS: usize = 2;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(PREEMPTIONS);
    }
    b.check(f);
}

/// A 64-byte ring, messages up to 16 bytes (records of 8..=24 bytes).
fn heap() -> HeapRegion {
    HeapRegion::new(Geometry::new_bytes(64, 16).unwrap())
}

/// Message `i` of `len` bytes.
fn msg(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (0x10 * (i + 1) + k) as u8).collect()
}

fn push_spin(tx: &mut Producer, m: &[u8]) {
    loop {
        match tx.try_push(m) {
            Ok(()) => return,
            Err(PushError::Full) => thread::yield_now(),
            Err(e) => panic!("push failed: {e}"),
        }
    }
}

fn loan_spin(tx: &mut Producer, m: &[u8]) {
    loop {
        match tx.loan(m.len()) {
            Ok(mut loan) => {
                assert_eq!(loan.copy_from_slice(m), m.len());
                loan.commit(m.len());
                return;
            }
            Err(PushError::Full) => thread::yield_now(),
            Err(e) => panic!("loan failed: {e}"),
        }
    }
}

fn pop_spin(rx: &mut Consumer) -> Vec<u8> {
    let mut buf = [0u8; 16];
    loop {
        match rx.try_pop(&mut buf) {
            Ok(n) => return buf[..n].to_vec(),
            Err(PopError::Empty) => thread::yield_now(),
            Err(e) => panic!("pop failed: {e}"),
        }
    }
}

fn view_spin(rx: &mut Consumer) -> Vec<u8> {
    loop {
        match rx.try_recv_with(|v| {
            let mut m = vec![0u8; v.len()];
            v.copy_to_slice(&mut m);
            m
        }) {
            Ok(m) => return m,
            Err(PopError::Empty) => thread::yield_now(),
            Err(e) => panic!("recv_with failed: {e}"),
        }
    }
}

/// Records at 0 (24 bytes) and 24 (24 bytes); the third (24 bytes) does not
/// fit before 64: a 16-byte padding record at 48, the record at 64 (offset
/// 0), which needs the first record released.
#[test]
fn records_wrap_through_a_padding_record() {
    model(|| {
        let heap = heap();
        // SAFETY: one producer and one consumer of this region in this model.
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: as above.
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let t = thread::spawn(move || {
            push_spin(&mut tx, &msg(0, 16));
            loan_spin(&mut tx, &msg(1, 13));
            push_spin(&mut tx, &msg(2, 9));
        });
        assert_eq!(pop_spin(&mut rx), msg(0, 16));
        assert_eq!(view_spin(&mut rx), msg(1, 13));
        assert_eq!(pop_spin(&mut rx), msg(2, 9));
        t.join().unwrap();
        assert_eq!(rx.try_pop(&mut [0u8; 16]), Err(PopError::Empty));
    });
}

/// Small records behind a consumer on the producer's heels: each header
/// the consumer reaches is the previous record's terminator or the record.
#[test]
fn consumer_on_the_heels_sees_terminators() {
    model(|| {
        let heap = heap();
        // SAFETY: one producer and one consumer of this region in this model.
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: as above.
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let t = thread::spawn(move || {
            for i in 0..3 {
                push_spin(&mut tx, &msg(i, i * 5));
            }
        });
        for i in 0..3 {
            assert_eq!(pop_spin(&mut rx), msg(i, i * 5), "message {i}");
        }
        t.join().unwrap();
    });
}

/// A producer drops an uncommitted loan and detaches; its successor
/// attaches (walking the published records while the consumer reads them)
/// and continues: nothing lost, nothing duplicated, the loan absent.
#[test]
fn successor_producer_resumes_after_committed_records() {
    model(|| {
        let heap = heap();
        let region = heap.region();
        // SAFETY: one consumer of this region in this model.
        let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let t = thread::spawn(move || {
            {
                // SAFETY: the only producer until it is dropped below.
                let mut tx = unsafe { Producer::attach(region.clone()) }.unwrap();
                push_spin(&mut tx, &msg(0, 16));
                let mut loan = tx.loan(16).unwrap();
                loan.copy_from_slice(&msg(9, 16));
                // The loan ends here, uncommitted.
            }
            // SAFETY: the previous producer is gone.
            let mut tx = unsafe { Producer::attach(region) }.unwrap();
            push_spin(&mut tx, &msg(1, 16));
            push_spin(&mut tx, &msg(2, 3));
        });
        assert_eq!(pop_spin(&mut rx), msg(0, 16));
        assert_eq!(pop_spin(&mut rx), msg(1, 16));
        assert_eq!(pop_spin(&mut rx), msg(2, 3));
        t.join().unwrap();
    });
}
