//! Loom models of the MPMC ring, run over the loom twin of the region (loom
//! atomics for every shared word, including the endpoint table; a loom
//! `UnsafeCell` per payload so the payload hand-off itself is checked).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p shmq-core --features __testing --release --test loom_mpmc
//! ```
//!
//! Preemption bound 2 (also set in each model): the races in a Vyukov ring
//! (two claimers on one position, a claim seen before its record, a
//! publication seen before its payload, a repair racing the owner's
//! publication) each need at most two forced switches; with three threads
//! and spin loops a bound of 3 takes far longer than CI allows.
//!
//! A dying process is a thread whose [`Peers::halt`] returns `true` after step
//! `k` of its operation: it stops there for good and its "lock" (a loom
//! atomic flag, stored Release like the kernel's release of an OFD lock) says
//! dead. Every other thread must still finish and lose nothing committed.
//!
//! Every actor of a model runs on a spawned thread (an operation on the
//! main thread before the joins would only run after the spawns in loom's
//! exploration, hiding e.g. a repair racing the owner's publication).
//! To keep the state space small, threads make a bounded number of attempts
//! concurrently (no spin loops), then the main thread joins them and
//! finishes sequentially (draining, or pushing through repaired slots); the
//! rings start one position in, so two messages already wrap.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use shmq_core::layout::Geometry;
use shmq_core::mpmc::{Consumer, Peers, PopError, Producer, PushError, Stats, Step};
use shmq_core::testing::HeapRegion;

/// Bound on forced preemptions (see the module docs for the reason).
const PREEMPTIONS: usize = 2;
const ENTRIES: u32 = 3;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(PREEMPTIONS);
    }
    b.check(f);
}

fn heap(capacity: u32) -> HeapRegion {
    HeapRegion::new(Geometry::new_mpmc(capacity, 4, ENTRIES).unwrap())
}

/// Liveness model: one flag per entry; a halting endpoint sets its own.
#[derive(Clone)]
struct Deaths {
    dead: Arc<[AtomicBool; ENTRIES as usize]>,
    me: usize,
    halt_at: Option<Step>,
}

impl Deaths {
    fn new() -> Self {
        Deaths {
            dead: Arc::new([
                AtomicBool::new(false),
                AtomicBool::new(false),
                AtomicBool::new(false),
            ]),
            me: 0,
            halt_at: None,
        }
    }
    fn at(&self, me: usize, halt_at: Option<Step>) -> Self {
        Deaths {
            dead: self.dead.clone(),
            me,
            halt_at,
        }
    }
    fn is_dead_now(&self, e: usize) -> bool {
        self.dead[e].load(Ordering::Acquire)
    }
}

// SAFETY: an entry is dead only after its thread halted for good (`halt`
// sets the flag as its last action and the thread never touches the region again).
unsafe impl Peers for Deaths {
    fn is_dead(&self, e: usize) -> bool {
        // Acquire: pairs with the Release store at the halt (the kernel's
        // lock release after the process's last write).
        self.dead[e].load(Ordering::Acquire)
    }
    fn halt(&self, step: Step) -> bool {
        if self.halt_at == Some(step) {
            self.dead[self.me].store(true, Ordering::Release);
            true
        } else {
            false
        }
    }
}

fn pop(rx: &mut Consumer<Deaths>) -> Option<u8> {
    let mut buf = [0u8; 4];
    match rx.try_pop(&mut buf) {
        Ok(1) => Some(buf[0]),
        Ok(n) => panic!("length {n}"),
        Err(PopError::Empty) => None,
        Err(e) => panic!("pop failed: {e}"),
    }
}

/// Pops until empty (bounded: a ring of 2 slots never holds more).
fn drain(rx: &mut Consumer<Deaths>, got: &mut Vec<u8>) {
    for _ in 0..8 {
        match pop(rx) {
            Some(v) => got.push(v),
            None => return,
        }
    }
    panic!("drain did not end");
}

/// Values: producer `p` sends `p * 16 + i`.
fn check_fifo(got: &[u8]) {
    for p in 0..2u8 {
        let mine: Vec<u8> = got.iter().copied().filter(|v| v / 16 == p).collect();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "producer {p} out of order: {got:?}"
        );
    }
}

