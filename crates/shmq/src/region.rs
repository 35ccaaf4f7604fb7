//! The owner of a mapped region: backing file, mapping and validated geometry.
//!
//! A [`Mapping`] is shared (`Arc`) by the [`crate::Queue`] handle and every
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
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A mapped region and its backing file.
#[derive(Debug)]
pub(crate) struct Mapping {
    /// The mapping; `map.len() >= geometry.total_size()`.
    map: MmapRaw,
    /// The backing file. No lock is ever taken on this open file description
    /// (endpoints lock through descriptions of their own, see [`Lock`]), so
    /// a `F_OFD_GETLK` through it sees every endpoint's lock, ours included.
    fd: OwnedFd,
    /// Validated by `layout::validate` over `map` (or computed by the creator).
    geometry: Geometry,
    backing: Backing,
    info: FileInfo,
    /// Creator only: a description of its own holding the lock on
    /// [`layout::CREATOR_LOCK_BYTE`], taken right after the exclusive
    /// create and released (closed) after `Drop` has unlinked the name. It
    /// tells `admin::gc` that the region is still owned; see there.
    _creator_lock: Option<OwnedFd>,
}

/// What a [`Mapping`]'s file is.
#[derive(Debug)]
enum Backing {
    /// `/dev/shm/<name>`, owner-only (checked on every open).
    Named {
        name: String,
        /// Remove the name when the last handle goes (creator, not persisted).
        unlink_on_drop: bool,
    },
    /// A file without a name, known by descriptor only: a sealed memfd (see
    /// [`crate::anonymous`]), or whatever `from_fd_unsealed` was given.
    Anonymous,
}

