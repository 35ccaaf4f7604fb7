//! Issue #9 case 3: a peer forges a cursor or sequence word so that two
//! threads of the victim touch the same slot at once (a producer overwrites a
//! slot its own consumer is still copying). That must give torn bytes or a
//! typed error, never undefined behaviour: payload copies are atomic
//! (`region.rs`), so Miri, which runs this file in CI, reports no data race.
//!
//! The dense ring (`dense_*`): a forged tail makes the consumer copy a
//! record the producer is writing, a forged head the producer overwrite one
//! the consumer is copying; record copies are the same atomic words.
//!
//! One process holds both endpoints (a producer thread and a consumer
//! thread); a third thread plays the peer. Run natively these tests only
//! check that every call returns `Ok` or a typed error; the point is Miri
//! (`cargo miri test --test forged_race`), where the plain copies this
//! replaced were reported as a data race within a few seeds.
#![cfg(not(loom))]

use shmq_core::layout::{offset, Geometry, QueueKind};
use shmq_core::spsc::{self, PopError, PushError};
use shmq_core::testing::{HeapRegion, NoPeers};
use shmq_core::{dense, mpmc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

const CAP: u32 = 4;
/// Slots of the MPMC ring: two, so that it is often full.
const MPMC_CAP: u32 = 2;
/// Not a multiple of 8: copies end in a partial word.
const SLOT: u32 = 20;

fn rounds() -> usize {
    if cfg!(miri) {
        120
    } else {
        20_000
    }
}

/// Independent runs per test: each is a fresh schedule under Miri (as more
/// seeds would be), at the cost of a few seconds.
fn runs() -> u64 {
    if cfg!(miri) {
        4
    } else {
        8
    }
}

/// A message whose bytes all derive from `i`, of a length that varies with it.
fn message(i: usize, buf: &mut [u8; SLOT as usize]) -> &[u8] {
    let len = 1 + i % SLOT as usize;
    for (k, b) in buf[..len].iter_mut().enumerate() {
        *b = (i + k) as u8;
    }
    &buf[..len]
}

/// How the peer forges the consumer's published `head`.
#[derive(Clone, Copy, Debug)]
enum Forge {
    /// Re-stores the value it just read (a stale copy once the consumer moved on).
    Restore,
    /// Moves it ahead, at most to `tail`: the producer then sees free slots
    /// that the consumer has not read yet.
    Ahead,
}

fn spsc_run(forge: Forge, seed: u64) {
    let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, CAP, SLOT).unwrap());
    // SAFETY: this test uses one producer of the region (one per role).
    let mut tx = unsafe { spsc::Producer::attach(heap.region()) }.unwrap();
    // SAFETY: this test uses one consumer of the region (one per role).
    let mut rx = unsafe { spsc::Consumer::attach(heap.region()) }.unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let (heap, done) = (&heap, &done);
        s.spawn(move || {
            let mut k = seed;
            // Relaxed: only a stop flag, no data is published with it.
            while !done.load(Ordering::Relaxed) {
                let head = heap.peek_index(offset::HEAD);
                let tail = heap.peek_index(offset::TAIL);
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let forged = match forge {
                    Forge::Restore => head,
                    // Within (head, tail]: plausible, so the producer accepts it.
                    Forge::Ahead => head + 1 + (k >> 33) % tail.wrapping_sub(head).clamp(1, 4),
                };
                thread::yield_now();
                heap.scribble_index(offset::HEAD, forged);
            }
        });
        let producer = s.spawn(move || {
            let mut buf = [0u8; SLOT as usize];
            for i in 0..rounds() {
                match tx.try_push(message(i, &mut buf)) {
                    Ok(()) | Err(PushError::Full) => {}
                    Err(PushError::Poisoned(_)) => {
                        // Take over as a fresh producer, if the cursors allow.
                        // SAFETY: the old producer is replaced, never used again.
                        if let Ok(p) = unsafe { spsc::Producer::attach(heap.region()) } {
                            tx = p;
                        }
                    }
                    Err(e) => panic!("push: unexpected {e:?}"),
                }
                if i % 4 == 0 {
                    let _ = tx.push_slice(&[i as u64, !(i as u64)]);
                }
            }
        });
        let consumer = s.spawn(move || {
            let mut buf = [0u8; SLOT as usize];
            for i in 0..rounds() {
                match rx.try_pop(&mut buf) {
                    Ok(n) => assert!(n <= SLOT as usize),
                    Err(PopError::Empty | PopError::Size { .. }) => {}
                    Err(PopError::Poisoned(_)) => {
                        // SAFETY: the old consumer is replaced, never used again.
                        if let Ok(c) = unsafe { spsc::Consumer::attach(heap.region()) } {
                            rx = c;
                        }
                    }
                }
                if i % 4 == 0 {
                    let _ = rx.pop_slice(&mut [0u64; 2]);
                }
            }
        });
        let (p, c) = (producer.join(), consumer.join());
        // Relaxed: see above.
        done.store(true, Ordering::Relaxed);
        p.unwrap();
        c.unwrap();
    });
}

