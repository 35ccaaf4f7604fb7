//! A hostile peer scribbles into every shared word of an MPMC region (header,
//! cursors, counters, endpoint table, sequence and length words) while the
//! victim uses the real API: only `Ok` or typed errors, every thread ends
//! after a fixed number of calls. Plus deterministic forged-word cases.
//!
//! Under Miri the scribbler writes each word with an atomic of the size the
//! algorithm uses for it (Miri reports racing mixed-size atomics): payload
//! bytes as whole index-sized words, the unit of the victim's atomic copies.
#![cfg(not(loom))]

use shmq_core::layout::{offset, Geometry, ENTRY_SIZE, HEADER_SIZE};
use shmq_core::mpmc::{entry, Consumer, Peers, PopError, Producer, PushError, Violation};
use shmq_core::testing::{HeapRegion, NoPeers};
use std::thread;

const CAP: u32 = 4;
const SLOT: u32 = 16;
const ENTRIES: u32 = 3;

fn heap() -> HeapRegion {
    HeapRegion::new(Geometry::new_mpmc(CAP, SLOT, ENTRIES).unwrap())
}

/// A liveness oracle that claims everyone is dead: the most dangerous answer
/// for repairs (a hostile or confused platform); still no UB or panic.
#[derive(Clone, Copy, Debug)]
struct AllDead;
// SAFETY: the victim uses its producer and consumer from one thread, so a
// repair can never run concurrently with a live endpoint's payload copy.
unsafe impl Peers for AllDead {
    fn is_dead(&self, _: usize) -> bool {
        true
    }
}