/// A ring of 2 slots whose cursors start at 1 (one message passed through),
/// so the next two positions wrap.
fn wrapped(d: &Deaths) -> HeapRegion {
    let heap = heap(2);
    let mut p = Producer::attach(heap.region(), 0, d.at(0, None)).unwrap();
    let mut c = Consumer::attach(heap.region(), 1, d.at(1, None)).unwrap();
    p.try_push(&[99]).unwrap();
    assert_eq!(pop(&mut c), Some(99));
    heap
}

/// A dead endpoint's stale record (it recorded the position and died before
/// its CAS) next to the live owner of the same position: the consumer, racing
/// the owner's publication, must wait for the owner, never repair its slot.
#[test]
fn dead_stale_candidate_next_to_live_owner() {
    model(|| {
        let d = Deaths::new();
        let heap = wrapped(&d);
        let mut a = Producer::attach(heap.region(), 0, d.at(0, Some(Step::Recorded))).unwrap();
        let _ = a.try_push(&[0]); // records position 1, dies before its CAS
        assert!(d.is_dead_now(0));
        let mut b = Producer::attach(heap.region(), 1, d.at(1, None)).unwrap();
        let mut rx = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let tb = thread::spawn(move || b.try_push(&[16]).unwrap());
        let tc = thread::spawn(move || {
            let v = pop(&mut rx);
            (rx, v)
        });
        tb.join().unwrap();
        let (mut rx, first) = tc.join().unwrap();
        let mut got: Vec<u8> = first.into_iter().collect();
        drain(&mut rx, &mut got);
        assert_eq!(got, [16], "the live owner's message is delivered");
        let stats = Stats::read(&heap.region());
        assert_eq!(stats.skipped, 0, "a live owner's claim was repaired");
        assert!(!stats.poisoned);
    });
}

#[test]
fn two_producers_one_consumer() {
    model(|| {
        let d = Deaths::new();
        let heap = wrapped(&d);
        let mut a = Producer::attach(heap.region(), 0, d.at(0, None)).unwrap();
        let mut b = Producer::attach(heap.region(), 1, d.at(1, None)).unwrap();
        let mut rx = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let ta = thread::spawn(move || a.try_push(&[0]).unwrap());
        let tb = thread::spawn(move || b.try_push(&[16]).unwrap());
        let tc = thread::spawn(move || {
            let v = pop(&mut rx);
            (rx, v)
        });
        ta.join().unwrap();
        tb.join().unwrap();
        let (mut rx, first) = tc.join().unwrap();
        let mut got: Vec<u8> = first.into_iter().collect();
        drain(&mut rx, &mut got);
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 16], "exactly once");
    });
}

#[test]
fn one_producer_two_consumers() {
    model(|| {
        let d = Deaths::new();
        let heap = wrapped(&d);
        let mut tx = Producer::attach(heap.region(), 0, d.at(0, None)).unwrap();
        let mut r1 = Consumer::attach(heap.region(), 1, d.at(1, None)).unwrap();
        let mut r2 = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let t1 = thread::spawn(move || {
            let v = pop(&mut r1);
            (r1, v)
        });
        let t2 = thread::spawn(move || {
            let v = pop(&mut r2);
            (r2, v)
        });
        tx.try_push(&[0]).unwrap();
        tx.try_push(&[1]).unwrap();
        let (_r1, v1) = t1.join().unwrap();
        let (mut r2, v2) = t2.join().unwrap();
        let mut got: Vec<u8> = v1.into_iter().chain(v2).collect();
        if let (Some(a), Some(b)) = (v1, v2) {
            assert_ne!(a, b, "exactly once");
        }
        drain(&mut r2, &mut got);
        got.sort_unstable();
        assert_eq!(got, [0, 1], "exactly once");
    });
}

