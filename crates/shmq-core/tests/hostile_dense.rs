//! A hostile peer against the dense ring: one deterministic case per forged
//! cursor (a tail behind the cached one or more than a lap ahead, random
//! tails, a head beyond the tail or moving back, inconsistent cursors on
//! attach), then a scribbler thread that writes arbitrary values into the
//! cursors, counters, state words and records while the victim's producer
//! and consumer use the real API: only `Ok` or typed errors, poisoning is
//! sticky and counted, every thread ends after a fixed number of calls.
//!
//! Record copies are index-width atomic words, so the scribbler writes
//! records with atomics of that width too (`size_of::<Index>()`), natively
//! as under Miri: the victim's threads share this process, and racing
//! atomics of different sizes are undefined behaviour in Rust's memory
//! model (a peer process writing any width is outside it).
#![cfg(not(loom))]

use shmq_core::dense::{Consumer, PopError, Producer, PushError, Stats, Violation};
use shmq_core::layout::{offset, Geometry};
use shmq_core::testing::{HeapRegion, Rng};
use shmq_core::Index;
use std::thread;

const CAP: u32 = 4;
/// Not a multiple of 8: every record ends in a partial word.
const REC: usize = 12;
type Rec = [u8; REC];

fn heap() -> HeapRegion {
    HeapRegion::new(Geometry::new_dense(CAP, REC as u32).unwrap())
}

fn ends(heap: &HeapRegion) -> (Producer, Consumer) {
    // SAFETY: one producer and one consumer of this region in each test.
    unsafe {
        (
            Producer::attach(heap.region()).unwrap(),
            Consumer::attach(heap.region()).unwrap(),
        )
    }
}

/// Stores the index `v` into the cell at `off`, as a peer does.
#[allow(clippy::unnecessary_cast)] // Index is u32 on 32-bit targets
fn forge(heap: &HeapRegion, off: usize, v: Index) {
    heap.scribble_index(off, v as u64);
}

/// Every pop call of the consumer returns `Poisoned(v)` (and writes nothing).
fn assert_consumer_stays_poisoned(rx: &mut Consumer, v: Violation) {
    let mut buf = [0xA5u8; 2 * REC];
    assert_eq!(rx.try_pop(&mut buf), Err(PopError::Poisoned(v)));
    assert_eq!(rx.try_pop_value::<Rec>(), Err(PopError::Poisoned(v)));
    let mut out = [[0xA5u8; REC]; 2];
    assert_eq!(rx.pop_slice(&mut out), Err(PopError::Poisoned(v)));
    assert_eq!(rx.poisoned(), Some(v));
    assert!(buf.iter().chain(out.as_flattened()).all(|&b| b == 0xA5));
}

/// Every push call of the producer returns `Poisoned(v)`.
fn assert_producer_stays_poisoned(tx: &mut Producer, v: Violation) {
    assert_eq!(tx.try_push(&[1; REC]), Err(PushError::Poisoned(v)));
    assert_eq!(tx.try_push_value(&[2u8; REC]), Err(PushError::Poisoned(v)));
    assert_eq!(tx.push_slice(&[[3u8; REC]]), Err(PushError::Poisoned(v)));
    assert_eq!(tx.poisoned(), Some(v));
}

/// Moves both ends to position `n` (empty ring), returning them.
fn at(heap: &HeapRegion, n: u32) -> (Producer, Consumer) {
    let (mut tx, mut rx) = ends(heap);
    for i in 0..n {
        tx.try_push(&[i as u8; REC]).unwrap();
        assert_eq!(rx.try_pop(&mut [0; REC]), Ok(REC));
    }
    (tx, rx)
}