#[test]
fn spsc_restored_head_races_are_not_ub() {
    for seed in 0..runs() {
        spsc_run(Forge::Restore, seed);
    }
}

#[test]
fn spsc_head_moved_ahead_races_are_not_ub() {
    for seed in 0..runs() {
        spsc_run(Forge::Ahead, seed);
    }
}

/// MPMC: the peer forges sequence words of positions in flight. At a
/// position a producer has claimed but not published ("free for p") it
/// stores "full for p", so a consumer copies while the producer writes; at
/// a committed one ("full for p", which a consumer may be copying right now)
/// it stores "free for p + capacity", so a producer claims the slot for the
/// next lap and overwrites it under the consumer's copy.
fn mpmc_run(seed: u64) {
    let heap = HeapRegion::new(Geometry::new_mpmc(MPMC_CAP, SLOT, 2).unwrap());
    let mut tx = mpmc::Producer::attach(heap.region(), 0, NoPeers).unwrap();
    let mut rx = mpmc::Consumer::attach(heap.region(), 1, NoPeers).unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let (heap, done) = (&heap, &done);
        s.spawn(move || {
            let mut k = seed;
            // Relaxed: only a stop flag.
            while !done.load(Ordering::Relaxed) {
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let head = heap.peek_index(offset::HEAD);
                let tail = heap.peek_index(offset::TAIL);
                let p = head.wrapping_add((k >> 33) % (tail.wrapping_sub(head) % 8 + 1));
                let off = heap.geometry().slot_offset(p as usize % MPMC_CAP as usize);
                let seq = heap.peek(off);
                if seq == p as u32 {
                    heap.scribble(off, (p as u32).wrapping_add(1));
                } else if seq == (p as u32).wrapping_add(1) {
                    heap.scribble(off, (p as u32).wrapping_add(MPMC_CAP));
                }
                thread::yield_now();
            }
        });
        let producer = s.spawn(move || {
            let mut buf = [0u8; SLOT as usize];
            for i in 0..rounds() {
                match tx.try_push(message(i, &mut buf)) {
                    Ok(()) | Err(mpmc::PushError::Full) => {}
                    Err(mpmc::PushError::Poisoned(_)) => {
                        // A fresh producer on the same entry.
                        drop(tx);
                        tx = mpmc::Producer::attach(heap.region(), 0, NoPeers).unwrap();
                    }
                    Err(e) => panic!("push: unexpected {e:?}"),
                }
                if i % 4 == 0 {
                    let _ = tx.push_slice(&[i as u64, !(i as u64)]);
                }
            }
        });
        let consumer = s.spawn(move || {
            let mut buf = [0u8; SLOT as usize];
            for i in 0..rounds() {
                match rx.try_pop(&mut buf) {
                    Ok(n) => assert!(n <= SLOT as usize),
                    Err(mpmc::PopError::Empty | mpmc::PopError::Size { .. }) => {}
                    Err(mpmc::PopError::Poisoned(_)) => {
                        drop(rx);
                        rx = mpmc::Consumer::attach(heap.region(), 1, NoPeers).unwrap();
                    }
                }
                if i % 4 == 0 {
                    let _ = rx.pop_slice(&mut [0u64; 2]);
                }
            }
        });
        let (p, c) = (producer.join(), consumer.join());
        // Relaxed: see above.
        done.store(true, Ordering::Relaxed);
        p.unwrap();
        c.unwrap();
    });
}