/// The byte of the backing file whose OFD write lock is the role.
fn lock_byte(role: Role) -> usize {
    match role {
        Role::Sender => offset::PRODUCER_LINE,
        Role::Receiver => offset::CONSUMER_LINE,
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
            // First of all, before the file has a size: the creator lock
            // (on a description of its own, so that liveness checks through
            // `fd` see it). Nothing else can hold a lock on a file this new:
            // `admin::gc_one` locks only regions whose `ready` is published.
            let creator = os::reopen(&fd, Some(name), &info)?;
            if !os::try_lock(&creator, layout::CREATOR_LOCK_BYTE)? {
                return Err(Error::Io(std::io::Error::other(
                    "the creator lock of a new region is held by another process",
                )));
            }
            os::set_len(&fd, geometry.total_size() as u64)?;
            Ok((map(&fd, geometry.total_size())?, creator))
        })();
        let (map, creator) = match sized {
            Ok(sized) => sized,
            Err(e) => {
                // Best effort: do not leave a half-made region behind.
                let _ = os::unlink_if_same(name, &info);
                return Err(e);
            }
        };
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
        let flags = if persist { layout::FLAG_PERSISTENT } else { 0 };
        // SAFETY: `map` is a fresh page-aligned read/write mapping of exactly
        // `geometry.total_size()` bytes that lives until the end of this call; no
        // endpoint exists yet (openers only wait for `ready`).
        unsafe { layout::init_with_flags(map.as_mut_ptr(), &geometry, pid, flags) };
        Ok(Arc::new(Mapping {
            map,
            fd,
            geometry,
            backing: Backing::Named {
                name: name.to_owned(),
                unlink_on_drop: !persist,
            },
            info,
            _creator_lock: Some(creator),
        }))
    }

    /// Creates, sizes, maps and initialises a new region in a memfd, then
    /// seals it against shrinking and growing (`F_SEAL_SHRINK | F_SEAL_GROW |
    /// F_SEAL_SEAL`), so that no holder of the descriptor can ever truncate it
    /// under a mapping.
    pub(crate) fn create_anonymous(geometry: Geometry) -> Result<Arc<Self>, Error> {
        let fd = os::memfd()?;
        let info = os::check_regular(&fd)?;
        let len = geometry.total_size();
        os::set_len(&fd, len as u64)?;
        let map = map(&fd, len)?;
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
        // SAFETY: `map` is a fresh page-aligned read/write mapping of exactly
        // `geometry.total_size()` bytes that lives until the end of this call;
        // the memfd has not been handed to anyone, so nothing else maps it.
        unsafe { layout::init(map.as_mut_ptr(), &geometry, pid) };
        os::seal(&fd)?;
        let info = FileInfo {
            size: len as u64,
            ..info
        };
        Ok(Arc::new(Mapping {
            map,
            fd,
            geometry,
            backing: Backing::Anonymous,
            info,
            _creator_lock: None,
        }))
    }

    /// Maps the region open as `fd` (handed over by another process) and
    /// validates its header. With `sealed`, the file must carry the seals
    /// [`Mapping::create_anonymous`] sets ([`Error::Unsealed`] otherwise).
    ///
    /// `fd` itself is closed: the handle uses an open file description of its
    /// own, opened through `/proc/self/fd`, so it shares none with the sender
    /// (a lock the sender took through `fd` is seen like any other).
    pub(crate) fn from_fd(fd: OwnedFd, kind: QueueKind, sealed: bool) -> Result<Arc<Self>, Error> {
        let info = os::check_regular(&fd)?;
        if sealed {
            os::check_seals(&fd)?;
        }
        let fd = os::reopen_memfd(&fd, &info)?;
        let info = os::check_regular(&fd)?;
        match Self::try_map(&fd, info.size, kind)? {
            Ok((map, geometry)) => Ok(Arc::new(Mapping {
                map,
                fd,
                geometry,
                backing: Backing::Anonymous,
                info,
                _creator_lock: None,
            })),
            Err(LayoutError::NotReady) => Err(Error::NotReady {
                waited: Duration::ZERO,
            }),
            Err(e) => Err(Error::Layout(e)),
        }
    }

    /// Opens and validates the existing region `name` of queue kind `kind`,
    /// waiting up to `ready_timeout` for its creator to finish initialising it.
    pub(crate) fn open_kind(
        name: &str,
        ready_timeout: Duration,
        kind: QueueKind,
    ) -> Result<Arc<Self>, Error> {
        os::validate_name(name)?;
        // One bound for both waits: a lease on the file (the open would
        // block; it fails at once instead, and is retried), then the creator.
        let mut backoff = Backoff::new(ready_timeout);
        let fd = loop {
            match os::open(name) {
                Err(Error::Busy { .. }) => {
                    backoff.pause().map_err(|waited| Error::Busy { waited })?;
                }
                other => break other?.0,
            }
        };
        loop {
            // Re-check the file on every attempt: its size changes while the
            // creator is between its exclusive create and `ftruncate`.
            let info = os::check_file(&fd)?;
            match Self::try_map(&fd, info.size, kind)? {
                Ok((map, geometry)) => {
                    return Ok(Arc::new(Mapping {
                        map,
                        fd,
                        geometry,
                        backing: Backing::Named {
                            name: name.to_owned(),
                            unlink_on_drop: false,
                        },
                        info,
                        _creator_lock: None,
                    }))
                }
                Err(e @ (LayoutError::NotReady | LayoutError::TooSmall { .. })) => {
                    backoff.pause().map_err(|waited| match e {
                        LayoutError::NotReady => Error::NotReady { waited },
                        other => Error::Layout(other),
                    })?;
                }
                Err(e) => return Err(Error::Layout(e)),
            }
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

    /// The region's name (empty for an anonymous region).
    pub(crate) fn name(&self) -> &str {
        match &self.backing {
            Backing::Named { name, .. } => name,
            Backing::Anonymous => "",
        }
    }

    /// A new open file description of the backing file, for one endpoint's
    /// lock (see [`Lock`]) or to hand the region to another process. Never
    /// blocks.
    pub(crate) fn new_description(&self) -> Result<OwnedFd, Error> {
        match &self.backing {
            Backing::Named { name, .. } => os::reopen(&self.fd, Some(name), &self.info),
            Backing::Anonymous => os::reopen_memfd(&self.fd, &self.info),
        }
    }

    /// Whether an endpoint (of any process, this one included) holds a lock
    /// on byte `byte`: one `fcntl(F_OFD_GETLK)` through the handle's own
    /// description, which holds no lock.
    pub(crate) fn byte_locked(&self, byte: usize) -> std::io::Result<bool> {
        os::is_locked_by_other(&self.fd, byte)
    }

    /// Takes `role` for the lifetime of the returned guard.
    pub(crate) fn take_role(self: &Arc<Self>, role: Role) -> Result<RoleGuard, Error> {
        match Lock::take(self, lock_byte(role))? {
            Some(lock) => Ok(RoleGuard {
                mapping: Arc::clone(self),
                role,
                lock,
            }),
            None => Err(Error::RoleTaken(role)),
        }
    }

    /// Whether some endpoint (of any process) holds `role` right now. One
    /// `fcntl(F_OFD_GETLK)`. An unexpected error of the check counts as
    /// "alive" (never a false disconnect; the caller's timeout still bounds
    /// its wait).
    pub(crate) fn role_alive(&self, role: Role) -> bool {
        self.byte_locked(lock_byte(role)).unwrap_or(true)
    }
}

/// An endpoint's lock: the OFD write lock on one byte of the backing file,
/// taken through an open file description of the endpoint's own.
///
/// OFD locks never conflict within one description, and after `fork()` the
/// child shares every description of the parent. A lock taken on the
/// handle's description would therefore not exclude a second endpoint of the
/// same handle in a forked child (or parent), and a liveness check through
/// it would not see that endpoint's lock. With a description per endpoint
/// the kernel decides conflicts and liveness between endpoints of any
/// processes, this one included. The description is closed (releasing the
/// lock if [`Lock::release`] was not called) when the endpoint drops; a child
/// that inherited it keeps it open, and the lock held, until it exits or
/// drops its copy.
#[derive(Debug)]
pub(crate) struct Lock {
    fd: OwnedFd,
    byte: usize,
    released: bool,
}

impl Lock {
    /// Tries to lock `byte` through a new description of `mapping`'s file;
    /// `Ok(None)` if any other endpoint holds it.
    pub(crate) fn take(mapping: &Mapping, byte: usize) -> Result<Option<Lock>, Error> {
        Lock::take_first(mapping, std::iter::once(byte), |_, _| true)
    }

    /// Tries bytes from `bytes` in order on one new description, returning
    /// the lock on the first one taken that `accept(index, byte)` agreed to
    /// keep (a byte it refuses is unlocked again); `Ok(None)` if none.
    pub(crate) fn take_first(
        mapping: &Mapping,
        bytes: impl Iterator<Item = usize>,
        mut accept: impl FnMut(usize, usize) -> bool,
    ) -> Result<Option<Lock>, Error> {
        let fd = mapping.new_description()?;
        for (i, byte) in bytes.enumerate() {
            if !os::try_lock(&fd, byte)? {
                continue;
            }
            if accept(i, byte) {
                return Ok(Some(Lock {
                    fd,
                    byte,
                    released: false,
                }));
            }
            // If unlocking fails the lock still goes when `fd` closes.
            let _ = os::unlock(&fd, byte);
        }
        Ok(None)
    }

    /// Unlocks now (idempotent; the description itself closes on drop).
    pub(crate) fn release(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        // If unlocking fails the lock still goes when the descriptor closes.
        let _ = os::unlock(&self.fd, self.byte);
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.release();
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Backing::Named {
            name,
            unlink_on_drop: true,
        } = &self.backing
        {
            // Nothing to report to from a destructor; `remove` can retry.
            let _ = os::unlink_if_same(name, &self.info);
        }
    }
}

/// The pause between attempts of a bounded wait (20 µs, doubling up to
/// 1 ms), and its bound.
#[derive(Debug)]
struct Backoff {
    start: Instant,
    timeout: Duration,
    pause: Duration,
}

impl Backoff {
    fn new(timeout: Duration) -> Self {
        Backoff {
            start: Instant::now(),
            timeout,
            pause: Duration::from_micros(20),
        }
    }

    /// Sleeps before the next attempt; `Err(waited)` once the bound has passed.
    fn pause(&mut self) -> Result<(), Duration> {
        let waited = self.start.elapsed();
        if waited >= self.timeout {
            return Err(waited);
        }
        std::thread::sleep(self.pause.min(self.timeout - waited));
        self.pause = (self.pause * 2).min(Duration::from_millis(1));
        Ok(())
    }
}

/// A role held through an open file description of its own ([`Lock`]);
/// released on drop.
#[derive(Debug)]
pub struct RoleGuard {
    mapping: Arc<Mapping>,
    role: Role,
    lock: Lock,
}

impl RoleGuard {
    /// The mapping the role is held on.
    pub(crate) fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }

    /// Whether the *other* role is held by a live endpoint.
    pub(crate) fn peer_alive(&self) -> bool {
        let peer = match self.role {
            Role::Sender => Role::Receiver,
            Role::Receiver => Role::Sender,
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
        self.lock.release();
    }
}
