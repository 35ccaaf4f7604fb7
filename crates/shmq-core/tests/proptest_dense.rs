//! Random operation sequences on the dense ring against a `VecDeque` model
//! (the shared [`Op`] enum with [`DenseCheck`], also driven by the
//! `dense_ops` fuzz target), including pushes and pops of the wrong size,
//! and two-thread exactly-once / FIFO runs of single and batch calls.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::test_runner::Config;
use shmq_core::dense::{Consumer, PopError, Producer, PushError};
use shmq_core::layout::{offset, Geometry};
use shmq_core::testing::{DenseCheck, HeapRegion, Op, Width};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

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

/// Sizes around the record size: one less, exactly, one more, anything.
fn size(record: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(record - 1),
        Just(record),
        Just(record),
        Just(record + 1),
        0..=record + 20,
    ]
}

fn op(record: usize, capacity: usize) -> impl Strategy<Value = Op> {
    let count = 0..=2 * capacity + 1;
    prop_oneof![
        4 => (size(record), any::<u8>()).prop_map(|(len, seed)| Op::Push { len, seed }),
        4 => size(record).prop_map(|buf| Op::Pop { buf }),
        2 => (width(), any::<u8>()).prop_map(|(width, seed)| Op::PushValue { width, seed }),
        2 => width().prop_map(|width| Op::PopValue { width }),
        3 => (width(), count.clone(), any::<u8>())
            .prop_map(|(width, count, seed)| Op::PushSlice { width, count, seed }),
        3 => (width(), count).prop_map(|(width, count)| Op::PopSlice { width, count }),
        2 => ((0..=3 * record + 1), any::<u8>())
            .prop_map(|(len, seed)| Op::PushRecords { len, seed }),
        2 => (0..=3 * record + 1).prop_map(|buf| Op::PopRecords { buf }),
        1 => Just(Op::ReattachProducer),
        1 => Just(Op::ReattachConsumer),
    ]
}