#[test]
fn mpmc_early_released_slot_races_are_not_ub() {
    for seed in 0..runs() {
        mpmc_run(seed);
    }
}

/// Which cursor the peer forges ahead on a dense ring.
#[derive(Clone, Copy, Debug)]
enum DenseForge {
    /// The consumer's `head`, within `(head, tail]`: the producer overwrites
    /// records the consumer has not copied yet.
    Head,
    /// The producer's `tail`, within `(tail, head + capacity]`: the consumer
    /// copies records the producer is about to write.
    Tail,
}

/// Dense ring: a forged cursor makes the producer's record copies and the
/// consumer's overlap. Once the forgery leaves the cursors inconsistent
/// (the consumer's head past the producer's tail), the peer publishes a
/// consistent pair again so that both ends can re-attach and race again.
fn dense_run(forge: DenseForge, seed: u64) {
    let heap = HeapRegion::new(Geometry::new_dense(CAP, SLOT).unwrap());
    // SAFETY: this test uses one producer of the region (one per role).
    let mut tx = unsafe { dense::Producer::attach(heap.region()) }.unwrap();
    // SAFETY: this test uses one consumer of the region (one per role).
    let mut rx = unsafe { dense::Consumer::attach(heap.region()) }.unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let (heap, done) = (&heap, &done);
        s.spawn(move || {
            let mut k = seed;
            let cap = u64::from(CAP);
            // Relaxed: only a stop flag, no data is published with it.
            while !done.load(Ordering::Relaxed) {
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let head = heap.peek_index(offset::HEAD);
                let tail = heap.peek_index(offset::TAIL);
                let fill = tail.wrapping_sub(head);
                thread::yield_now();
                match forge {
                    _ if fill > cap => heap.scribble_index(offset::HEAD, tail),
                    DenseForge::Head if fill > 0 => {
                        heap.scribble_index(offset::HEAD, head + 1 + (k >> 33) % fill)
                    }
                    DenseForge::Tail if fill < cap => {
                        heap.scribble_index(offset::TAIL, tail + 1 + (k >> 33) % (cap - fill))
                    }
                    _ => {}
                }
            }
        });
        let producer = s.spawn(move || {
            let mut buf = [0u8; SLOT as usize];
            for i in 0..rounds() {
                let len = message(i, &mut buf).len();
                match tx.try_push(&buf) {
                    Ok(()) | Err(dense::PushError::Full) => {}
                    Err(dense::PushError::Poisoned(_)) => {
                        // Take over as a fresh producer, if the cursors allow.
                        // SAFETY: the old producer is replaced, never used again.
                        if let Ok(p) = unsafe { dense::Producer::attach(heap.region()) } {
                            tx = p;
                        }
                    }
                    Err(e) => panic!("push: unexpected {e:?}"),
                }
                if i % 4 == 0 {
                    let batch = [[len as u8; SLOT as usize]; 3];
                    let _ = tx.push_slice(&batch);
                }
            }
        });
        let consumer = s.spawn(move || {
            let mut buf = [0u8; SLOT as usize];
            for i in 0..rounds() {
                match rx.try_pop(&mut buf) {
                    Ok(n) => assert_eq!(n, SLOT as usize),
                    Err(dense::PopError::Empty) => {}
                    Err(dense::PopError::Poisoned(_)) => {
                        // SAFETY: the old consumer is replaced, never used again.
                        if let Ok(c) = unsafe { dense::Consumer::attach(heap.region()) } {
                            rx = c;
                        }
                    }
                    Err(e) => panic!("pop: unexpected {e:?}"),
                }
                if i % 4 == 0 {
                    let _ = rx.pop_slice(&mut [[0u8; SLOT as usize]; 3]);
                }
            }
        });
        let (p, c) = (producer.join(), consumer.join());
        // Relaxed: see above.
        done.store(true, Ordering::Relaxed);
        p.unwrap();
        c.unwrap();
    });
}

#[test]
fn dense_head_moved_ahead_races_are_not_ub() {
    for seed in 0..runs() {
        dense_run(DenseForge::Head, seed);
    }
}

#[test]
fn dense_tail_moved_ahead_races_are_not_ub() {
    for seed in 0..runs() {
        dense_run(DenseForge::Tail, seed);
    }
}
