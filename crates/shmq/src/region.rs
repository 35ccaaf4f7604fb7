//! The owner of a mapped region: backing file, mapping and validated geometry.
//!
//! A [`Mapping`] is shared (`Arc`) by the [`crate::spsc::Queue`] handle and every
//! endpoint built from it, so the bytes stay mapped while any of them lives;
//! that is what makes handing out [`shmq_core::region::Region`]s sound.
//!
//! The mapping is a [`memmap2::MmapRaw`], which hands out raw pointers only: no
//! `&[u8]` or `&T` is ever formed into bytes that peers write.

use crate::error::{Error, Role};
use crate::os::{self, FileInfo};
use memmap2::{MmapOptions, MmapRaw};
use shmq_core::layout::{self, offset, Geometry, LayoutError, QueueKind, HEADER_SIZE};
use shmq_core::region::Region;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A mapped region and its backing file.
#[derive(Debug)]
pub(crate) struct Mapping {
    /// The mapping; `map.len() >= geometry.total_size()`.
    map: MmapRaw,
    /// The backing file. Role locks are taken on this open file description.
    fd: OwnedFd,
    /// Validated by `layout::validate` over `map` (or computed by the creator).
    geometry: Geometry,
    name: String,
    info: FileInfo,
    /// Remove the name when the last handle goes (creator, not persisted).
    unlink_on_drop: bool,
    /// Whether an endpoint of this process holds the role through *this* open
    /// file description (index: [`role_index`]). OFD locks do not conflict with
    /// themselves, so this flag is what excludes a second endpoint built from
    /// the same handle, and what tells a liveness check that a lock on our
    /// own description is held.
    held: [AtomicBool; 2],
}

fn role_index(role: Role) -> usize {
    match role {
        Role::Producer => 0,
        Role::Consumer => 1,
    }
}

/// The byte of the backing file whose OFD write lock is the role.
fn lock_byte(role: Role) -> usize {
    match role {
        Role::Producer => offset::PRODUCER_LINE,
        Role::Consumer => offset::CONSUMER_LINE,
    }
}

fn map(fd: &OwnedFd, len: usize) -> Result<MmapRaw, Error> {
    Ok(MmapOptions::new().len(len).map_raw(fd)?)
}

impl Mapping {
    /// Creates, sizes, maps and initialises a new region called `name`.
    pub(crate) fn create(
        name: &str,
        geometry: Geometry,
        persist: bool,
    ) -> Result<Arc<Self>, Error> {
        os::validate_name(name)?;
        let (fd, info) = os::create(name)?;
        let sized = (|| {
            os::set_len(&fd, geometry.total_size() as u64)?;
            map(&fd, geometry.total_size())
        })();
        let map = match sized {
            Ok(map) => map,
            Err(e) => {
                // Best effort: do not leave a half-made region behind.
                let _ = os::unlink_if_same(name, &info);
                return Err(e);
            }
        };
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
        // SAFETY: `map` is a fresh page-aligned read/write mapping of exactly
        // `geometry.total_size()` bytes that lives until the end of this call; no
        // endpoint exists yet (openers only wait for `ready`).
        unsafe { layout::init(map.as_mut_ptr(), &geometry, pid) };
        Ok(Arc::new(Mapping {
            map,
            fd,
            geometry,
            name: name.to_owned(),
            info,
            unlink_on_drop: !persist,
            held: [AtomicBool::new(false), AtomicBool::new(false)],
        }))
    }

    /// Opens and validates the existing region `name`, waiting up to
    /// `ready_timeout` for its creator to finish initialising it.
    pub(crate) fn open(name: &str, ready_timeout: Duration) -> Result<Arc<Self>, Error> {
        Self::open_kind(name, ready_timeout, QueueKind::Spsc)
    }

