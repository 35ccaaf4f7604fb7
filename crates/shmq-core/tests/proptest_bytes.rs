//! Random operation sequences on the byte ring against a `VecDeque<Vec<u8>>`
//! model (the shared [`BytesOp`] and [`BytesCheck`], also driven by the
//! `bytes` fuzz target), and two-thread exactly-once / FIFO runs with random
//! sizes, copies and loans.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::test_runner::Config;
use shmq_core::bytes::{Consumer, PopError, Producer, PushError};
use shmq_core::layout::Geometry;
use shmq_core::testing::{BytesCheck, BytesOp, HeapRegion};
use std::thread;

fn config() -> Config {
    if cfg!(miri) {
        Config {
            cases: 6,
            failure_persistence: None,
            ..Config::default()
        }
    } else {
        Config::with_cases(256)
    }
}

/// Lengths around the interesting points: 0, max, max + 1, anything.
fn len(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![Just(0), Just(max), Just(max + 1), 0..=max + 9]
}

fn op(max: usize) -> impl Strategy<Value = BytesOp> {
    prop_oneof![
        5 => (len(max), any::<u8>()).prop_map(|(len, seed)| BytesOp::Push { len, seed }),
        4 => len(max).prop_map(|buf| BytesOp::Pop { buf }),
        3 => (len(max), prop::option::of(len(max)), any::<u8>())
            .prop_map(|(len, commit, seed)| BytesOp::Loan { len, commit, seed }),
        3 => (0..=max + 2).prop_map(|offset| BytesOp::RecvWith { offset }),
        1 => any::<u32>().prop_map(|value| BytesOp::PushValue { value }),
        1 => Just(BytesOp::PopValue),
        1 => (0..12usize, any::<u8>()).prop_map(|(count, seed)| BytesOp::PushSlice { count, seed }),
        1 => (0..12usize).prop_map(|count| BytesOp::PopSlice { count }),
        1 => Just(BytesOp::ReattachProducer),
        1 => Just(BytesOp::ReattachConsumer),
    ]
}

/// A geometry (capacity 64..=512 bytes, max message up to its limit) and
/// a sequence of operations.
fn scenario() -> impl Strategy<Value = (u32, u32, Vec<BytesOp>)> {
    let max_ops = if cfg!(miri) { 40 } else { 300 };
    (6u32..=9)
        .prop_flat_map(|log| {
            let cap = 1u32 << log;
            let limit = cap / 2 - 16;
            (Just(cap), prop_oneof![Just(0u32), Just(limit), 0..=limit])
        })
        .prop_flat_map(move |(cap, max)| {
            (
                Just(cap),
                Just(max),
                prop::collection::vec(op(max as usize), 0..max_ops),
            )
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ops_match_vecdeque_model((capacity, max, ops) in scenario()) {
        let mut check = BytesCheck::new(capacity, max);
        for op in &ops {
            let r = check.apply(op);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
        let r = check.drain();
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn threads_deliver_each_message_once_in_order(
        sizes in prop::collection::vec(0usize..=48, 1..if cfg!(miri) { 12 } else { 400 }),
        loans in any::<u64>(),
    ) {
        run_threads(&sizes, loans);
    }
}

/// Content of message `i` of `len` bytes.
fn content(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i * 31 + k * 7) as u8).collect()
}

/// One producer thread (copies and loans, as the bits of `loans` say) and
/// one consumer thread (copies and in-place views): every message arrives
/// once, in order, intact.
fn run_threads(sizes: &[usize], loans: u64) {
    let heap = HeapRegion::new(Geometry::new_bytes(128, 48).unwrap());
    // SAFETY: one producer and one consumer, each used by one thread.
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: as above.
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    let want: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| content(i, n))
        .collect();
    let send = want.clone();
    let mut producer = Some(thread::spawn(move || {
        for (i, msg) in send.iter().enumerate() {
            loop {
                let r = if loans >> (i % 64) & 1 == 1 {
                    tx.loan((msg.len() + 3).min(48)).map(|mut loan| {
                        loan.copy_from_slice(msg);
                        loan.commit(msg.len());
                    })
                } else {
                    tx.try_push(msg)
                };
                match r {
                    Ok(()) => break,
                    Err(PushError::Full) => thread::yield_now(),
                    Err(e) => panic!("push: {e}"),
                }
            }
        }
    }));
    let mut got = Vec::with_capacity(want.len());
    let mut buf = [0u8; 48];
    while got.len() < want.len() {
        // Checked before the pop: once the producer is joined (which orders
        // its pushes before our pops), `Empty` means it stopped short.
        let joined = producer.is_none();
        let r = if got.len() % 2 == 0 {
            rx.try_pop(&mut buf).map(|n| buf[..n].to_vec())
        } else {
            rx.try_recv_with(|v| {
                let mut m = vec![0u8; v.len()];
                v.copy_to_slice(&mut m);
                m
            })
        };
        match r {
            Ok(m) => got.push(m),
            Err(PopError::Empty) if !joined => {
                if producer.as_ref().is_some_and(|p| p.is_finished()) {
                    producer.take().unwrap().join().unwrap();
                } else {
                    thread::yield_now();
                }
            }
            Err(e) => panic!("pop after {} messages: {e}", got.len()),
        }
    }
    if let Some(p) = producer {
        p.join().unwrap();
    }
    assert_eq!(got, want);
    assert_eq!(rx.try_pop(&mut buf), Err(PopError::Empty));
}

#[test]
fn wrap_around_with_padding_in_every_lap() {
    // 40-byte records in a 64-byte ring: every other record pads.
    let heap = HeapRegion::new(Geometry::new_bytes(64, 16).unwrap());
    // SAFETY: one producer and one consumer of this region in this test.
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: as above.
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    let rounds = if cfg!(miri) { 20 } else { 1000 };
    let mut buf = [0u8; 16];
    for i in 0..rounds {
        let len = i % 17;
        let msg = content(i, len);
        tx.try_push(&msg).unwrap();
        assert_eq!(rx.try_pop(&mut buf), Ok(len));
        assert_eq!(&buf[..len], &msg[..]);
    }
}

#[test]
fn largest_message_always_fits_an_empty_ring() {
    let heap = HeapRegion::new(Geometry::new_bytes(128, 48).unwrap());
    // SAFETY: one producer and one consumer of this region in this test.
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: as above.
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    let mut buf = [0u8; 48];
    // Every starting offset of the ring, then the largest message.
    for shift in 0..16 {
        for _ in 0..shift {
            tx.try_push(&[]).unwrap();
            rx.try_pop(&mut buf).unwrap();
        }
        tx.try_push(&[9; 48]).unwrap();
        assert_eq!(rx.try_pop(&mut buf), Ok(48));
    }
}
