//! A hostile peer writes arbitrary values into the shared words while the
//! victim uses the real API: only `Ok` or typed errors, poisoning is sticky,
//! every thread ends after a fixed number of calls. Plus one deterministic
//! case per `Violation`.
//!
//! Under Miri the scribbler writes every word with an atomic of the size the
//! victim uses for it (Miri reports racing mixed-size atomics): payload bytes
//! as whole index-sized words, as the victim's atomic payload copies do.
//! Natively it writes payload bytes as 32-bit words at any 4-aligned offset,
//! as a real peer can.
#![cfg(not(loom))]

use shmq_core::layout::{offset, Geometry, QueueKind};
use shmq_core::spsc::{Consumer, Pacing, PopError, Producer, PushError, Stats, Violation};
use shmq_core::testing::HeapRegion;
use shmq_core::unstable::{Line, Turns};
use shmq_core::wait::{FutexWord, Park, Woken};
use shmq_core::Index;
use std::thread;
use std::time::Duration;

const CAP: u32 = 4;
const SLOT: u32 = 16;

fn heap() -> HeapRegion {
    HeapRegion::new(Geometry::new(QueueKind::Spsc, CAP, SLOT).unwrap())
}

fn stamp_off(heap: &HeapRegion, slot: usize) -> usize {
    offset::SLOTS + slot * heap.geometry().stride()
}

/// xorshift64*: a small deterministic generator (no timing, no OS entropy).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 32-bit words of the header (every one, whether the algorithm uses it or not).
const WORDS: &[usize] = &[
    offset::MAGIC,
    offset::VERSION,
    offset::KIND,
    offset::INDEX_WIDTH,
    offset::CAPACITY,
    offset::SLOT_SIZE,
    offset::SLOT_STRIDE,
    offset::TOTAL_SIZE_LO,
    offset::TOTAL_SIZE_HI,
    offset::READY,
    offset::POISONED,
    offset::CREATOR_PID,
    offset::PRODUCER_STATE,
    offset::CONSUMER_STATE,
    // The wait line (`shmq_core::wait`): the victims notify, register and
    // sleep on it through `NoFutex`.
    offset::CONSUMER_WAITING,
    offset::CONSUMER_WAIT_MODE,
    offset::PRODUCER_WAITING,
    offset::PRODUCER_WAIT_MODE,
    offset::DATA_SEQ,
    offset::ROOM_SEQ,
    offset::CONSUMER_SLEEPS,
    offset::CONSUMER_SPURIOUS,
    offset::DATA_WAKES,
    offset::PRODUCER_SLEEPS,
    offset::PRODUCER_SPURIOUS,
    offset::ROOM_WAKES,
];

/// A `Park` that never blocks: `wait` only compares the word, so the
/// victims run the whole wait protocol over words the scribbler forges.
struct NoFutex;