#[test]
fn tail_behind_the_cached_tail_poisons_consumer() {
    let heap = heap();
    let (mut tx, mut rx) = ends(&heap);
    tx.push_slice(&[[1u8; REC], [2; REC]]).unwrap();
    assert_eq!(rx.pop_slice(&mut [[0u8; REC]; 2]), Ok(2)); // cached tail 2
    heap.scribble_index(offset::TAIL, 1);
    let v = Violation::Tail { found: 1, head: 2 };
    assert_eq!(rx.try_pop(&mut [0; REC]), Err(PopError::Poisoned(v)));
    // Sticky, even once the producer publishes honest records again.
    tx.try_push(&[3; REC]).unwrap();
    assert_consumer_stays_poisoned(&mut rx, v);
    let s = Stats::read(&heap.region());
    assert!(s.poisoned);
    assert_eq!((s.consumer_poisoned, s.producer_poisoned), (1, 0));
}

#[test]
fn tail_more_than_a_lap_ahead_poisons_consumer() {
    let heap = heap();
    let (_tx, mut rx) = at(&heap, 3);
    let found = 3 + Index::from(CAP) + 1;
    forge(&heap, offset::TAIL, found);
    let v = Violation::Tail { found, head: 3 };
    assert_eq!(
        rx.pop_slice(&mut [[0u8; REC]; 8]),
        Err(PopError::Poisoned(v))
    );
    assert_consumer_stays_poisoned(&mut rx, v);
    assert_eq!(Stats::read(&heap.region()).consumer_poisoned, 1);
}

/// The largest tail the consumer accepts, a whole lap ahead: it reads the
/// ring's records (whatever they hold), in bounds, then finds it empty.
#[test]
fn tail_a_whole_lap_ahead_reads_each_record_once() {
    let heap = heap();
    let (_tx, mut rx) = at(&heap, 3);
    heap.scribble_index(offset::TAIL, 3 + u64::from(CAP));
    let mut out = [[0u8; REC]; 2 * CAP as usize];
    assert_eq!(rx.pop_slice(&mut out), Ok(CAP as usize));
    // From position 3: slot 3 (never written: zeros), then slots 0, 1, 2
    // (pushes 0, 1, 2).
    assert_eq!(&out[..4], &[[0; REC], [0; REC], [1; REC], [2; REC]][..]);
    assert_eq!(rx.try_pop(&mut [0; REC]), Err(PopError::Empty));
    assert_eq!(rx.poisoned(), None);
}

fn cases() -> usize {
    if cfg!(miri) {
        24
    } else {
        2000
    }
}

/// Random tails, some near the consumer's position and some anywhere: each
/// is accepted exactly when it lies in `[cached tail, head + capacity]`.
#[test]
fn random_tails_are_accepted_only_within_a_lap() {
    let mut rng = Rng::new(0x5EED);
    for _ in 0..cases() {
        // Position k, empty, the tail cached at k.
        let k = rng.below(10) as u64;
        let heap = heap();
        let (_tx, mut rx) = at(&heap, k as u32);
        let forged = match rng.below(3) {
            0 => rng.next_u64(),
            _ => k.wrapping_add(rng.below(12) as u64).wrapping_sub(4),
        } as Index;
        forge(&heap, offset::TAIL, forged);
        let ahead = forged.wrapping_sub(k as Index);
        let mut out = [[0u8; REC]; 8];
        let r = rx.pop_slice(&mut out);
        if ahead == 0 {
            assert_eq!(r, Err(PopError::Empty), "tail {forged} at {k}");
        } else if ahead <= Index::from(CAP) {
            assert_eq!(r, Ok(ahead as usize), "tail {forged} at {k}");
        } else {
            let v = Violation::Tail {
                found: forged,
                head: k as Index,
            };
            assert_eq!(r, Err(PopError::Poisoned(v)), "tail {forged} at {k}");
            assert_consumer_stays_poisoned(&mut rx, v);
            assert_eq!(Stats::read(&heap.region()).consumer_poisoned, 1);
        }
    }
}