    /// As [`Mapping::open`], for a region of queue kind `kind`.
    pub(crate) fn open_kind(
        name: &str,
        ready_timeout: Duration,
        kind: QueueKind,
    ) -> Result<Arc<Self>, Error> {
        os::validate_name(name)?;
        let (fd, _) = os::open(name)?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(20);
        loop {
            // Re-check the file on every attempt: its size changes while the
            // creator is between its exclusive create and `ftruncate`.
            let info = os::check_file(&fd)?;
            let attempt = Self::try_map(&fd, info.size, kind)?;
            let error = match attempt {
                Ok((map, geometry)) => {
                    return Ok(Arc::new(Mapping {
                        map,
                        fd,
                        geometry,
                        name: name.to_owned(),
                        info,
                        unlink_on_drop: false,
                        held: [AtomicBool::new(false), AtomicBool::new(false)],
                    }))
                }
                Err(e) => e,
            };
            let waited = start.elapsed();
            let retry = matches!(error, LayoutError::NotReady | LayoutError::TooSmall { .. });
            if !retry {
                return Err(Error::Layout(error));
            }
            if waited >= ready_timeout {
                return Err(match error {
                    LayoutError::NotReady => Error::NotReady { waited },
                    other => Error::Layout(other),
                });
            }
            std::thread::sleep(pause.min(ready_timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(1));
        }
    }

    /// Maps exactly `size` bytes and validates the header over them. The outer
    /// `Result` is a system error, the inner one what the header says.
    fn try_map(
        fd: &OwnedFd,
        size: u64,
        kind: QueueKind,
    ) -> Result<Result<(MmapRaw, Geometry), LayoutError>, Error> {
        if size < HEADER_SIZE as u64 {
            // Not even a header yet (the creator has not called `ftruncate`);
            // `mmap` of zero bytes would fail, so do not map at all.
            return Ok(Err(LayoutError::TooSmall {
                mapped: size as usize,
            }));
        }
        let len = match usize::try_from(size) {
            Ok(len) if size <= layout::MAX_TOTAL_SIZE => len,
            _ => return Ok(Err(LayoutError::SizeOverflow)),
        };
        let map = map(fd, len)?;
        // SAFETY: `map` is a readable mapping of `map.len()` bytes that outlives
        // the call; concurrent writes by other processes are allowed by
        // `validate`, which reads through atomics only.
        let checked = unsafe { layout::validate(map.as_ptr(), map.len(), kind) };
        Ok(checked.map(|geometry| (map, geometry)))
    }

    /// A handle to the region's bytes. It must not outlive `self` (every
    /// endpoint keeps an `Arc<Mapping>` next to the handle).
    pub(crate) fn region(&self) -> Region {
        // SAFETY: the base is page aligned (hence 8-aligned) and non-null, the
        // mapping is read/write and at least `geometry.total_size()` bytes long
        // (checked by `validate` against `map.len()`, or sized so by `create`);
        // `geometry` came from `validate` or was passed to `init` on these
        // bytes; every holder of the returned handle also holds an
        // `Arc<Mapping>`, so the bytes stay mapped while the handle lives.
        unsafe { Region::from_raw(self.map.as_mut_ptr(), self.geometry) }
    }

    /// The validated geometry.
    pub(crate) fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The region's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Tries to take the OFD write lock on byte `byte` of the backing file
    /// (MPMC endpoint-table entries); `Ok(false)` if another description holds it.
    pub(crate) fn try_lock_byte(&self, byte: usize) -> std::io::Result<bool> {
        os::try_lock(&self.fd, byte)
    }

    /// Releases this description's lock on byte `byte`.
    pub(crate) fn unlock_byte(&self, byte: usize) -> std::io::Result<()> {
        os::unlock(&self.fd, byte)
    }

    /// Whether another open file description holds a lock on byte `byte`.
    pub(crate) fn byte_locked_by_other(&self, byte: usize) -> std::io::Result<bool> {
        os::is_locked_by_other(&self.fd, byte)
    }

    /// Takes `role` for the lifetime of the returned guard.
    pub(crate) fn take_role(self: &Arc<Self>, role: Role) -> Result<RoleGuard, Error> {
        let held = &self.held[role_index(role)];
        // Relaxed: the flag only excludes a second taker through this handle;
        // it publishes no data (the region's words carry their own orderings).
        if held.swap(true, Ordering::Relaxed) {
            return Err(Error::RoleTaken(role));
        }
        match os::try_lock(&self.fd, lock_byte(role)) {
            Ok(true) => Ok(RoleGuard {
                mapping: Arc::clone(self),
                role,
                released: false,
            }),
            Ok(false) => {
                held.store(false, Ordering::Relaxed);
                Err(Error::RoleTaken(role))
            }
            Err(e) => {
                held.store(false, Ordering::Relaxed);
                Err(Error::Io(e))
            }
        }
    }

    /// Whether some endpoint (of any process) holds `role` right now. One
    /// `fcntl(F_OFD_GETLK)` unless this handle's own endpoint holds it.
    /// An unexpected error of the check counts as "alive" (never a false
    /// disconnect; the caller's timeout still bounds its wait).
    pub(crate) fn role_alive(&self, role: Role) -> bool {
        // Relaxed: see `take_role`.
        if self.held[role_index(role)].load(Ordering::Relaxed) {
            return true;
        }
        os::is_locked_by_other(&self.fd, lock_byte(role)).unwrap_or(true)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.unlink_on_drop {
            // Nothing to report to from a destructor; `remove` can retry.
            let _ = os::unlink_if_same(&self.name, &self.info);
        }
    }
}

/// A role held through a [`Mapping`]'s open file description; released on drop.
#[derive(Debug)]
pub(crate) struct RoleGuard {
    mapping: Arc<Mapping>,
    role: Role,
    /// Whether [`RoleGuard::release`] already unlocked the role.
    released: bool,
}

impl RoleGuard {
    /// The mapping the role is held on.
    pub(crate) fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }

    /// Whether the *other* role is held by a live endpoint.
    pub(crate) fn peer_alive(&self) -> bool {
        let peer = match self.role {
            Role::Producer => Role::Consumer,
            Role::Consumer => Role::Producer,
        };
        self.mapping.role_alive(peer)
    }
}

impl RoleGuard {
    /// Releases the role now (idempotent; `Drop` calls it too). The mapping
    /// stays alive until the guard drops, so an endpoint can release its
    /// role first and then wake a sleeping peer, which then finds the lock
    /// free at once.
    pub(crate) fn release(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        // If unlocking fails the lock still goes when the descriptor closes.
        let _ = os::unlock(&self.mapping.fd, lock_byte(self.role));
        // Relaxed: see `Mapping::take_role`.
        self.mapping.held[role_index(self.role)].store(false, Ordering::Relaxed);
    }
}

impl Drop for RoleGuard {
    fn drop(&mut self) {
        self.release();
    }
}