/// A liveness oracle for which only the given entry is dead.
#[derive(Clone, Copy, Debug)]
struct OnlyDead(usize);
// SAFETY: the reported entry's "endpoint" is a forged table entry, never a
// running endpoint; the victim is single-threaded.
unsafe impl Peers for OnlyDead {
    fn is_dead(&self, e: usize) -> bool {
        e == self.0
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn stamp_off(h: &HeapRegion, slot: usize) -> usize {
    h.geometry().slot_offset(slot)
}

/// Regions the victim moves through: when the scribbler has poisoned both of
/// its endpoints it attaches fresh ones on the next region (the poisoned one
/// keeps its forged cursors), so the run keeps exercising the normal paths
/// under fire; the scribbler stops at the last region, which stays clean.
const EPOCHS: usize = if cfg!(miri) { 4 } else { 64 };

#[test]
fn scribbler_causes_only_typed_errors() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let rounds = if cfg!(miri) { 200 } else { 200_000 };
    let heaps: Vec<HeapRegion> = (0..EPOCHS).map(|_| heap()).collect();
    let current = AtomicUsize::new(0);
    let (successes, poisoned_epochs) = thread::scope(|s| {
        let (heaps, current) = (&heaps, &current);
        s.spawn(move || {
            let mut rng = Rng(0x1234_5678);
            for _ in 0..rounds {
                // Relaxed: only selects the target; no data is published.
                let k = current.load(Ordering::Relaxed);
                if k + 1 >= EPOCHS {
                    return;
                }
                let h = &heaps[k];
                let v = rng.next();
                match rng.next() % 6 {
                    0 => h.scribble((rng.next() as usize % 128) & !3, v as u32),
                    1 => {
                        let cells = [offset::TAIL, offset::HEAD, offset::SKIPPED, offset::LOST];
                        h.scribble_index(cells[v as usize % 4], rng.next());
                    }
                    2 | 3 => {
                        let slot = rng.next() as usize % CAP as usize;
                        let off = stamp_off(h, slot) + 4 * (v as usize % 2);
                        h.scribble(off, rng.next() as u32);
                    }
                    4 => {
                        let e = v as usize % ENTRIES as usize;
                        let base = HEADER_SIZE + e * ENTRY_SIZE;
                        if rng.next() % 2 == 0 {
                            h.scribble(base + entry::ROLE, rng.next() as u32);
                        } else {
                            h.scribble_index(base + entry::RECORD, rng.next());
                        }
                    }
                    _ => {
                        let slot = rng.next() as usize % CAP as usize;
                        if cfg!(miri) {
                            // A whole payload word (SLOT is a multiple of it).
                            let w = std::mem::size_of::<shmq_core::Index>();
                            let words = SLOT as usize / w;
                            h.scribble_index(
                                stamp_off(h, slot) + 8 + w * (v as usize % words),
                                rng.next(),
                            );
                        } else {
                            h.scribble(
                                stamp_off(h, slot) + 8 + 4 * (v as usize % 4),
                                rng.next() as u32,
                            );
                        }
                    }
                }
            }
        });
        let victim = s.spawn(move || {
            let mut k = 0;
            let mut tx = Producer::attach(heaps[k].region(), 0, AllDead).unwrap();
            let mut rx = Consumer::attach(heaps[k].region(), 1, AllDead).unwrap();
            let mut buf = [0u8; SLOT as usize];
            let (mut ok, mut poisoned_epochs) = (0u64, 0usize);
            for i in 0..rounds {
                match tx.try_push(&[i as u8; 5]) {
                    Ok(()) => ok += 1,
                    Err(PushError::Full) | Err(PushError::Poisoned(_)) => {}
                    Err(e) => panic!("unexpected {e}"),
                }
                match rx.try_pop(&mut buf) {
                    Ok(n) => {
                        assert!(n <= SLOT as usize);
                        ok += 1;
                    }
                    Err(PopError::Empty | PopError::Poisoned(_) | PopError::Size { .. }) => {}
                }
                let mut out = [[0u8; 5]; 3];
                if let Ok(n) = rx.pop_slice(&mut out) {
                    ok += n as u64;
                }
                if let Ok(n) = tx.push_slice(&[[1u8; 5]; 3]) {
                    ok += n as u64;
                }
                if tx.poisoned().is_some() && rx.poisoned().is_some() && k + 1 < EPOCHS {
                    // Fresh endpoints on a fresh region; keep going.
                    poisoned_epochs += 1;
                    k += 1;
                    current.store(k, Ordering::Relaxed);
                    drop((tx, rx));
                    tx = Producer::attach(heaps[k].region(), 0, AllDead).unwrap();
                    rx = Consumer::attach(heaps[k].region(), 1, AllDead).unwrap();
                }
            }
            (ok, poisoned_epochs)
        });
        victim.join().unwrap()
    });
    // The victim ran every round (no early exit) and kept delivering: at
    // least a quarter of the rounds moved a message (the last region is
    // clean, and rounds on a region under fire succeed too).
    assert!(
        successes >= rounds / 4,
        "only {successes} successful operations in {rounds} rounds"
    );
    if !cfg!(miri) {
        assert!(
            poisoned_epochs >= 1,
            "the scribbler never poisoned both endpoints"
        );
    }
}

#[test]
fn forged_sequence_word_poisons_the_consumer() {
    let h = heap();
    let mut tx = Producer::attach(h.region(), 0, NoPeers).unwrap();
    let mut rx = Consumer::attach(h.region(), 1, NoPeers).unwrap();
    tx.try_push(b"ok").unwrap();
    h.scribble(stamp_off(&h, 0), 0xdead_beef);
    let mut buf = [0u8; 16];
    let e = rx.try_pop(&mut buf).unwrap_err();
    assert_eq!(
        e,
        PopError::Poisoned(Violation::Stamp {
            position: 0,
            found: 0xdead_beef
        })
    );
    // Sticky, and counted.
    assert_eq!(rx.try_pop(&mut buf), Err(e));
    assert_eq!(h.peek_index(offset::CONSUMER_POISON), 1);
    assert_ne!(h.peek(offset::POISONED), 0);
}

#[test]
fn forged_sequence_word_poisons_the_producer() {
    let h = heap();
    let mut tx = Producer::attach(h.region(), 0, NoPeers).unwrap();
    h.scribble(stamp_off(&h, 0), 0x7777_0000);
    assert!(matches!(
        tx.try_push(b"x"),
        Err(PushError::Poisoned(Violation::Stamp { position: 0, .. }))
    ));
}

#[test]
fn forged_length_poisons() {
    let h = heap();
    let mut tx = Producer::attach(h.region(), 0, NoPeers).unwrap();
    let mut rx = Consumer::attach(h.region(), 1, NoPeers).unwrap();
    tx.try_push(b"ok").unwrap();
    h.scribble(stamp_off(&h, 0) + 4, SLOT + 1);
    assert!(matches!(
        rx.try_pop(&mut [0u8; 64]),
        Err(PopError::Poisoned(Violation::Length { found, .. })) if found == SLOT + 1
    ));
}

#[test]
fn forged_tail_poisons_the_consumer() {
    let h = heap();
    let mut rx = Consumer::attach(h.region(), 1, NoPeers).unwrap();
    h.scribble_index(offset::TAIL, 1000);
    assert!(matches!(
        rx.try_pop(&mut [0u8; 16]),
        Err(PopError::Poisoned(Violation::Cursors {
            head: 0,
            tail: 1000
        }))
    ));
}

#[test]
fn forged_head_poisons_the_producer() {
    let h = heap();
    let mut tx = Producer::attach(h.region(), 0, NoPeers).unwrap();
    for _ in 0..CAP {
        tx.try_push(b"x").unwrap();
    }
    h.scribble_index(offset::HEAD, 1 << 40);
    assert!(matches!(
        tx.try_push(b"x"),
        Err(PushError::Poisoned(Violation::Cursors { .. }))
    ));
}

#[test]
fn live_owner_is_waited_for_never_repaired() {
    // Entry 0: a live producer claimed position 0 and is slow. Entry 2: a
    // dead producer whose stale record also covers 0 (it died before its
    // CAS). Liveness mixes both answers: the consumer must see the live
    // candidate, report Empty and leave the slot alone.
    let h = heap();
    let mut rx = Consumer::attach(h.region(), 1, OnlyDead(2)).unwrap();
    for e in [0, 2] {
        let base = HEADER_SIZE + e * ENTRY_SIZE;
        h.scribble_index(base + entry::RECORD, 1); // record: pos 0, 1 slot
        h.scribble(base + entry::ROLE, 1); // producer
    }
    h.scribble_index(offset::TAIL, 1);
    for _ in 0..3 {
        assert_eq!(rx.try_pop(&mut [0u8; 16]), Err(PopError::Empty));
    }
    assert_eq!(h.peek(stamp_off(&h, 0)), 0, "slot untouched");
    assert_eq!(h.peek_index(offset::SKIPPED), 0);
}

#[test]
fn dead_owner_is_repaired_and_counted() {
    let h = heap();
    let mut rx = Consumer::attach(h.region(), 1, AllDead).unwrap();
    let mut tx = Producer::attach(h.region(), 2, NoPeers).unwrap();
    // Entry 0: a dead producer that claimed position 0 and never published.
    h.scribble_index(HEADER_SIZE + entry::RECORD, 1);
    h.scribble(HEADER_SIZE + entry::ROLE, 1);
    h.scribble_index(offset::TAIL, 1);
    tx.try_push(b"after").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(rx.try_pop(&mut buf), Ok(5));
    assert_eq!(&buf[..5], b"after");
    assert_eq!(h.peek_index(offset::SKIPPED), 1);
    // The dead entry's evidence is resolved now: a new endpoint may reuse it.
    drop(tx);
    assert!(Producer::attach(h.region(), 0, NoPeers).is_ok());
}

#[test]
fn unresolved_dead_entry_is_not_reused() {
    let h = heap();
    h.scribble_index(HEADER_SIZE + entry::RECORD, 1);
    h.scribble(HEADER_SIZE + entry::ROLE, 1);
    h.scribble_index(offset::TAIL, 1);
    assert!(Producer::attach(h.region(), 0, NoPeers).is_err());
    assert!(Consumer::attach(h.region(), 0, NoPeers).is_err());
}

/// Counts the liveness checks it answers (all "dead").
#[derive(Clone, Debug, Default)]
struct CountingDead(std::rc::Rc<std::cell::Cell<u32>>);
// SAFETY: the victim is single-threaded and the "dead" entries are forged,
// never running endpoints.
unsafe impl Peers for CountingDead {
    fn is_dead(&self, _: usize) -> bool {
        self.0.set(self.0.get() + 1);
        true
    }
}

#[test]
fn forged_table_costs_a_bounded_number_of_checks_per_call() {
    // Issue #9 case 1: every other entry claims to be a dead producer that
    // claimed every position. One call makes at most LIVENESS_CHECKS checks;
    // the scan resumes where it stopped, so the positions are still repaired
    // (a scan restarting at entry 0 would never get past the budget).
    use shmq_core::mpmc::LIVENESS_CHECKS;
    const TABLE: u32 = 200;
    let h = HeapRegion::new(Geometry::new_mpmc(CAP, SLOT, TABLE).unwrap());
    let peers = CountingDead::default();
    let mut rx = Consumer::attach(h.region(), 0, peers.clone()).unwrap();
    for e in 1..TABLE as usize {
        let base = HEADER_SIZE + e * ENTRY_SIZE;
        h.scribble_index(base + entry::RECORD, u64::from(CAP)); // pos 0, CAP slots
        h.scribble(base + entry::ROLE, 1); // producer
    }
    h.scribble_index(offset::TAIL, u64::from(CAP));
    let per_position = (TABLE - 1).div_ceil(LIVENESS_CHECKS);
    let mut calls = 0;
    while h.peek_index(offset::HEAD) < u64::from(CAP) {
        calls += 1;
        assert!(
            calls <= CAP * (per_position + 1),
            "no progress after {calls} calls"
        );
        let before = peers.0.get();
        assert_eq!(rx.try_pop(&mut [0u8; 16]), Err(PopError::Empty));
        let checks = peers.0.get() - before;
        assert!(checks <= LIVENESS_CHECKS, "{checks} checks in one call");
    }
    assert_eq!(h.peek_index(offset::SKIPPED), u64::from(CAP));
    assert_eq!(rx.poisoned(), None);
}
