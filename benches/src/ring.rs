//! How the benchmark builds a shmq SPSC ring of `u64` messages over a mapping.
//!
//! Straight from `shmq-core` (`layout::init` by the creator,
//! `layout::validate` by the other process, `Region::from_raw`): the "core"
//! cases measure the algorithm without the platform crate's endpoint layer,
//! which the "api" cases (named regions through `shmq::spsc`) measure.

use crate::shm::ShmFile;
use crate::{err, Result};
use shmq_core::layout::{self, Geometry, QueueKind};
use shmq_core::region::Region;
use shmq_core::spsc::{Consumer, Producer};

/// Slot payload size: one `u64`.
pub const U64_SLOT: u32 = 8;

/// Geometry of a ring of `capacity` `u64` slots.
///
/// # Errors
/// A capacity shmq rejects.
pub fn geometry(capacity: u32) -> Result<Geometry> {
    Geometry::new(QueueKind::Spsc, capacity, U64_SLOT).map_err(|e| err(e.to_string()))
}

/// Bytes a ring of `capacity` slots occupies in the shared file, page rounded.
///
/// # Errors
/// A capacity shmq rejects.
pub fn footprint(capacity: u32) -> Result<usize> {
    Ok(geometry(capacity)?.total_size().next_multiple_of(4096))
}

fn check_range(shm: &ShmFile, off: usize, len: usize) -> Result<()> {
    match off.checked_add(len) {
        Some(end) if end <= shm.len() && off % 4096 == 0 => Ok(()),
        _ => Err(err(format!(
            "ring at {off}+{len} outside the {}-byte map",
            shm.len()
        ))),
    }
}

/// Initialises a ring of `capacity` slots at byte `off` of `shm` (creator
/// side, before the peer is spawned) and returns its region.
///
/// # Errors
/// A bad capacity or an offset outside the mapping.
///
/// # Safety
/// The returned [`Region`] and every endpoint built from it must be dropped
/// before `shm` (the region handle carries no lifetime).
pub unsafe fn create(shm: &ShmFile, off: usize, capacity: u32) -> Result<Region> {
    let g = geometry(capacity)?;
    check_range(shm, off, g.total_size())?;
    // SAFETY: in bounds (checked), page aligned, and nobody else is attached
    // yet: the peer is spawned after this returns.
    let base = unsafe { shm.base().add(off) };
    // SAFETY: as above; `base` holds `g.total_size()` writable bytes.
    unsafe { layout::init(base, &g, std::process::id()) };
    // SAFETY: the bytes stay mapped while `shm` lives (the caller's contract),
    // and `g` was just passed to `init` on them.
    Ok(unsafe { Region::from_raw(base, g) })
}

/// Validates the ring at byte `off` of `shm` (the other process's side) and
/// returns its region.
///
/// # Errors
/// A header that does not validate, or an offset outside the mapping.
///
/// # Safety
/// As for [`create`]: drop the region and its endpoints before `shm`.
pub unsafe fn open(shm: &ShmFile, off: usize) -> Result<Region> {
    check_range(shm, off, layout::HEADER_SIZE)?;
    let mapped = shm.len() - off;
    // SAFETY: in bounds (checked), page aligned.
    let base = unsafe { shm.base().add(off) };
    // SAFETY: `base` points to `mapped` readable bytes that stay mapped during the call.
    let g = unsafe { layout::validate(base, mapped, QueueKind::Spsc) }
        .map_err(|e| err(format!("validate ring at {off}: {e}")))?;
    // SAFETY: `g` came from `validate` on these bytes; they stay mapped while
    // `shm` lives (the caller's contract).
    Ok(unsafe { Region::from_raw(base, g) })
}

/// Attaches the producer of `region`.
///
/// # Errors
/// A ring state shmq reports as a violation.
pub fn producer(region: Region) -> Result<Producer> {
    // SAFETY: each benchmark process attaches one producer per ring and uses it from one thread.
    unsafe { Producer::attach(region) }.map_err(|e| err(format!("producer attach: {e}")))
}

/// Attaches the consumer of `region`.
///
/// # Errors
/// A ring state shmq reports as a violation.
pub fn consumer(region: Region) -> Result<Consumer> {
    // SAFETY: each benchmark process attaches one consumer per ring and uses it from one thread.
    unsafe { Consumer::attach(region) }.map_err(|e| err(format!("consumer attach: {e}")))
}
