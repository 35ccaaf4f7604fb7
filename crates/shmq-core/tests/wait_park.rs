//! `Line` against a counting `Park`: what a publisher pays, per platform.
#![cfg(not(loom))]

use shmq_core::layout::{offset, Geometry, QueueKind};
use shmq_core::testing::HeapRegion;
use shmq_core::unstable::Line;
use shmq_core::wait::{FutexWord, Park, WaitStats, Woken, WAITING};
use std::cell::Cell;
use std::time::Duration;

/// Counts the calls a publisher makes; `can_wake` as given.
#[derive(Default)]
struct Counting {
    cannot_wake: bool,
    barriers: Cell<u32>,
    wakes: Cell<u32>,
}

impl Park for Counting {
    fn wait(&self, _word: &FutexWord, _expected: u32, _timeout: Duration) -> Woken {
        Woken::TimedOut
    }
    fn pause(&self, _timeout: Duration) {}
    fn can_wake(&self) -> bool {
        !self.cannot_wake
    }
    fn wake(&self, _word: &FutexWord) {
        self.wakes.set(self.wakes.get() + 1);
    }
    fn light_barrier(&self) {
        self.barriers.set(self.barriers.get() + 1);
    }
    fn heavy_barrier(&self) {}
    fn asymmetric(&self) -> bool {
        true
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A platform whose `wake` cannot end a wait (no futex): publishers skip
/// the barrier, the load and the wake entirely, even with a registered
/// sleeper (which polls in slices there).
#[test]
fn publisher_pays_nothing_when_the_park_cannot_wake() {
    let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, 4, 8).unwrap());
    let region = heap.region();
    let seq = heap.peek(offset::DATA_SEQ);
    heap.scribble(offset::CONSUMER_WAITING, WAITING | seq);
    let park = Counting {
        cannot_wake: true,
        ..Counting::default()
    };
    for _ in 0..10 {
        Line::DATA.notify(&region, &park);
    }
    Line::DATA.wake_on_close(&region, &park);
    assert_eq!((park.barriers.get(), park.wakes.get()), (0, 0));
    assert_eq!(WaitStats::read(&region).data_wakes, 0);

    // The same registration with a park that can wake: one barrier per
    // publication, one wake (the registration is answered once).
    let park = Counting::default();
    for _ in 0..10 {
        Line::DATA.notify(&region, &park);
    }
    assert_eq!((park.barriers.get(), park.wakes.get()), (10, 1));
}