#[test]
fn head_beyond_tail_poisons_producer() {
    let heap = heap();
    let (mut tx, _rx) = ends(&heap);
    assert_eq!(tx.push_slice(&[[7u8; REC]; CAP as usize]), Ok(CAP as usize));
    // Full: the next push re-reads the head, which claims more was consumed
    // than was ever produced.
    heap.scribble_index(offset::HEAD, u64::from(CAP) + 1);
    let v = Violation::Head {
        found: Index::from(CAP) + 1,
        tail: Index::from(CAP),
    };
    assert_eq!(tx.try_push(&[8; REC]), Err(PushError::Poisoned(v)));
    // Sticky, even once the head is plausible again.
    heap.scribble_index(offset::HEAD, 1);
    assert_producer_stays_poisoned(&mut tx, v);
    let s = Stats::read(&heap.region());
    assert!(s.poisoned);
    assert_eq!((s.producer_poisoned, s.consumer_poisoned), (1, 0));
    // Nothing was published after the violation.
    assert_eq!(s.enqueued, Index::from(CAP));
}

#[test]
fn head_moving_backwards_poisons_producer() {
    let heap = heap();
    let (mut tx, mut rx) = ends(&heap);
    assert_eq!(tx.push_slice(&[[7u8; REC]; CAP as usize]), Ok(CAP as usize));
    assert_eq!(rx.try_pop(&mut [0; REC]), Ok(REC));
    tx.try_push(&[9; REC]).unwrap(); // re-reads the head: cached head 1
    heap.scribble_index(offset::HEAD, 0);
    let v = Violation::Head {
        found: 0,
        tail: Index::from(CAP) + 1,
    };
    assert_eq!(tx.push_slice(&[[1u8; REC]]), Err(PushError::Poisoned(v)));
    assert_producer_stays_poisoned(&mut tx, v);
}

#[test]
fn inconsistent_cursors_refuse_attach() {
    let heap = heap();
    let cap = Index::from(CAP);
    // The head ahead of the tail; the tail more than a lap ahead of the head.
    for (head, tail) in [(100, 0), (0, cap + 1), (5, 4), (0, Index::MAX)] {
        forge(&heap, offset::HEAD, head);
        forge(&heap, offset::TAIL, tail);
        let want = Some(Violation::Cursors { head, tail });
        // SAFETY: the only producer of this region (dropped at once).
        assert_eq!(unsafe { Producer::attach(heap.region()) }.err(), want);
        // SAFETY: the only consumer of this region (dropped at once).
        assert_eq!(unsafe { Consumer::attach(heap.region()) }.err(), want);
    }
    // Each refusal is recorded in the region, as a detected violation.
    let s = Stats::read(&heap.region());
    assert_eq!((s.producer_poisoned, s.consumer_poisoned), (4, 4));
    assert!(s.poisoned);
    // A full ring, wrapped round the index space, is a possible state.
    forge(&heap, offset::HEAD, Index::MAX);
    forge(&heap, offset::TAIL, Index::MAX.wrapping_add(cap));
    let (mut tx, mut rx) = ends(&heap);
    assert_eq!(tx.try_push(&[0; REC]), Err(PushError::Full));
    assert_eq!(rx.pop_slice(&mut [[0u8; REC]; 8]), Ok(CAP as usize));
}

#[test]
fn scribbled_cursor_cells_are_never_read_back() {
    // Each side's own cursor is private: overwriting its published copy
    // changes nothing for that side (the next store republishes it).
    let heap = heap();
    let (mut tx, mut rx) = ends(&heap);
    tx.try_push(&[1; REC]).unwrap();
    heap.scribble_index(offset::TAIL, 0); // the producer's copy rewound
    tx.try_push(&[2; REC]).unwrap();
    assert_eq!(rx.try_pop_value::<Rec>(), Ok([1; REC]));
    heap.scribble_index(offset::HEAD, 0); // the consumer's copy rewound
    assert_eq!(rx.try_pop_value::<Rec>(), Ok([2; REC]));
    assert_eq!(rx.try_pop_value::<Rec>(), Err(PopError::Empty));
    assert_eq!((tx.poisoned(), rx.poisoned()), (None, None));
}

