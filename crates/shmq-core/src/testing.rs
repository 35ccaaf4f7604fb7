//! A region on the heap, for tests, examples, Miri, loom and fuzzing
//! (feature `testing`).
//!
//! Production code maps a file; tests that exercise the algorithm alone use
//! [`HeapRegion`] so the same code runs under Miri and loom. This module also
//! holds what the proptest suite and the fuzz targets share: one operation
//! enum, [`Op`], and one checker, [`ModelCheck`], that replays operations on a
//! real ring and on a `VecDeque` model and compares every result.

use crate::region::Region;
use crate::spsc::full_stamp;
use crate::sync::{Index, Ordering};

#[cfg(not(loom))]
pub use bytes_model::{BytesCheck, BytesOp};
#[cfg(not(loom))]
pub use dense_model::DenseCheck;
#[cfg(not(loom))]
pub use model::{ModelCheck, Op, Width};
#[cfg(not(loom))]
pub use raw::HeapRegion;
#[cfg(not(loom))]
pub use rng::Rng;

/// Where a simulated producer crash stops inside one push (see [`crashed_push`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// Length and payload written, stamp not stored: the message is not committed.
    BeforeStamp,
    /// Stamp stored (committed), the `tail` cell not yet updated.
    BeforeTail,
}

/// Replays the stores that [`crate::spsc::Producer::try_push`] makes for
/// position `pos`, stopping at `stop`, as a producer killed there leaves them.
///
/// Used to model a producer that dies in the middle of a push; the caller
/// passes the position the dead producer was about to write (the number of
/// messages it had pushed).
///
/// # Panics
/// If `msg.len()` exceeds the slot size.
///
/// # Safety
/// The slot of `pos` must be free (released by the consumer) and no live
/// producer may be writing this region: otherwise the payload copy races with
/// the consumer's or the producer's copy of the same bytes.
pub unsafe fn crashed_push(region: &Region, pos: Index, msg: &[u8], stop: CrashPoint) {
    assert!(msg.len() <= region.geometry().slot_size() as usize);
    let slot = pos as usize & (region.geometry().capacity() as usize - 1);
    region.len(slot).store(msg.len() as u32, Ordering::Relaxed);
    // SAFETY: msg.len() <= slot_size (asserted), slot masked, and the caller
    // guarantees the slot is free and no producer is writing (the contract).
    unsafe { region.write_payload(slot, msg) };
    if stop == CrashPoint::BeforeStamp {
        return;
    }
    // Release: pairs with the consumer's Acquire load of the stamp, as in try_push.
    region.stamp(slot).store(full_stamp(pos), Ordering::Release);
    // CrashPoint::BeforeTail: the `tail` cell is left as it was.
}

/// A [`crate::mpmc::Peers`] that reports every endpoint alive (no crash
/// repair ever happens): for examples and tests without crashes.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPeers;

// SAFETY: never reports an endpoint dead, so no repair ever happens.
unsafe impl crate::mpmc::Peers for NoPeers {
    fn is_dead(&self, _entry: usize) -> bool {
        false
    }
}

#[cfg(not(loom))]
mod raw {
    use super::*;
    use crate::layout::{init, Geometry};
    use crate::region::KeepAlive;
    use crate::sync::{AtomicIndex, AtomicU32};
    use std::sync::Arc;
    use std::vec::Vec;

    /// Owns zeroed, 8-aligned heap memory initialised as a region.
    ///
    /// The memory is only ever accessed through raw pointers and atomics
    /// derived once from the allocation (never through the `Vec`), exactly like
    /// a mapping.
    #[derive(Debug)]
    pub struct HeapRegion {
        base: *mut u8,
        geometry: Geometry,
        /// Frees the memory when the last of this and every handle is gone.
        alloc: Arc<Alloc>,
    }

    /// The allocation, freed when the last `HeapRegion` or [`Region`] handle
    /// made from it drops (handles hold it through [`KeepAlive`]).
    #[derive(Debug)]
    struct Alloc {
        base: *mut u8,
        words: usize,
    }

    // SAFETY: the allocation is shared memory by design, touched only via atomics
    // and raw copies; it is freed only when the last owner drops.
    unsafe impl Send for Alloc {}
    // SAFETY: as above: `&Alloc` gives access to nothing but the pointer value.
    unsafe impl Sync for Alloc {}
    // SAFETY: `base` points into `alloc`, which lives as long as `self`; the
    // bytes are touched only via atomics and raw copies.
    unsafe impl Send for HeapRegion {}
    // SAFETY: as above.
    unsafe impl Sync for HeapRegion {}

