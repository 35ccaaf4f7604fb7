//! The heap-backed test region is sound to use from safe code: handles keep
//! the memory alive (Miri reports a use-after-free if they did not).
#![cfg(not(loom))]

use shmq_core::layout::{Geometry, QueueKind};
use shmq_core::spsc::{Consumer, PopError, Producer};
use shmq_core::testing::HeapRegion;

#[test]
fn handles_outlive_the_heap_region() {
    let region = HeapRegion::new(Geometry::new(QueueKind::Spsc, 4, 8).unwrap()).region();
    // The HeapRegion is already dropped here.
    // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    let mut tx = unsafe { Producer::attach(region.clone()) }.unwrap();
    // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    let mut rx = unsafe { Consumer::attach(region) }.unwrap();
    tx.try_push_value(&7u64).unwrap();
    drop(tx);
    assert_eq!(rx.try_pop_value::<u64>(), Ok(7));
    assert_eq!(rx.try_pop_value::<u64>(), Err(PopError::Empty));
}