fn iterations() -> usize {
    if cfg!(miri) {
        150
    } else {
        200_000
    }
}

/// Index cells the endpoints use.
const CELLS: &[usize] = &[
    offset::TAIL,
    offset::FULL_COUNT,
    offset::PRODUCER_POISON,
    offset::HEAD,
    offset::EMPTY_COUNT,
    offset::CONSUMER_POISON,
];

/// 32-bit words the endpoints write or read.
const WORDS: &[usize] = &[
    offset::POISONED,
    offset::PRODUCER_STATE,
    offset::CONSUMER_STATE,
    offset::CAPACITY,
    offset::SLOT_SIZE,
    offset::SLOT_STRIDE,
];

/// A value that is sometimes plausible (near the current one), sometimes not.
fn hostile_value(rng: &mut Rng, current: u64) -> u64 {
    match rng.below(4) {
        0 => rng.next_u64(),
        1 => rng.next_u64() % 64,
        _ => current.wrapping_add(rng.below(9) as u64).wrapping_sub(4),
    }
}

fn scribbler(heap: &HeapRegion, seed: u64) {
    let mut rng = Rng::new(seed);
    let records = heap.geometry().slot_offset(0);
    let area = CAP as usize * heap.geometry().stride();
    let word = size_of::<Index>();
    for _ in 0..iterations() {
        match rng.below(5) {
            0 => {
                // A consistent pair (a takeover can succeed again), at some
                // distance from where the ends are.
                let tail = heap
                    .peek_index(offset::TAIL)
                    .wrapping_add(rng.below(9) as u64);
                let head = tail.wrapping_sub(rng.below(CAP as usize + 1) as u64);
                heap.scribble_index(offset::TAIL, tail);
                heap.scribble_index(offset::HEAD, head);
            }
            1 => {
                let off = CELLS[rng.below(CELLS.len())];
                let v = hostile_value(&mut rng, heap.peek_index(off));
                heap.scribble_index(off, v);
            }
            2 => {
                let off = WORDS[rng.below(WORDS.len())];
                let v = hostile_value(&mut rng, u64::from(heap.peek(off)));
                heap.scribble(off, v as u32);
            }
            // A whole record word, the unit of the victim's copies.
            _ => heap.scribble_index(records + word * rng.below(area / word), rng.next_u64()),
        }
        thread::yield_now();
    }
}

/// What the victim saw, for the final report and assertions.
#[derive(Default, Debug)]
struct Seen {
    ok: usize,
    poisoned: usize,
    refused: usize,
}

fn producer(heap: &HeapRegion, tx: Producer, seed: u64) -> Seen {
    let mut rng = Rng::new(seed);
    let mut seen = Seen::default();
    let mut tx = Some(tx);
    for i in 0..iterations() {
        let Some(p) = tx.as_mut() else {
            // SAFETY: the previous producer was dropped; one at a time.
            match unsafe { Producer::attach(heap.region()) } {
                Ok(p) => tx = Some(p),
                Err(Violation::Cursors { .. }) => seen.refused += 1,
                Err(v) => panic!("attach: unexpected {v:?}"),
            }
            thread::yield_now();
            continue;
        };
        let before = p.poisoned();
        // (result, the size offered): a wrong size is refused first, poisoned or not.
        let (r, len) = match rng.below(4) {
            0 => {
                let len = REC - 1 + rng.below(3);
                (p.try_push(&vec![i as u8; len]).map(|()| 1), len)
            }
            1 => (p.try_push_value(&[i as u8; REC]).map(|()| 1), REC),
            2 => {
                let k = rng.below(2 * CAP as usize + 1);
                (p.push_slice(&vec![[i as u8; REC]; k]), REC)
            }
            _ => (p.push_slice(&[i as u64, 1]), 8),
        };
        if len != REC {
            assert_eq!(r, Err(PushError::WrongSize { len, size: REC }));
            continue;
        }
        match (before, r) {
            (None, Ok(n)) => {
                assert!(n <= CAP as usize);
                seen.ok += 1;
            }
            (None, Err(PushError::Full)) => seen.ok += 1,
            (None, Err(PushError::Poisoned(v @ Violation::Head { .. }))) => {
                assert_eq!(p.poisoned(), Some(v));
                seen.poisoned += 1;
            }
            // Once poisoned, every call returns the same violation.
            (Some(v), r) => {
                assert_eq!(r, Err(PushError::Poisoned(v)));
                tx = None; // drop it and try to take over
            }
            (None, r) => panic!("push: unexpected {r:?}"),
        }
        thread::yield_now();
    }
    seen
}

