//! Random operation sequences on the SPSC ring against a `VecDeque` model
//! (the shared [`Op`] enum and [`ModelCheck`], also driven by the `ops` fuzz
//! target), and two-thread exactly-once / FIFO runs.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::test_runner::Config;
use shmq_core::layout::{offset, Geometry, QueueKind};
use shmq_core::spsc::{Consumer, PopError, Producer, PushError};
use shmq_core::testing::{HeapRegion, ModelCheck, Op, Width};
use std::thread;

fn config() -> Config {
    if cfg!(miri) {
        // Miri: few cases, and no failure persistence (isolation forbids the file system).
        Config {
            cases: 6,
            failure_persistence: None,
            ..Config::default()
        }
    } else {
        Config::with_cases(256)
    }
}

fn width() -> impl Strategy<Value = Width> {
    prop::sample::select(Width::ALL.to_vec())
}

/// Lengths around the interesting points: 0, the slot size, one more, far more.
fn len(slot_size: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0),
        Just(slot_size),
        Just(slot_size + 1),
        0..=slot_size + 20,
    ]
}

fn op(slot_size: usize, capacity: usize) -> impl Strategy<Value = Op> {
    let count = 0..=2 * capacity + 1;
    prop_oneof![
        4 => (len(slot_size), any::<u8>()).prop_map(|(len, seed)| Op::Push { len, seed }),
        4 => len(slot_size).prop_map(|buf| Op::Pop { buf }),
        2 => (width(), any::<u8>()).prop_map(|(width, seed)| Op::PushValue { width, seed }),
        2 => width().prop_map(|width| Op::PopValue { width }),
        2 => (width(), count.clone(), any::<u8>())
            .prop_map(|(width, count, seed)| Op::PushSlice { width, count, seed }),
        2 => (width(), count).prop_map(|(width, count)| Op::PopSlice { width, count }),
        1 => Just(Op::ReattachProducer),
        1 => Just(Op::ReattachConsumer),
        1 => (any::<bool>(), any::<bool>())
            .prop_map(|(producer, throughput)| Op::Pace { producer, throughput }),
        1 => any::<bool>().prop_map(|producer| Op::Exact { producer }),
    ]
}

/// A geometry (capacity 2..=16, slot size 0..=24) and a sequence of operations.
fn scenario() -> impl Strategy<Value = (u32, u32, Vec<Op>)> {
    let max_ops = if cfg!(miri) { 40 } else { 300 };
    (
        1u32..=4,
        prop_oneof![Just(0u32), Just(1), Just(4), Just(8), 0u32..=24],
    )
        .prop_flat_map(move |(log_cap, slot)| {
            let cap = 1u32 << log_cap;
            (
                Just(cap),
                Just(slot),
                prop::collection::vec(op(slot as usize, cap as usize), 0..max_ops),
            )
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ops_match_vecdeque_model((capacity, slot_size, ops) in scenario()) {
        let mut check = ModelCheck::new(capacity, slot_size);
        for op in &ops {
            let r = check.apply(op);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
        let r = check.drain();
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        prop_assert!(check.is_empty());
    }

    #[test]
    fn decoded_bytes_match_vecdeque_model(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        // The same path the `ops` fuzz target takes.
        let mut check = ModelCheck::new(4, 8);
        for op in Op::decode_all(&bytes, 100) {
            let r = check.apply(&op);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }
}

#[test]
fn model_check_reports_a_difference() {
    // The checker must be able to fail: change a committed message's length
    // word behind the model's back and the next pop must be reported.
    let mut check = ModelCheck::new(2, 4);
    check.apply(&Op::Push { len: 3, seed: 1 }).unwrap();
    check.heap().scribble(offset::SLOTS + 4, 2); // slot 0's length word
    let err = check.apply(&Op::Pop { buf: 4 }).unwrap_err();
    assert!(err.contains("differs"), "{err}");
}

const SLOT: u32 = 32;

fn messages() -> u64 {
    if cfg!(miri) {
        200
    } else {
        100_000
    }
}

/// Message `seq`: its sequence number, a body whose length varies with `seq`,
/// then a one-byte checksum of everything before it.
fn encode(seq: u64, buf: &mut [u8]) -> usize {
    let body = (seq as usize * 7) % (SLOT as usize - 9);
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in buf[8..8 + body].iter_mut().enumerate() {
        *b = (seq as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    let sum = buf[..8 + body]
        .iter()
        .fold(0u8, |a, &b| a.rotate_left(1) ^ b);
    buf[8 + body] = sum;
    9 + body
}

#[test]
fn two_threads_exactly_once_fifo() {
    let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, 8, SLOT).unwrap());
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    let n = messages();
    thread::scope(|s| {
        s.spawn(move || {
            let mut buf = [0u8; SLOT as usize];
            for seq in 0..n {
                let len = encode(seq, &mut buf);
                loop {
                    match tx.try_push(&buf[..len]) {
                        Ok(()) => break,
                        Err(PushError::Full) => thread::yield_now(),
                        Err(e) => panic!("push {seq}: {e}"),
                    }
                }
            }
        });
        let mut buf = [0u8; SLOT as usize];
        let mut want = [0u8; SLOT as usize];
        for seq in 0..n {
            let len = loop {
                match rx.try_pop(&mut buf) {
                    Ok(len) => break len,
                    Err(PopError::Empty) => thread::yield_now(),
                    Err(e) => panic!("pop {seq}: {e}"),
                }
            };
            // Exactly once and in order: message `seq` arrives as the `seq`-th,
            // with its own length, body and checksum.
            let want_len = encode(seq, &mut want);
            assert_eq!(&buf[..len], &want[..want_len], "message {seq}");
        }
        assert_eq!(rx.try_pop(&mut buf), Err(PopError::Empty));
    });
}

#[test]
fn two_threads_slices_exactly_once_fifo() {
    let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, 8, 8).unwrap());
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    let n = messages();
    thread::scope(|s| {
        s.spawn(move || {
            let mut next = 0u64;
            while next < n {
                // Batches of 1..=5 values, some larger than the ring.
                let k = (next % 5 + 1).min(n - next);
                let batch: Vec<u64> = (next..next + k).map(|v| v ^ 0x5A5A).collect();
                match tx.push_slice(&batch) {
                    Ok(sent) => next += sent as u64,
                    Err(PushError::Full) => thread::yield_now(),
                    Err(e) => panic!("push_slice at {next}: {e}"),
                }
            }
        });
        let mut expected = 0u64;
        let mut out = [0u64; 3];
        while expected < n {
            match rx.pop_slice(&mut out) {
                Ok(got) => {
                    for v in &out[..got] {
                        assert_eq!(*v, expected ^ 0x5A5A, "value {expected}");
                        expected += 1;
                    }
                }
                Err(PopError::Empty) => thread::yield_now(),
                Err(e) => panic!("pop_slice at {expected}: {e}"),
            }
        }
        assert_eq!(rx.pop_slice(&mut out), Err(PopError::Empty));
    });
}
