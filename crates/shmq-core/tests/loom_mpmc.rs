//! Loom models of the MPMC ring, run over the loom twin of the region (loom
//! atomics for every shared word, including the endpoint table; a loom
//! `UnsafeCell` per payload so the payload hand-off itself is checked).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p shmq-core --features testing --release --test loom_mpmc
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
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    // Spin loops (with yield) over three threads need more than loom's
    // default 1000 branches per execution.
    b.max_branches = 100_000;
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

impl Peers for Deaths {
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

fn push_spin(tx: &mut Producer<Deaths>, v: u8) {
    loop {
        match tx.try_push(&[v]) {
            Ok(()) => return,
            Err(PushError::Full) => thread::yield_now(),
            Err(e) => panic!("push failed: {e}"),
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

#[test]
fn two_producers_one_consumer() {
    model(|| {
        let heap = heap(2);
        let d = Deaths::new();
        let mut a = Producer::attach(heap.region(), 0, d.at(0, None)).unwrap();
        let mut b = Producer::attach(heap.region(), 1, d.at(1, None)).unwrap();
        let mut rx = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let ta = thread::spawn(move || {
            push_spin(&mut a, 0);
            push_spin(&mut a, 1);
        });
        let tb = thread::spawn(move || push_spin(&mut b, 16));
        let mut got = Vec::new();
        while got.len() < 3 {
            match pop(&mut rx) {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        ta.join().unwrap();
        tb.join().unwrap();
        check_fifo(&got);
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 16]);
        assert_eq!(pop(&mut rx), None);
    });
}

#[test]
fn one_producer_two_consumers() {
    model(|| {
        let heap = heap(2);
        let d = Deaths::new();
        let mut tx = Producer::attach(heap.region(), 0, d.at(0, None)).unwrap();
        let mut r1 = Consumer::attach(heap.region(), 1, d.at(1, None)).unwrap();
        let mut r2 = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let taken = Arc::new(AtomicUsize::new(0));
        let t2 = {
            let taken = taken.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while taken.load(Ordering::SeqCst) < 3 {
                    match pop(&mut r2) {
                        Some(v) => {
                            got.push(v);
                            taken.fetch_add(1, Ordering::SeqCst);
                        }
                        None => thread::yield_now(),
                    }
                }
                got
            })
        };
        let t1 = {
            let taken = taken.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while taken.load(Ordering::SeqCst) < 3 {
                    match pop(&mut r1) {
                        Some(v) => {
                            got.push(v);
                            taken.fetch_add(1, Ordering::SeqCst);
                        }
                        None => thread::yield_now(),
                    }
                }
                got
            })
        };
        for v in 0..3 {
            push_spin(&mut tx, v);
        }
        let g1 = t1.join().unwrap();
        let g2 = t2.join().unwrap();
        check_fifo(&g1);
        check_fifo(&g2);
        let mut all = [g1, g2].concat();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2], "exactly once");
    });
}

const STEPS: [Step; 4] = [
    Step::Recorded,
    Step::Claimed,
    Step::Written,
    Step::Published,
];

/// Producer A dies after `step` of its only push; producer B (alive) pushes
/// two messages through a 2-slot ring, so a stalled claim of A must be
/// repaired (skipped) by the consumer for B's second message to fit.
fn producer_dies(step: Step) {
    model(move || {
        let heap = heap(2);
        let d = Deaths::new();
        let mut a = Producer::attach(heap.region(), 0, d.at(0, Some(step))).unwrap();
        let mut b = Producer::attach(heap.region(), 1, d.at(1, None)).unwrap();
        let mut rx = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let ta = thread::spawn(move || {
            let _ = a.try_push(&[0]); // halts (or finds the ring full and gives up)
        });
        let tb = thread::spawn(move || {
            push_spin(&mut b, 16);
            push_spin(&mut b, 17);
        });
        let mut got = Vec::new();
        loop {
            let have_b = got.contains(&16) && got.contains(&17);
            if have_b && (step != Step::Published || got.contains(&0)) {
                break;
            }
            match pop(&mut rx) {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        ta.join().unwrap();
        tb.join().unwrap();
        check_fifo(&got);
        assert!(!got
            .iter()
            .any(|&v| got.iter().filter(|&&w| w == v).count() > 1));
        assert!(
            step == Step::Published
                || !got.contains(&0)
                || step == Step::Written
                || step == Step::Claimed
                || step == Step::Recorded
        );
        let stats = Stats::read(&heap.region());
        // Every skip is A's one claimed-but-unpublished position.
        assert!(stats.skipped <= 1);
        if step == Step::Recorded {
            assert_eq!(stats.skipped, 0);
        }
        assert!(!stats.poisoned);
        let _ = d.is_dead_now(0);
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

/// Consumer X dies after `step` of its first pop that reaches it; consumer
/// Y (alive) and the producer (main thread, 3 messages through 2 slots)
/// must finish; X's claimed message, if any, is the only one Y misses.
fn consumer_dies(step: Step) {
    model(move || {
        let heap = heap(2);
        let d = Deaths::new();
        let mut tx = Producer::attach(heap.region(), 0, d.at(0, None)).unwrap();
        let mut x = Consumer::attach(heap.region(), 1, d.at(1, Some(step))).unwrap();
        let mut y = Consumer::attach(heap.region(), 2, d.at(2, None)).unwrap();
        let y_done = Arc::new(AtomicBool::new(false));
        let tx_thread = {
            let y_done = y_done.clone();
            let d = d.clone();
            thread::spawn(move || loop {
                if d.is_dead_now(1) || y_done.load(Ordering::SeqCst) {
                    return;
                }
                if pop(&mut x).is_some() {
                    // Only when halted right after its release: X took it.
                    assert_eq!(step, Step::Published);
                    return;
                }
                thread::yield_now();
            })
        };
        let ty = {
            let y_done = y_done.clone();
            let d = d.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let x_took = d.is_dead_now(1) && step != Step::Recorded;
                    if got.len() + usize::from(x_took) == 3 {
                        break;
                    }
                    match pop(&mut y) {
                        Some(v) => got.push(v),
                        None => thread::yield_now(),
                    }
                }
                y_done.store(true, Ordering::SeqCst);
                got
            })
        };
        for v in 0..3 {
            push_spin(&mut tx, v);
        }
        let got = ty.join().unwrap();
        tx_thread.join().unwrap();
        check_fifo(&got);
        let x_took = d.is_dead_now(1) && step != Step::Recorded;
        assert_eq!(got.len() + usize::from(x_took), 3);
        let mut sorted = got.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), got.len(), "no duplicates");
        let stats = Stats::read(&heap.region());
        // Only a claimed, unreleased message can be lost, and at most X's one.
        assert!(stats.lost <= u64::from(x_took && step != Step::Published));
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
