//! Removing regions: by name ([`remove`], `shmq rm`) and the sweep of
//! regions nobody can still use ([`gc_one`], [`gc`], `shmq gc`), whose
//! soundness rests on taking every lock a user of the region would hold.
//!
//! Regions are opened and recognised as for [`inspect`](super::inspect),
//! through the same private header copy, so a sweep judges a file exactly as
//! `shmq ls` shows it.

use super::{check_name, open_region, InspectError, SHM_DIR};
use crate::os;
use shmq_core::layout::{offset, Geometry, QueueKind, CREATOR_LOCK_BYTE, FLAG_PERSISTENT};
use std::io;

/// Removes the region `name`, refusing a file that is not recognised as a
/// shmq region unless `force`. Like [`crate::spsc::remove`], it does not
/// check whether the queue is in use: processes that have it open keep their
/// mapping (use [`gc_one`] to remove only unused regions).
///
/// # Errors
/// An [`InspectError`] if the file is not a region (and not `force`), or the
/// unlink fails. A region with an invalid header is removed (it is still
/// recognised by its magic word).
pub fn remove(name: &str, force: bool) -> Result<(), InspectError> {
    check_name(name)?;
    if !force {
        match open_region(name, false) {
            Ok(_) => {}
            Err(e) if e.is_shmq() => {}
            Err(e) => return Err(e),
        }
    }
    os::unlink(name).map_err(InspectError::Unreadable)
}

/// What [`gc_one`] did with one region (or would do, on a dry run).
#[derive(Debug)]
#[non_exhaustive]
pub enum GcOutcome {
    /// Removed: no lock was held and it was not persistent.
    Removed,
    /// Dry run: would be removed now.
    WouldRemove,
    /// Kept: someone holds a lock (creator, role or entry) on it.
    InUse,
    /// Kept: its creator marked it persistent.
    Persistent,
    /// Kept: its name now refers to another file (it was removed and
    /// re-created while we looked).
    Replaced,
    /// Kept: a shmq region that cannot be judged (not ready, invalid,
    /// truncated, not ours…). `shmq rm` removes such a region by hand.
    Invalid(InspectError),
    /// Not a shmq region at all: never touched.
    NotShmq(InspectError),
}

impl GcOutcome {
    /// Whether the region was removed (or, dry run, would be).
    pub fn removed(&self) -> bool {
        matches!(self, GcOutcome::Removed | GcOutcome::WouldRemove)
    }
}

/// Removes the region `name` if nobody can still use it: no lock held on
/// the creator's byte nor on any role or endpoint-table byte, and not
/// marked persistent. With `dry_run`, only says whether it would.
///
/// # Soundness: never a queue in use
/// A region is removed only after this function holds, through a
/// description of its own, a **write lock on every one of those bytes**
/// (one `F_OFD_SETLK` each, non-blocking; any conflict keeps the region),
/// and checked, while holding them, that the name still refers to the file
/// it locked (same device and inode); the name is unlinked before the locks
/// are released. While the locks are held:
/// - *No endpoint can attach*: a role or entry lock is exactly what an
///   endpoint takes first, so it gets `RoleTaken`/`TableFull` (a spurious
///   error, for a region that has no user). One that attaches after the
///   release works on an unlinked file, as after `shmq rm`: nobody can open
///   it by name any more.
/// - *No creator is using it*: a creator takes its lock right after its
///   exclusive create, before the file has a size, and publishes `ready`
///   only after that; this function only considers a region whose header
///   is ready (and valid). So a creator whose region we see ready either
///   still holds its lock (we cannot lock: kept) or is gone. A creator that
///   drops its handle unlinks the name *before* releasing its lock, so a
///   region whose creator lock we obtained and whose name is still ours was
///   not removed by its creator either.
/// - *A concurrent create of the same name* cannot make a new file under
///   the name while ours exists (`O_EXCL`), and its new file has another
///   inode, which the check above detects. Between that check and the
///   unlink the name could change only if our file were unlinked by someone
///   else: another `gc` needs the locks we hold, its creator unlinks only
///   while holding its lock; the remaining case is an explicit removal
///   ([`remove`], `shmq rm`) of our file followed by a create of the same
///   name inside those few microseconds, the same window as a creator's own
///   unlink on drop (`/dev/shm` offers no directory lock to close it).
///
/// Sweeps may run concurrently with each other (each needs all the locks).
/// While a sweep holds a region's locks, a survivor's liveness checks on it
/// see every entry alive: they wait, never repair.
///
/// # Errors
/// Only for a name that cannot be a queue's; everything else is a
/// [`GcOutcome`].
pub fn gc_one(name: &str, dry_run: bool) -> Result<GcOutcome, InspectError> {
    check_name(name)?;
    let r = match open_region(name, true) {
        Ok(r) => r,
        Err(e) if e.is_shmq() => return Ok(GcOutcome::Invalid(e)),
        Err(e) => return Ok(GcOutcome::NotShmq(e)),
    };
    // Only our own regions (the same rule as an open): never touch another
    // user's file, even in a directory that would let us.
    if let Err(e) = os::check_file(&r.file) {
        return Ok(GcOutcome::Invalid(InspectError::Refused(e)));
    }
    if r.header.u32_at(offset::FLAGS) & FLAG_PERSISTENT != 0 {
        return Ok(GcOutcome::Persistent);
    }
    let bytes = lock_bytes(&r.geometry);
    for &byte in &bytes {
        match os::is_locked_by_other(&r.file, byte) {
            Ok(false) => {}
            Ok(true) | Err(_) => return Ok(GcOutcome::InUse),
        }
    }
    if dry_run {
        return Ok(GcOutcome::WouldRemove);
    }
    // Take every lock; any conflict (or error) keeps the region. The locks
    // go when `r.file` closes, on every path out of this function.
    for &byte in &bytes {
        match os::try_lock(&r.file, byte) {
            Ok(true) => {}
            Ok(false) | Err(_) => return Ok(GcOutcome::InUse),
        }
    }
    let same = os::identity(name).map(|id| (id.dev, id.ino) == (r.dev, r.ino));
    match same {
        Ok(true) => {}
        Ok(false) | Err(_) => return Ok(GcOutcome::Replaced),
    }
    match os::unlink(name) {
        Ok(()) => Ok(GcOutcome::Removed),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(GcOutcome::Replaced),
        Err(e) => Ok(GcOutcome::Invalid(InspectError::Io(e))),
    }
}

