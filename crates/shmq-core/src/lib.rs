//! Lock-free queue algorithms over a region of bytes shared with untrusted peers.
//!
//! `shmq-core` is `#![no_std]` and allocates nothing. It knows nothing of files
//! or processes: it takes a pointer to bytes that other processes may also map
//! (the platform crate `shmq` does the mapping) and runs a queue over them.
//!
//! **Every byte of the region is untrusted input.** A peer may be crashed,
//! buggy or hostile and may write any value to any word at any time. Nothing a
//! peer writes can cause undefined behaviour, an out-of-bounds access, a panic
//! or an unbounded loop here: each shared word is read once into a local and
//! validated, every index is masked, every length is checked against the
//! geometry this process validated, cursors are kept privately, and no
//! reference is ever formed to peer-writable bytes (atomics and raw copies
//! only). A violation *poisons* the endpoint and is returned as a typed error.
//!
//! - [`endpoint`]: the send/receive traits every queue kind implements.
//! - [`layout`]: the byte layout, [`layout::validate`] and [`layout::init`].
//! - [`region`]: the handle through which the algorithms touch the bytes.
//! - [`spsc`]: single-producer single-consumer ring (sequence stamp per slot).
//! - [`bytes`]: single-producer single-consumer ring of variable-length
//!   byte records, with zero-copy loans.
//! - [`dense`]: single-producer single-consumer ring of fixed-size records
//!   back to back, a batch published by one tail store.
//! - [`mpmc`]: multi-producer multi-consumer ring (Vyukov) with crash repair.
//! - [`wait`]: blocking waits: the futex contract [`wait::Park`], the
//!   lost-wakeup protocol over the region's wait line, and the waiting loop
//!   every endpoint runs ([`wait::wait`]).
//!
//! ```
//! use shmq_core::layout::{Geometry, QueueKind};
//! use shmq_core::spsc::{Consumer, PopError, Producer};
//! use shmq_core::testing::HeapRegion; // a region on the heap, for examples and tests
//!
//! let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, 8, 8).unwrap());
//! // SAFETY: no other producer of this region is used concurrently (one per role in this test).
//! let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
//! // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
//! let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
//! tx.try_push_value(&42u64).unwrap();
//! assert_eq!(rx.try_pop_value::<u64>(), Ok(42));
//! assert_eq!(rx.try_pop_value::<u64>(), Err(PopError::Empty));
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(loom, feature = "__testing"))]
extern crate std;

pub mod bytes;
pub mod dense;
pub mod endpoint;
pub mod layout;
pub mod mpmc;
pub mod region;
pub mod spsc;
mod sync;
#[cfg(any(loom, feature = "__testing"))]
#[doc(hidden)]
pub mod testing;
pub mod wait;

pub use sync::Index;

/// Protocol internals for this workspace's tests, benchmarks and fuzz
/// targets: **unstable**, not part of the API, may change in any release.
#[doc(hidden)]
pub mod unstable {
    pub use crate::layout::offset;
    pub use crate::mpmc::{any_live, entry, role};
    pub use crate::wait::line::{Line, Registration, Turns, PLAIN_SLEEP, QUICK_TURNS};
}