/// Producer A dies after `step` of its push while producer B pushes and the
/// consumer pops; afterwards the consumer drains: B's message arrives, A's
/// iff it was published, and A's stalled claim (if any) is skipped, counted.
fn producer_dies(step: Step) {
    model(move || {
        let d = Deaths::new();
        let heap = wrapped(&d);
        let mut a = Producer::attach(heap.region(), 0, d.at(0, Some(step))).unwrap();
        let mut b = Producer::attach(heap.region(), 1, d.at(1, None)).unwrap();
        let mut rx = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let ta = thread::spawn(move || {
            let _ = a.try_push(&[0]); // halts at `step`
        });
        let tb = thread::spawn(move || b.try_push(&[16]).unwrap());
        // The consumer is spawned too, so its pop (and any repair it tries)
        // races both producers instead of running after their spawns.
        let tc = thread::spawn(move || {
            let v = pop(&mut rx);
            (rx, v)
        });
        ta.join().unwrap();
        tb.join().unwrap();
        let (mut rx, first) = tc.join().unwrap();
        let mut got: Vec<u8> = first.into_iter().collect();
        assert!(d.is_dead_now(0));
        drain(&mut rx, &mut got);
        got.sort_unstable();
        if step == Step::Published {
            assert_eq!(got, [0, 16]);
        } else {
            assert_eq!(got, [16], "only a published message is delivered");
        }
        let stats = Stats::read(&heap.region());
        let stalled = matches!(step, Step::Claimed | Step::Written);
        assert_eq!(stats.skipped, u64::from(stalled));
        assert_eq!(stats.claimed, stats.taken, "drained past every claim");
        assert!(!stats.poisoned);
    });
}

#[test]
fn producer_dies_after_record() {
    producer_dies(Step::Recorded);
}
#[test]
fn producer_dies_after_claim() {
    producer_dies(Step::Claimed);
}
#[test]
fn producer_dies_after_write() {
    producer_dies(Step::Written);
}
#[test]
fn producer_dies_after_publish() {
    producer_dies(Step::Published);
}

/// Consumer X dies after `step` of its pop while consumer Y pops and the
/// producer pushes; afterwards the producer pushes until 5 messages went in
/// (lapping X's slot: a stalled claim must be repaired) while Y drains. X's
/// claimed message is the only one missing, and `lost` counts it unless X
/// released it.
fn consumer_dies(step: Step) {
    model(move || {
        let d = Deaths::new();
        let heap = heap(2);
        let mut tx = Producer::attach(heap.region(), 0, d.at(0, None)).unwrap();
        let mut x = Consumer::attach(heap.region(), 1, d.at(1, Some(step))).unwrap();
        let mut y = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        tx.try_push(&[0]).unwrap();
        let tx_ = thread::spawn(move || pop(&mut x)); // halts at `step`, or finds it empty
        let ty = thread::spawn(move || {
            let v = pop(&mut y);
            (y, v)
        });
        let mut sent = 1u8;
        if tx.try_push(&[sent]).is_ok() {
            sent += 1;
        }
        let x_got = tx_.join().unwrap();
        let (mut y, y_first) = ty.join().unwrap();
        let mut got: Vec<u8> = y_first.into_iter().collect();
        while sent < 5 {
            match tx.try_push(&[sent]) {
                Ok(()) => sent += 1,
                Err(PushError::Full) => got.push(pop(&mut y).expect("full, yet y finds nothing")),
                Err(e) => panic!("{e}"),
            }
        }
        drain(&mut y, &mut got);
        let x_halted = d.is_dead_now(1);
        let x_claimed = x_halted && step != Step::Recorded;
        assert_eq!(x_got.is_some(), x_halted && step == Step::Published);
        got.extend(x_got);
        let mut sorted = got.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), got.len(), "no duplicates");
        assert_eq!(
            got.len() + usize::from(x_claimed && step != Step::Published),
            5
        );
        check_fifo(&got[..got.len() - usize::from(x_got.is_some())]);
        let stats = Stats::read(&heap.region());
        assert_eq!(
            stats.lost,
            u64::from(x_claimed && step != Step::Published),
            "lost counts the claimed, unreleased message"
        );
        assert!(!stats.poisoned);
    });
}

#[test]
fn consumer_dies_after_record() {
    consumer_dies(Step::Recorded);
}
#[test]
fn consumer_dies_after_claim() {
    consumer_dies(Step::Claimed);
}
#[test]
fn consumer_dies_after_write() {
    consumer_dies(Step::Written);
}
#[test]
fn consumer_dies_after_publish() {
    consumer_dies(Step::Published);
}
