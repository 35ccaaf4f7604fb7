//! The one place that names atomics (the tokio/thingbuf shim pattern).
//!
//! Under `--cfg loom` every atomic and fence comes from loom so the models in
//! `tests/loom_*.rs` explore the real algorithm code; otherwise they are
//! `core::sync::atomic`. Nothing else in the crate imports atomics directly.

#[cfg(not(loom))]
pub(crate) use core::hint::spin_loop;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};
#[cfg(loom)]
pub(crate) use loom::hint::spin_loop;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};

#[cfg(all(not(loom), not(target_has_atomic = "64")))]
pub(crate) use core::sync::atomic::AtomicU32 as AtomicIndex;
#[cfg(all(not(loom), target_has_atomic = "64"))]
pub(crate) use core::sync::atomic::AtomicU64 as AtomicIndex;
#[cfg(all(loom, not(target_has_atomic = "64")))]
pub(crate) use loom::sync::atomic::AtomicU32 as AtomicIndex;
#[cfg(all(loom, target_has_atomic = "64"))]
pub(crate) use loom::sync::atomic::AtomicU64 as AtomicIndex;

/// A queue position or counter as stored in the region.
///
/// 64 bits where the target has 64-bit atomics, otherwise 32 bits; the width
/// is recorded in the header (`index_width`) and checked on open, so two
/// processes never disagree about it. All arithmetic on it wraps.
#[cfg(target_has_atomic = "64")]
pub type Index = u64;
/// A queue position or counter as stored in the region (32-bit target).
#[cfg(not(target_has_atomic = "64"))]
pub type Index = u32;
