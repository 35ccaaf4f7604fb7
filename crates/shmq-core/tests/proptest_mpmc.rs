//! The MPMC ring against a `VecDeque` model (single thread, several
//! endpoints), and multi-threaded runs checking exactly-once delivery and
//! per-producer FIFO order. Loop counts shrink under Miri.
#![cfg(not(loom))]

use proptest::prelude::*;
use shmq_core::layout::Geometry;
use shmq_core::mpmc::{Consumer, PopError, Producer, PushError, Stats};
use shmq_core::testing::{HeapRegion, NoPeers};
use std::collections::VecDeque;
use std::thread;

const SLOT: u32 = 12;

#[derive(Clone, Debug)]
enum Op {
    Push { who: usize, len: usize, seed: u8 },
    Pop { who: usize, buf: usize },
    PushSlice { who: usize, count: usize, seed: u8 },
    PopSlice { who: usize, count: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 0..=14usize, any::<u8>()).prop_map(|(who, len, seed)| Op::Push {
            who,
            len,
            seed
        }),
        (0..2usize, 0..=14usize).prop_map(|(who, buf)| Op::Pop { who, buf }),
        (0..2usize, 0..6usize, any::<u8>()).prop_map(|(who, count, seed)| Op::PushSlice {
            who,
            count,
            seed
        }),
        (0..2usize, 0..6usize).prop_map(|(who, count)| Op::PopSlice { who, count }),
    ]
}

fn msg(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn run(capacity: u32, ops: &[Op]) -> Result<(), TestCaseError> {
    let heap = HeapRegion::new(Geometry::new_mpmc(capacity, SLOT, 4).unwrap());
    let mut tx = [
        Producer::attach(heap.region(), 0, NoPeers).unwrap(),
        Producer::attach(heap.region(), 1, NoPeers).unwrap(),
    ];
    let mut rx = [
        Consumer::attach(heap.region(), 2, NoPeers).unwrap(),
        Consumer::attach(heap.region(), 3, NoPeers).unwrap(),
    ];
    let mut model: VecDeque<Vec<u8>> = VecDeque::new();
    let cap = capacity as usize;
    for op in ops {
        match *op {
            Op::Push { who, len, seed } => {
                let m = msg(len, seed);
                let r = tx[who].try_push(&m);
                if len > SLOT as usize {
                    prop_assert!(
                        matches!(r, Err(PushError::TooLarge { len: _, max: _ })),
                        "too large"
                    );
                } else if model.len() == cap {
                    prop_assert_eq!(r, Err(PushError::Full));
                } else {
                    prop_assert_eq!(r, Ok(()));
                    model.push_back(m);
                }
            }
            Op::Pop { who, buf } => {
                let mut b = vec![0u8; buf];
                let r = rx[who].try_pop(&mut b);
                match model.front() {
                    None => prop_assert_eq!(r, Err(PopError::Empty)),
                    Some(m) if m.len() > buf => {
                        prop_assert_eq!(
                            r,
                            Err(PopError::Size {
                                len: m.len(),
                                capacity: buf
                            })
                        )
                    }
                    Some(_) => {
                        let m = model.pop_front().unwrap();
                        prop_assert_eq!(r, Ok(m.len()));
                        prop_assert_eq!(&b[..m.len()], &m[..]);
                    }
                }
            }
            Op::PushSlice { who, count, seed } => {
                let items: Vec<[u8; 4]> = (0..count)
                    .map(|i| [seed.wrapping_add(i as u8); 4])
                    .collect();
                let r = tx[who].push_slice(&items);
                let fits = count.min(cap - model.len());
                if count == 0 {
                    prop_assert_eq!(r, Ok(0));
                } else if fits == 0 {
                    prop_assert_eq!(r, Err(PushError::Full));
                } else {
                    prop_assert_eq!(r, Ok(fits));
                    model.extend(items[..fits].iter().map(|v| v.to_vec()));
                }
            }
            Op::PopSlice { who, count } => {
                let mut out = vec![[0u8; 4]; count];
                let r = rx[who].pop_slice(&mut out);
                let ready = model
                    .iter()
                    .take(count)
                    .take_while(|m| m.len() == 4)
                    .count();
                if count == 0 {
                    prop_assert_eq!(r, Ok(0));
                } else if model.is_empty() {
                    prop_assert_eq!(r, Err(PopError::Empty));
                } else if ready == 0 {
                    let len = model.front().unwrap().len();
                    prop_assert_eq!(r, Err(PopError::Size { len, capacity: 4 }));
                } else {
                    prop_assert_eq!(r, Ok(ready));
                    for v in &out[..ready] {
                        prop_assert_eq!(&v[..], &model.pop_front().unwrap()[..]);
                    }
                }
            }
        }
    }
    let stats = Stats::read(&heap.region());
    prop_assert_eq!(
        stats.claimed.wrapping_sub(stats.taken) as usize,
        model.len()
    );
    prop_assert!(!stats.poisoned);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn matches_vecdeque(cap_log in 1u32..4, ops in prop::collection::vec(op(), 0..if cfg!(miri) { 20 } else { 200 })) {
        run(1 << cap_log, &ops)?;
    }
}

#[test]
fn threads_exactly_once_and_per_producer_fifo() {
    let per: u32 = if cfg!(miri) { 30 } else { 50_000 };
    let heap = HeapRegion::new(Geometry::new_mpmc(8, 8, 4).unwrap());
    let taken = std::sync::atomic::AtomicU32::new(0);
    let results = thread::scope(|s| {
        for p in 0..2u32 {
            let mut tx = Producer::attach(heap.region(), p as usize, NoPeers).unwrap();
            s.spawn(move || {
                let mut i = 0;
                while i < per {
                    let r = if p == 0 {
                        tx.try_push_value(&[p, i]).map(|()| 1)
                    } else {
                        let batch: Vec<[u32; 2]> = (i..per.min(i + 3)).map(|j| [p, j]).collect();
                        tx.push_slice(&batch)
                    };
                    match r {
                        Ok(n) => i += n as u32,
                        Err(PushError::Full) => thread::yield_now(),
                        Err(e) => panic!("{e}"),
                    }
                }
            });
        }
        let handles: Vec<_> = (0..2usize)
            .map(|c| {
                let mut rx = Consumer::attach(heap.region(), 2 + c, NoPeers).unwrap();
                let taken = &taken;
                s.spawn(move || {
                    let mut got = Vec::new();
                    while taken.load(std::sync::atomic::Ordering::Relaxed) < 2 * per {
                        let mut out = [[0u32; 2]; 4];
                        let r = if c == 0 {
                            rx.try_pop_value::<[u32; 2]>().map(|v| {
                                out[0] = v;
                                1
                            })
                        } else {
                            rx.pop_slice(&mut out)
                        };
                        match r {
                            Ok(n) => {
                                got.extend_from_slice(&out[..n]);
                                taken.fetch_add(n as u32, std::sync::atomic::Ordering::Relaxed);
                            }
                            Err(PopError::Empty) => thread::yield_now(),
                            Err(e) => panic!("{e}"),
                        }
                    }
                    got
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut seen = vec![vec![false; per as usize]; 2];
    for got in &results {
        for p in 0..2 {
            let mine: Vec<u32> = got.iter().filter(|m| m[0] == p).map(|m| m[1]).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "per-producer FIFO");
        }
        for m in got {
            assert!(!seen[m[0] as usize][m[1] as usize], "delivered twice");
            seen[m[0] as usize][m[1] as usize] = true;
        }
    }
    assert!(seen.iter().flatten().all(|&b| b), "lost a message");
}
