//! A region on the heap, for tests, examples, Miri and loom (feature `testing`).
//!
//! Production code maps a file; tests that exercise the algorithm alone use
//! this so the same code runs under Miri and loom.

use crate::layout::Geometry;
use crate::region::Region;

#[cfg(not(loom))]
pub use raw::HeapRegion;

#[cfg(not(loom))]
mod raw {
    use super::*;
    use crate::layout::init;
    use crate::sync::{AtomicU32, Ordering};
    use std::vec::Vec;

    /// Owns zeroed, 8-aligned heap memory initialised as a region.
    ///
    /// The memory is only ever accessed through raw pointers and atomics
    /// derived once from the allocation (never through the `Vec`), exactly like
    /// a mapping.
    #[derive(Debug)]
    pub struct HeapRegion {
        base: *mut u8,
        words: usize,
        geometry: Geometry,
    }

    // SAFETY: the allocation is shared memory by design, touched only via atomics
    // and raw copies; it is freed only when the HeapRegion is dropped.
    unsafe impl Send for HeapRegion {}
    // SAFETY: as above.
    unsafe impl Sync for HeapRegion {}

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
                words,
                geometry,
            }
        }

        /// A handle to the region. The `HeapRegion` must outlive every handle,
        /// producer and consumer made from it.
        pub fn region(&self) -> Region {
            // SAFETY: the memory lives until `self` drops; the contract above
            // (documented) puts the remaining obligation on the test.
            unsafe { Region::from_raw(self.base, self.geometry) }
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
    }

    impl Drop for HeapRegion {
        fn drop(&mut self) {
            // SAFETY: rebuilds the Vec forgotten in `new`, same pointer and length.
            drop(unsafe { Vec::from_raw_parts(self.base.cast::<u64>(), self.words, self.words) });
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
    pub fn new(geometry: Geometry) -> Self {
        HeapRegion(Region::new_heap(geometry))
    }
    /// A handle to the region.
    pub fn region(&self) -> Region {
        self.0.clone()
    }
}
