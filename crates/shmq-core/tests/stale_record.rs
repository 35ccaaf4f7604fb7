//! A live endpoint whose claim CAS lost must not leave a claim record that
//! blocks the repair of the winner's stalled claim once the winner dies.
//!
//! Deterministic: the interleaving is driven from the [`Peers::halt`] hook of
//! the losing endpoint (other endpoints act inside it, between A's record and
//! A's CAS), so no threads are needed and the test runs under Miri.
#![cfg(not(loom))]

use shmq_core::layout::Geometry;
use shmq_core::mpmc::{Consumer, Peers, PopError, Producer, PushError, Stats, Step};
use shmq_core::testing::HeapRegion;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const ENTRIES: usize = 4;

type Hook = Box<dyn FnOnce()>;

/// Liveness model: one flag per entry; a halting endpoint sets its own and
/// is never used again. `on_record` runs once, when this endpoint has stored
/// its record and not yet made its CAS.
struct Model {
    dead: Rc<[Cell<bool>; ENTRIES]>,
    me: usize,
    halt_at: Option<Step>,
    on_record: RefCell<Option<Hook>>,
}

fn model(dead: &Rc<[Cell<bool>; ENTRIES]>, me: usize, halt_at: Option<Step>) -> Model {
    Model {
        dead: dead.clone(),
        me,
        halt_at,
        on_record: RefCell::new(None),
    }
}

// SAFETY: an entry is reported dead only after its endpoint halted for good
// (the test never uses a halted endpoint again), and everything runs on one
// thread.
unsafe impl Peers for Model {
    fn is_dead(&self, e: usize) -> bool {
        self.dead.get(e).is_some_and(Cell::get)
    }
    fn halt(&self, step: Step) -> bool {
        if step == Step::Recorded {
            let hook = self.on_record.borrow_mut().take();
            if let Some(f) = hook {
                f();
            }
        }
        if self.halt_at == Some(step) {
            self.dead[self.me].set(true);
            return true;
        }
        false
    }
}

fn dead_flags() -> Rc<[Cell<bool>; ENTRIES]> {
    Rc::new(Default::default())
}

fn pop(rx: &mut Consumer<Model>) -> Result<u8, PopError> {
    let mut buf = [0u8; 4];
    let n = rx.try_pop(&mut buf)?;
    assert_eq!(n, 1);
    Ok(buf[0])
}

/// Capacity 2. Producer A records position 0, loses the CAS to B; B dies
/// owning 0; C commits 1. A live A (still polling, getting `Full`) must not
/// keep the consumer from repairing B's claim.
#[test]
fn live_producer_losing_a_claim_does_not_block_repair() {
    let heap = HeapRegion::new(Geometry::new_mpmc(2, 4, ENTRIES as u32).unwrap());
    let dead = dead_flags();
    let a_peers = model(&dead, 0, None);
    let (region, d) = (heap.region(), dead.clone());
    *a_peers.on_record.borrow_mut() = Some(Box::new(move || {
        let mut b = Producer::attach(region.clone(), 1, model(&d, 1, Some(Step::Claimed))).unwrap();
        let _ = b.try_push(&[0xB]); // claims 0, dies before writing
        drop(b); // halted: its drop leaves the entry as a killed process would
        let mut c = Producer::attach(region.clone(), 2, model(&d, 2, None)).unwrap();
        c.try_push(&[0xC]).unwrap(); // commits 1
    }));
    let mut a = Producer::attach(heap.region(), 0, a_peers).unwrap();
    assert_eq!(a.try_push(&[0xA]), Err(PushError::Full), "lost the CAS");
    assert!(dead[1].get());

    let mut rx = Consumer::attach(heap.region(), 3, model(&dead, 3, None)).unwrap();
    assert_eq!(pop(&mut rx), Ok(0xC), "B's stalled position 0 is repaired");
    assert_eq!(Stats::read(&heap.region()).skipped, 1);
    a.try_push(&[0xA]).unwrap();
    assert_eq!(pop(&mut rx), Ok(0xA));
    assert_eq!(pop(&mut rx), Err(PopError::Empty));
    let stats = Stats::read(&heap.region());
    assert_eq!((stats.claimed, stats.taken, stats.lost), (3, 3, 0));
    assert!(!stats.poisoned);
}

/// Capacity 2. Consumer X records position 0, loses the CAS to Y; Y dies
/// owning 0; X finds nothing more and returns `Empty`. While X is alive and
/// idle, the producer must still be able to repair Y's claim and lap it.
#[test]
fn live_consumer_losing_a_claim_does_not_block_repair() {
    let heap = HeapRegion::new(Geometry::new_mpmc(2, 4, ENTRIES as u32).unwrap());
    let dead = dead_flags();
    let mut tx = Producer::attach(heap.region(), 0, model(&dead, 0, None)).unwrap();
    tx.try_push(&[0]).unwrap();
    let x_peers = model(&dead, 1, None);
    let (region, d) = (heap.region(), dead.clone());
    *x_peers.on_record.borrow_mut() = Some(Box::new(move || {
        let mut y = Consumer::attach(region.clone(), 2, model(&d, 2, Some(Step::Claimed))).unwrap();
        let mut buf = [0u8; 4];
        let _ = y.try_pop(&mut buf); // claims 0, dies before copying
        drop(y); // halted: the entry stays as a killed process leaves it
    }));
    let mut x = Consumer::attach(heap.region(), 1, x_peers).unwrap();
    assert_eq!(pop(&mut x), Err(PopError::Empty), "lost the CAS");
    assert!(dead[2].get());

    tx.try_push(&[1]).unwrap();
    assert_eq!(tx.try_push(&[2]), Ok(()), "Y's stalled slot is repaired");
    assert_eq!(Stats::read(&heap.region()).lost, 1);
    assert_eq!(tx.try_push(&[3]), Err(PushError::Full));
    assert_eq!(pop(&mut x), Ok(1));
    assert_eq!(pop(&mut x), Ok(2));
    assert_eq!(pop(&mut x), Err(PopError::Empty));
    let stats = Stats::read(&heap.region());
    assert_eq!((stats.claimed, stats.taken, stats.lost), (3, 3, 1));
    assert!(!stats.poisoned);
}