fn consumer(heap: &HeapRegion, rx: Consumer, seed: u64) -> Seen {
    let mut rng = Rng::new(seed);
    let mut seen = Seen::default();
    let mut rx = Some(rx);
    for _ in 0..iterations() {
        let Some(c) = rx.as_mut() else {
            // SAFETY: the previous consumer was dropped; one at a time.
            match unsafe { Consumer::attach(heap.region()) } {
                Ok(c) => rx = Some(c),
                Err(Violation::Cursors { .. }) => seen.refused += 1,
                Err(v) => panic!("attach: unexpected {v:?}"),
            }
            thread::yield_now();
            continue;
        };
        let before = c.poisoned();
        let mut buf = [0u8; REC + 4];
        let (r, size) = match rng.below(4) {
            0 => {
                let n = REC - 1 + rng.below(6);
                let r = c.try_pop(&mut buf[..n]).inspect(|&k| assert_eq!(k, REC));
                // Any destination of at least a record is fit.
                (r.map(|_| 1), n.min(REC))
            }
            1 => (c.try_pop_value::<Rec>().map(|_| 1), REC),
            2 => {
                let mut out = vec![[0u8; REC]; rng.below(2 * CAP as usize + 1)];
                let r = c.pop_slice(&mut out).inspect(|&k| assert!(k <= out.len()));
                (r, REC)
            }
            _ => (c.try_pop_value::<u64>().map(|_| 1), 8),
        };
        if size != REC {
            assert_eq!(
                r,
                Err(PopError::Size {
                    len: REC,
                    capacity: size
                })
            );
            continue;
        }
        match (before, r) {
            (None, Ok(n)) => {
                assert!(n <= CAP as usize);
                seen.ok += 1;
            }
            (None, Err(PopError::Empty)) => seen.ok += 1,
            (None, Err(PopError::Poisoned(v @ Violation::Tail { .. }))) => {
                assert_eq!(c.poisoned(), Some(v));
                seen.poisoned += 1;
            }
            (Some(v), r) => {
                assert_eq!(r, Err(PopError::Poisoned(v)));
                rx = None;
            }
            (None, r) => panic!("pop: unexpected {r:?}"),
        }
        thread::yield_now();
    }
    seen
}

#[test]
fn scribbled_words_give_only_typed_errors() {
    let heap = heap();
    // Attached before the peer turns hostile; later attaches may be refused.
    let (tx, rx) = ends(&heap);
    let (p, c) = thread::scope(|s| {
        s.spawn(|| scribbler(&heap, 0x9E37_79B9_7F4A_7C15));
        let p = s.spawn(|| producer(&heap, tx, 7));
        let c = s.spawn(|| consumer(&heap, rx, 11));
        (p.join().unwrap(), c.join().unwrap())
    });
    // The checks are in the loops: every result is classified (anything
    // else panics, failing the join) and poisoning is sticky. Each thread
    // makes a fixed number of calls, so reaching here means none hung.
    eprintln!("producer {p:?}\nconsumer {c:?}");
    // Natively the scribbler runs long enough to forge an impossible cursor
    // many times over; under Miri detection depends on the schedule, so only
    // the loops' checks apply there.
    if !cfg!(miri) {
        assert!(p.poisoned + c.poisoned + p.refused + c.refused > 0);
        assert!(p.ok > 0 && c.ok > 0);
    }
}