/// [`gc_one`] over every shmq region in [`SHM_DIR`] whose name starts with
/// `prefix` (all of them for `""`), sorted by name; files that are not shmq
/// regions are left out of the result (and untouched).
///
/// # Errors
/// Only if the directory cannot be read.
pub fn gc(prefix: &str, dry_run: bool) -> io::Result<Vec<(String, GcOutcome)>> {
    let mut names: Vec<String> = std::fs::read_dir(SHM_DIR)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .filter_map(|name| match gc_one(&name, dry_run) {
            Ok(GcOutcome::NotShmq(_)) | Err(_) => None,
            Ok(outcome) => Some((name, outcome)),
        })
        .collect())
}

/// The bytes whose locks say who uses a region of `geometry`: the creator's
/// byte, then each role (the single-producer kinds: SPSC, bytes, dense) or
/// endpoint-table entry (MPMC).
fn lock_bytes(geometry: &Geometry) -> Vec<usize> {
    let mut bytes = vec![CREATOR_LOCK_BYTE];
    match geometry.kind() {
        QueueKind::Mpmc => {
            bytes.extend((0..geometry.endpoints() as usize).map(|e| geometry.entry_offset(e)))
        }
        _ => bytes.extend([offset::PRODUCER_LINE, offset::CONSUMER_LINE]),
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::super::tests::{poke, unique};
    use super::super::{inspect, path};
    use super::*;
    use crate::spsc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn gc_keeps_held_regions_and_removes_unheld_ones() {
        let name = unique("gc");
        // Created persistent, then the mark cleared: a region without a
        // creator, whose only user is an endpoint of another handle.
        let q = spsc::Queue::builder(&name).persist(true).create().unwrap();
        assert!(matches!(
            gc_one(&name, false).unwrap(),
            GcOutcome::Persistent
        ));
        drop(q);
        poke(&name, offset::FLAGS as u64, 0);
        let other = spsc::Queue::open(&name).unwrap();
        let rx = other.receiver().unwrap();
        assert!(!inspect(&name).unwrap().creator_alive);
        assert!(matches!(gc_one(&name, false).unwrap(), GcOutcome::InUse));
        assert!(matches!(gc_one(&name, true).unwrap(), GcOutcome::InUse));
        drop(rx);
        assert!(matches!(
            gc_one(&name, true).unwrap(),
            GcOutcome::WouldRemove
        ));
        assert!(path(&name).exists());
        assert!(matches!(gc_one(&name, false).unwrap(), GcOutcome::Removed));
        assert!(!path(&name).exists());
        // The handle still works on its (unlinked) mapping.
        assert_eq!(other.capacity(), 1024);
    }

    #[test]
    fn gc_never_removes_a_region_while_its_creator_holds_it() {
        /// Stops the sweeping thread however the test ends (a panic too).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let name = unique("race");
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let _ = gc_one(&name, false);
                    std::thread::yield_now();
                }
            });
            let _stop = Stop(&stop);
            for _ in 0..300 {
                let q = spsc::Queue::create(&name, Default::default()).unwrap();
                // Held by its creator only (no endpoint yet), then by both.
                std::thread::yield_now();
                assert!(path(&name).exists(), "removed while its creator held it");
                let tx = q.sender().unwrap();
                std::thread::yield_now();
                assert!(path(&name).exists(), "removed while its creator held it");
                drop(tx);
                drop(q); // unlinks it
            }
        });
    }
}