impl Park for NoFutex {
    fn wait(&self, word: &FutexWord, expected: u32, _timeout: Duration) -> Woken {
        if word.load(std::sync::atomic::Ordering::Relaxed) == expected {
            Woken::TimedOut
        } else {
            Woken::Changed
        }
    }
    fn pause(&self, _timeout: Duration) {}
    fn wake(&self, _word: &FutexWord) {}
    fn light_barrier(&self) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
    fn heavy_barrier(&self) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
    fn asymmetric(&self) -> bool {
        false
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// After an operation: notify the peer's line; on no progress, one
/// register / sleep turn on our own line (as a parked side does).
fn wait_turn(heap: &HeapRegion, progress: bool, publish: Line, sleep: Line, turns: &mut Turns) {
    let region = heap.region();
    if progress {
        publish.notify(&region, &NoFutex);
    } else {
        let reg = sleep.register(&region, &NoFutex, turns);
        sleep.sleep(&region, &NoFutex, reg, turns, Duration::ZERO);
    }
}
/// Index cells (accessed with atomics of the index width).
const CELLS: &[usize] = &[
    offset::TAIL,
    offset::FULL_COUNT,
    offset::PRODUCER_POISON,
    offset::HEAD,
    offset::EMPTY_COUNT,
    offset::CONSUMER_POISON,
];

fn iterations() -> usize {
    if cfg!(miri) {
        150
    } else {
        200_000
    }
}

/// A value that is sometimes plausible (near the current one), sometimes not.
fn hostile_value(rng: &mut Rng, current: u64) -> u64 {
    match rng.below(4) {
        0 => rng.next(),
        1 => rng.next() % 64,
        _ => current.wrapping_add(rng.below(5) as u64).wrapping_sub(2),
    }
}

fn scribbler(heap: &HeapRegion, seed: u64) {
    let mut rng = Rng(seed);
    let stride = heap.geometry().stride();
    for _ in 0..iterations() {
        match rng.below(4) {
            0 => {
                let off = WORDS[rng.below(WORDS.len())];
                let v = hostile_value(&mut rng, u64::from(heap.peek(off)));
                heap.scribble(off, v as u32);
            }
            1 => {
                let off = CELLS[rng.below(CELLS.len())];
                let v = hostile_value(&mut rng, heap.peek_index(off));
                heap.scribble_index(off, v);
            }
            2 => {
                // A slot's stamp (+0) or length (+4) word.
                let off = offset::SLOTS + rng.below(CAP as usize) * stride + 4 * rng.below(2);
                let v = hostile_value(&mut rng, u64::from(heap.peek(off)));
                heap.scribble(off, v as u32);
            }
            _ if cfg!(miri) => {
                // A whole payload word, the unit of the victim's copies.
                let words = (SLOT as usize).div_ceil(size_of::<Index>());
                let off = offset::SLOTS
                    + rng.below(CAP as usize) * stride
                    + 8
                    + size_of::<Index>() * rng.below(words);
                heap.scribble_index(off, rng.next());
            }
            _ => {
                let off =
                    offset::SLOTS + rng.below(CAP as usize) * stride + 8 + rng.below(SLOT as usize);
                heap.scribble(off, rng.next() as u32);
            }
        }
        thread::yield_now();
    }
}

/// What the victim saw, for the final report and assertions.
#[derive(Default, Debug)]
struct Seen {
    ok: usize,
    poisoned: usize,
    reattached: usize,
    attach_refused: usize,
}

fn producer(heap: &HeapRegion, mut tx: Producer, seed: u64, pacing: Pacing) -> Seen {
    tx.set_pacing(pacing);
    let mut rng = Rng(seed);
    let mut seen = Seen::default();
    let mut tx = Some(tx);
    let mut turns = Turns::default();
    for i in 0..iterations() {
        let Some(p) = tx.as_mut() else {
            // Retry attaching: refused with Cursors, or a fresh producer.
            // SAFETY: no other producer of this region is used concurrently (one per role in this test).
            match unsafe { Producer::attach(heap.region()) } {
                Ok(mut p) => {
                    p.set_pacing(pacing);
                    seen.reattached += 1;
                    tx = Some(p);
                }
                Err(Violation::Cursors { .. }) => seen.attach_refused += 1,
                Err(v) => panic!("attach: unexpected {v:?}"),
            }
            continue;
        };
        let before = p.poisoned();
        let r = if i % 3 == 0 {
            p.push_slice(&[i as u32, !(i as u32)]).map(|_| ())
        } else {
            let len = rng.below(SLOT as usize + 1);
            p.try_push(&vec![i as u8; len])
        };
        wait_turn(heap, r.is_ok(), Line::DATA, Line::ROOM, &mut turns);
        match (before, r) {
            (None, Ok(()) | Err(PushError::Full)) => seen.ok += 1,
            (None, Err(PushError::Poisoned(v))) => {
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
    }
    seen
}

fn consumer(heap: &HeapRegion, mut rx: Consumer, seed: u64, pacing: Pacing) -> Seen {
    rx.set_pacing(pacing);
    let mut rng = Rng(seed);
    let mut seen = Seen::default();
    let mut rx = Some(rx);
    let mut turns = Turns::default();
    for _ in 0..iterations() {
        let Some(c) = rx.as_mut() else {
            // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
            match unsafe { Consumer::attach(heap.region()) } {
                Ok(mut c) => {
                    c.set_pacing(pacing);
                    seen.reattached += 1;
                    rx = Some(c);
                }
                Err(Violation::Cursors { .. }) => seen.attach_refused += 1,
                Err(v) => panic!("attach: unexpected {v:?}"),
            }
            continue;
        };
        let before = c.poisoned();
        let mut buf = [0u8; SLOT as usize];
        let r = match rng.below(3) {
            0 => c
                .try_pop(&mut buf)
                .inspect(|&n| assert!(n <= SLOT as usize)),
            1 => c.try_pop_value::<u64>().map(|_| 8),
            _ => {
                let mut out = [0u32; 3];
                c.pop_slice(&mut out).inspect(|&n| assert!(n <= 3))
            }
        };
        wait_turn(heap, r.is_ok(), Line::ROOM, Line::DATA, &mut turns);
        match (before, r) {
            (None, Ok(_) | Err(PopError::Empty) | Err(PopError::Size { .. })) => seen.ok += 1,
            (None, Err(PopError::Poisoned(v))) => {
                assert_eq!(c.poisoned(), Some(v));
                seen.poisoned += 1;
            }
            (Some(v), r) => {
                assert_eq!(r, Err(PopError::Poisoned(v)));
                rx = None;
            }
        }
    }
    seen
}

fn scribbled(pacing: Pacing) {
    let heap = heap();
    // Attached before the peer turns hostile; later attaches may be refused.
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    let (p, c) = thread::scope(|s| {
        s.spawn(|| scribbler(&heap, 0x9E37_79B9_7F4A_7C15));
        let p = s.spawn(|| producer(&heap, tx, 7, pacing));
        let c = s.spawn(|| consumer(&heap, rx, 11, pacing));
        (p.join().unwrap(), c.join().unwrap())
    });
    // The checks are in the loops: every result is classified (anything
    // else panics, failing the join) and poisoning is sticky. Each thread
    // makes a fixed number of calls, so reaching here means none hung.
    eprintln!("producer {p:?}\nconsumer {c:?}");
    // The scribbler must actually have been noticed: natively it runs long
    // enough to forge an impossible stamp, head or cursor many times over.
    // Under Miri the run is a few hundred calls and detection depends on the
    // schedule, so only the loops' checks above apply there.
    if !cfg!(miri) {
        let detected = p.poisoned + c.poisoned + p.attach_refused + c.attach_refused;
        assert!(
            detected > 0,
            "the hostile writes went unnoticed: {p:?} {c:?}"
        );
    }
}

#[test]
fn scribbled_words_give_only_typed_errors() {
    scribbled(Pacing::Latency);
}

/// The same with B-Queue batching on both ends: probes far ahead and
/// predicted runs read forged stamps too.
#[test]
fn scribbled_words_give_only_typed_errors_throughput_pacing() {
    scribbled(Pacing::Throughput);
}

/// Poisoned by a batch pop while its probe distance is above 1, a
/// throughput-paced consumer still reports the violation on every call (it
/// must not probe and answer a soft `Empty`).
#[test]
fn throughput_consumer_stays_poisoned() {
    let heap = heap();
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    rx.set_pacing(Pacing::Throughput);
    tx.try_push(b"one").unwrap();
    assert_eq!(rx.try_pop(&mut [0u8; 16]), Ok(3)); // next probe at distance 2
    heap.scribble(stamp_off(&heap, 1), 0xdead);
    let v = Violation::Stamp {
        position: 1,
        found: 0xdead,
    };
    assert_eq!(rx.pop_slice(&mut [0u32; 2]), Err(PopError::Poisoned(v)));
    assert_eq!(rx.try_pop(&mut [0u8; 16]), Err(PopError::Poisoned(v)));
    assert_eq!(rx.try_pop_value::<u32>(), Err(PopError::Poisoned(v)));
}

/// A forged "full" stamp a batch ahead predicts a run, but the slot at the
/// consumer's position is still validated: found empty, it poisons (an
/// honest producer cannot publish a later stamp before an earlier one), and
/// nothing is read from it.
#[test]
fn forged_probe_stamp_poisons_inside_the_run() {
    let heap = heap();
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    rx.set_pacing(Pacing::Throughput); // batches up to CAP / 2 = 2
    tx.try_push(b"one").unwrap();
    assert_eq!(rx.try_pop(&mut [0u8; 16]), Ok(3)); // found at distance 1: next probe at 2
                                                   // Position 1 is empty; forge position 2 (the probe) "full".
    heap.scribble(stamp_off(&heap, 2), 3);
    let v = Violation::Stamp {
        position: 1,
        found: 2u32.wrapping_sub(CAP),
    };
    assert_eq!(rx.try_pop(&mut [0u8; 16]), Err(PopError::Poisoned(v)));
    assert_eq!(rx.poisoned(), Some(v));
    assert_eq!(Stats::read(&heap.region()).consumer_poisoned, 1);
}

#[test]
fn forged_stamp_poisons_consumer() {
    let heap = heap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    heap.scribble(stamp_off(&heap, 0), 12345);
    let v = Violation::Stamp {
        position: 0,
        found: 12345,
    };
    assert_eq!(rx.try_pop(&mut [0u8; 16]), Err(PopError::Poisoned(v)));
    // Sticky, even after the stamp is repaired; recorded in the region.
    heap.scribble(stamp_off(&heap, 0), 1u32.wrapping_sub(CAP)); // empty stamp for position 0
    assert_eq!(rx.try_pop(&mut [0u8; 16]), Err(PopError::Poisoned(v)));
    assert_eq!(rx.try_pop_value::<u32>(), Err(PopError::Poisoned(v)));
    assert_eq!(rx.pop_slice(&mut [0u8; 2]), Err(PopError::Poisoned(v)));
    assert_eq!(rx.poisoned(), Some(v));
    let stats = Stats::read(&heap.region());
    assert!(stats.poisoned);
    assert_eq!(stats.consumer_poisoned, 1);
}

#[test]
fn length_beyond_slot_poisons_consumer() {
    let heap = heap();
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    tx.try_push(b"abc").unwrap();
    heap.scribble(stamp_off(&heap, 0) + 4, SLOT + 1);
    let v = Violation::Length {
        position: 0,
        found: SLOT + 1,
    };
    // A buffer larger than the slot does not help: the length is checked
    // against the locally validated slot size.
    assert_eq!(rx.try_pop(&mut [0u8; 64]), Err(PopError::Poisoned(v)));
    assert_eq!(rx.try_pop(&mut [0u8; 64]), Err(PopError::Poisoned(v)));
}

#[test]
fn head_beyond_tail_poisons_producer() {
    let heap = heap();
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    for i in 0..CAP {
        tx.try_push(&[i as u8]).unwrap();
    }
    // Full: the next push re-reads the head, which claims more was consumed
    // than was ever produced.
    heap.scribble_index(offset::HEAD, u64::from(CAP) + 1);
    let v = Violation::Head {
        found: Index::from(CAP) + 1,
        tail: Index::from(CAP),
    };
    assert_eq!(tx.try_push(b"x"), Err(PushError::Poisoned(v)));
    assert_eq!(tx.push_slice(&[1u8]), Err(PushError::Poisoned(v)));
    assert_eq!(tx.poisoned(), Some(v));
    assert_eq!(Stats::read(&heap.region()).producer_poisoned, 1);
}

#[test]
fn head_moving_backwards_poisons_producer() {
    let heap = heap();
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    for i in 0..CAP {
        tx.try_push(&[i as u8]).unwrap();
    }
    rx.try_pop(&mut [0u8; 16]).unwrap();
    assert_eq!(tx.try_push(b"y"), Ok(())); // producer caches head = 1
    heap.scribble_index(offset::HEAD, 0); // behind the cached head
    assert!(matches!(
        tx.try_push(b"z"),
        Err(PushError::Poisoned(Violation::Head { found: 0, .. }))
    ));
}

#[test]
fn inconsistent_cursors_refuse_producer_attach() {
    let heap = heap();
    // Head far ahead of the tail.
    heap.scribble_index(offset::HEAD, 100);
    assert_eq!(
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        unsafe { Producer::attach(heap.region()) }.err(),
        Some(Violation::Cursors { head: 100, tail: 0 })
    );
    // Tail more than a ring ahead of the head.
    heap.scribble_index(offset::HEAD, 0);
    heap.scribble_index(offset::TAIL, u64::from(CAP) + 1);
    assert_eq!(
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        unsafe { Producer::attach(heap.region()) }.err(),
        Some(Violation::Cursors {
            head: 0,
            tail: Index::from(CAP) + 1
        })
    );
    // Plausible cursors, impossible stamp where writing would resume.
    heap.scribble_index(offset::TAIL, 0);
    heap.scribble(stamp_off(&heap, 0), 777);
    assert_eq!(
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        unsafe { Producer::attach(heap.region()) }.err(),
        Some(Violation::Cursors { head: 0, tail: 0 })
    );
    // Each refusal is recorded in the region, as a detected violation.
    let stats = Stats::read(&heap.region());
    assert_eq!(stats.producer_poisoned, 3);
    assert!(stats.poisoned);
}

#[test]
fn inconsistent_cursors_refuse_consumer_attach() {
    let heap = heap();
    heap.scribble(stamp_off(&heap, 2), 777);
    heap.scribble_index(offset::HEAD, 2);
    assert_eq!(
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        unsafe { Consumer::attach(heap.region()) }.err(),
        Some(Violation::Cursors { head: 2, tail: 0 })
    );
    let stats = Stats::read(&heap.region());
    assert_eq!(stats.consumer_poisoned, 1);
    assert!(stats.poisoned);
}

#[test]
fn scribbled_cursor_cells_are_never_read_back() {
    // Each side's own cursor is private: overwriting the published copies
    // changes nothing for an attached pair.
    let heap = heap();
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    tx.try_push(b"one").unwrap();
    heap.scribble_index(offset::TAIL, 999);
    heap.scribble_index(offset::HEAD, 0);
    tx.try_push(b"two").unwrap();
    let mut buf = [0u8; 16];
    let n = rx.try_pop(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"one");
    heap.scribble_index(offset::HEAD, 0); // consumer's copy rewound
    let n = rx.try_pop(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"two");
    assert_eq!(rx.try_pop(&mut buf), Err(PopError::Empty));
    assert_eq!(rx.poisoned(), None);
}