/// A geometry (capacity 2..=16; record size mostly one of the [`Width`]s, so
/// that the typed and batch calls often fit) and a sequence of operations.
fn scenario() -> impl Strategy<Value = (u32, u32, Vec<Op>)> {
    let max_ops = if cfg!(miri) { 40 } else { 300 };
    (
        1u32..=4,
        prop_oneof![Just(1u32), Just(4), Just(8), Just(16), 1u32..=24],
    )
        .prop_flat_map(move |(log_cap, record)| {
            let cap = 1u32 << log_cap;
            (
                Just(cap),
                Just(record),
                prop::collection::vec(op(record as usize, cap as usize), 0..max_ops),
            )
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ops_match_vecdeque_model((capacity, record, ops) in scenario()) {
        let mut check = DenseCheck::new(capacity, record);
        for op in &ops {
            let r = check.apply(op);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
        let r = check.drain();
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        prop_assert!(check.is_empty());
    }

    #[test]
    fn decoded_bytes_match_vecdeque_model(
        record in prop_oneof![Just(4u32), Just(8), 1u32..=20],
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        // The same path the `dense_ops` fuzz target takes.
        let mut check = DenseCheck::new(4, record);
        for op in Op::decode_all(&bytes, 100) {
            let r = check.apply(&op);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }
}

#[test]
fn model_check_reports_a_difference() {
    // The checker must be able to fail: change a committed record behind
    // the model's back and the next pop must be reported.
    let mut check = DenseCheck::new(2, 8);
    check.apply(&Op::Push { len: 8, seed: 1 }).unwrap();
    check.heap().scribble_index(offset::SLOTS, 0x0123_4567);
    let err = check.apply(&Op::Pop { buf: 8 }).unwrap_err();
    assert!(err.contains("record differs"), "{err}");
    // And a count it does not expect: a forged tail one record ahead.
    let mut check = DenseCheck::new(2, 8);
    check.heap().scribble_index(offset::TAIL, 1);
    let err = check.apply(&Op::Pop { buf: 8 }).unwrap_err();
    assert!(err.contains("result differs"), "{err}");
}

#[test]
fn wrong_sizes_change_nothing() {
    // Deterministic companions of the model runs: every refused size leaves
    // the queued record where it was.
    let mut check = DenseCheck::new(2, 12);
    let ops = [
        Op::Push { len: 12, seed: 3 },
        Op::Push { len: 11, seed: 0 },
        Op::Push { len: 13, seed: 0 },
        Op::PushValue {
            width: Width::W16,
            seed: 0,
        },
        Op::PushSlice {
            width: Width::W8,
            count: 2,
            seed: 0,
        },
        Op::Pop { buf: 11 },
        Op::PopValue { width: Width::W8 },
        Op::PopSlice {
            width: Width::W16,
            count: 1,
        },
        Op::Pop { buf: 40 },
        Op::Pop { buf: 12 },
    ];
    for op in &ops {
        check.apply(op).unwrap();
    }
    assert!(check.is_empty());
}

fn messages() -> u64 {
    if cfg!(miri) {
        200
    } else {
        100_000
    }
}

/// A record of 24 bytes: a sequence number, its complement, and a check
/// word, so a torn or misplaced record is seen.
type Rec = [u64; 3];

fn rec(seq: u64) -> Rec {
    [seq, !seq, seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)]
}

/// Bound of a two-thread run: generous, only there so that nothing hangs.
const BOUND: Duration = Duration::from_secs(120);

/// Sets its flag when dropped during a panic: the other thread then stops.
struct OnPanic<'a>(&'a AtomicBool);

impl Drop for OnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Fails if the other thread has failed or the deadline has passed.
fn stop_if_stuck(failed: &AtomicBool, deadline: Instant, what: &str, at: u64) {
    assert!(
        !failed.load(Ordering::Relaxed),
        "{what} at {at}: the other thread failed"
    );
    assert!(
        Instant::now() < deadline,
        "{what} at {at}: no progress before the deadline"
    );
}

/// One producer thread alternating single pushes and batches (some larger
/// than the ring), one consumer alternating single pops and batches: every
/// record arrives once, in order, intact. Each side gives up (fails) when
/// the other has failed or at a deadline, so neither spins forever.
#[test]
fn two_threads_exactly_once_fifo() {
    let heap = HeapRegion::new(Geometry::new_dense(8, 24).unwrap());
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    let n = messages();
    let failed = AtomicBool::new(false);
    let deadline = Instant::now() + BOUND;
    thread::scope(|s| {
        let failed = &failed;
        s.spawn(move || {
            let _failed = OnPanic(failed);
            let mut next = 0u64;
            while next < n {
                stop_if_stuck(failed, deadline, "push", next);
                let r = if next % 3 == 0 {
                    tx.try_push_value(&rec(next)).map(|()| 1)
                } else {
                    // Batches of 1..=11 records, some larger than the ring.
                    let k = (next % 11 + 1).min(n - next);
                    let batch: Vec<Rec> = (next..next + k).map(rec).collect();
                    tx.push_slice(&batch)
                };
                match r {
                    Ok(sent) => next += sent as u64,
                    Err(PushError::Full) => thread::yield_now(),
                    Err(e) => panic!("push at {next}: {e}"),
                }
            }
        });
        let _failed = OnPanic(failed);
        let mut expected = 0u64;
        let mut out = [[0u64; 3]; 5];
        let mut buf = [0u8; 32];
        while expected < n {
            stop_if_stuck(failed, deadline, "pop", expected);
            let r = if expected % 2 == 0 {
                rx.pop_slice(&mut out)
            } else {
                rx.try_pop(&mut buf).map(|len| {
                    assert_eq!(len, 24);
                    out[0] = bytemuck::pod_read_unaligned(&buf[..24]);
                    1
                })
            };
            match r {
                Ok(got) => {
                    for v in &out[..got] {
                        assert_eq!(*v, rec(expected), "record {expected}");
                        expected += 1;
                    }
                }
                Err(PopError::Empty) => thread::yield_now(),
                Err(e) => panic!("pop at {expected}: {e}"),
            }
        }
        assert_eq!(rx.pop_slice(&mut out), Err(PopError::Empty));
    });
}