    impl Drop for Alloc {
        fn drop(&mut self) {
            // SAFETY: rebuilds the Vec forgotten in `HeapRegion::new`, same
            // pointer and length; no handle is left (this is the last owner).
            drop(unsafe { Vec::from_raw_parts(self.base.cast::<u64>(), self.words, self.words) });
        }
    }

    impl HeapRegion {
        /// Allocates and initialises a region of `geometry`.
        pub fn new(geometry: Geometry) -> Self {
            let words = geometry.total_size() / 8;
            let mut v: Vec<u64> = std::vec![0; words];
            let base = v.as_mut_ptr().cast::<u8>();
            core::mem::forget(v);
            // SAFETY: `base` holds total_size zeroed bytes, 8-aligned, owned by us.
            unsafe { init(base, &geometry, 0) };
            HeapRegion {
                base,
                geometry,
                alloc: Arc::new(Alloc { base, words }),
            }
        }

        /// A handle to the region. It keeps the memory alive, so it (and every
        /// producer and consumer made from it) may outlive the `HeapRegion`.
        pub fn region(&self) -> Region {
            // SAFETY: `base` holds `total_size` bytes, 8-aligned, initialised for
            // `geometry`; the returned handle keeps the allocation alive.
            unsafe { Region::from_raw(self.base, self.geometry) }
                .keeping(KeepAlive(self.alloc.clone()))
        }

        /// The geometry the region was created with.
        pub fn geometry(&self) -> &Geometry {
            &self.geometry
        }

        /// Base pointer and length, e.g. to validate the header.
        pub fn as_ptr(&self) -> (*mut u8, usize) {
            (self.base, self.geometry.total_size())
        }

        /// Stores `value` into the 32-bit word at byte offset `off` (rounded
        /// down to a multiple of 4, taken modulo the size): what a hostile peer does.
        pub fn scribble(&self, off: usize, value: u32) {
            let off = (off % self.geometry.total_size()) & !3;
            // SAFETY: in bounds and 4-aligned; shared words are accessed atomically.
            let word = unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) };
            word.store(value, Ordering::Relaxed);
        }

        /// Stores `value` (truncated to an [`Index`]) into the index cell at
        /// byte offset `off` (rounded down to a multiple of 8, modulo the
        /// size), with an atomic of the cell's own width: what a hostile peer
        /// does to `head`, `tail` and the counters. Miri reports racing atomic
        /// accesses of different sizes, so tests use this for index cells and
        /// [`HeapRegion::scribble`] for 32-bit words.
        pub fn scribble_index(&self, off: usize, value: u64) {
            let off = (off % self.geometry.total_size()) & !7;
            // SAFETY: in bounds and 8-aligned (the base is 8-aligned); every bit
            // pattern is a valid integer; accessed atomically like the real cell.
            let cell = unsafe { AtomicIndex::from_ptr(self.base.add(off).cast()) };
            cell.store(value as Index, Ordering::Relaxed);
        }

        /// Loads the index cell at byte offset `off` (as [`HeapRegion::scribble_index`]).
        pub fn peek_index(&self, off: usize) -> u64 {
            let off = (off % self.geometry.total_size()) & !7;
            // SAFETY: in bounds and 8-aligned; accessed atomically like the real cell.
            let cell = unsafe { AtomicIndex::from_ptr(self.base.add(off).cast()) };
            #[allow(clippy::useless_conversion)] // u32 -> u64 on 32-bit targets
            u64::from(cell.load(Ordering::Relaxed))
        }

        /// Loads the 32-bit word at byte offset `off` (as [`HeapRegion::scribble`]).
        pub fn peek(&self, off: usize) -> u32 {
            let off = (off % self.geometry.total_size()) & !3;
            // SAFETY: in bounds and 4-aligned; shared words are accessed atomically.
            let word = unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) };
            word.load(Ordering::Relaxed)
        }
    }
}

/// Loom's heap region: the loom twin of [`Region`] built on loom atomics.
#[cfg(loom)]
#[derive(Debug)]
pub struct HeapRegion(Region);

#[cfg(loom)]
impl HeapRegion {
    /// A fresh region of `geometry` with loom atomics.
    pub fn new(geometry: crate::layout::Geometry) -> Self {
        HeapRegion(Region::new_heap(geometry))
    }
    /// A handle to the region.
    pub fn region(&self) -> Region {
        self.0.clone()
    }
}

#[cfg(not(loom))]
mod bytes_model;
#[cfg(not(loom))]
mod dense_model;
#[cfg(not(loom))]
mod model;
#[cfg(not(loom))]
mod rng;
