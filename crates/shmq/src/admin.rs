//! Looking at queues from the outside: list, inspect, remove and sweep the
//! regions in `/dev/shm` without taking any role (what the `shmq` command
//! calls; other programs can too).
//!
//! Every file looked at is **untrusted input**. It is opened
//! `O_NONBLOCK | O_NOFOLLOW` (a FIFO or a file with a lease cannot block
//! the caller, a symbolic link is refused) after `lstat` says it is a
//! regular file; it is never mapped: the header and the MPMC endpoint table
//! are *copied* out with `pread` into private memory, so a file truncated
//! meanwhile gives a short read (an error), never `SIGBUS`, and a peer
//! rewriting words meanwhile changes nothing this module reads twice. The
//! header goes through the same validation as an open
//! ([`shmq_core::layout::validate`]), over the private copy. A file is
//! *recognised* as a shmq region by its header (size and magic word), never
//! by its name; anything wrong after that is an [`InspectError`] for that
//! one region.
//!
//! Who holds what is asked of the kernel: `F_OFD_GETLK` on each role or
//! endpoint-table byte, and on the creator's byte
//! ([`shmq_core::layout::CREATOR_LOCK_BYTE`]), through a description this
//! module opened itself and which holds no lock, so the locks of this very
//! process count too. A role whose state word says "attached" but whose lock
//! is free belongs to a process that died.
//!
//! ```
//! # let name = format!("shmq-doc-admin-{}", std::process::id());
//! let q = shmq::spsc::Queue::create(&name, Default::default())?;
//! let _tx = q.sender()?;
//! let info = shmq::admin::inspect(&name).unwrap();
//! assert_eq!(info.capacity, 1024);
//! assert!(info.creator_alive);
//! assert_eq!(info.senders(), (1, 0)); // one alive, none dead
//! // In use: a sweep leaves it alone.
//! let swept = shmq::admin::gc_one(&name, false).unwrap();
//! assert!(!swept.removed());
//! # Ok::<(), shmq::Error>(())
//! ```

use crate::os;
use shmq_core::layout::{
    self, offset, EndpointState, Geometry, LayoutError, QueueKind, CREATOR_LOCK_BYTE, ENTRY_SIZE,
    FLAG_PERSISTENT, HEADER_SIZE, MAGIC,
};
use shmq_core::mpmc::{entry, role};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::SystemTime;

/// Directory the regions live in.
pub const SHM_DIR: &str = os::SHM_DIR;

/// The name of a queue kind as the crate's modules spell it: `"spsc"`,
/// `"mpmc"`, `"bytes"`, `"dense"` (`"unknown"` for a kind this version
/// does not name).
///
/// ```
/// use shmq_core::layout::QueueKind;
/// assert_eq!(shmq::admin::kind_name(QueueKind::Dense), "dense");
/// ```
pub fn kind_name(kind: QueueKind) -> &'static str {
    match kind {
        QueueKind::Spsc => "spsc",
        QueueKind::Mpmc => "mpmc",
        QueueKind::Bytes => "bytes",
        QueueKind::Dense => "dense",
        _ => "unknown",
    }
}

/// Why one file could not be shown as a region.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The name cannot be a queue's (see [`crate::spsc::Builder::create`]).
    #[error("invalid queue name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The file could not be looked at (no such file, permission denied…);
    /// whether it is a shmq region is unknown.
    #[error("cannot read: {0}")]
    Unreadable(io::Error),
    /// The file is not a shmq region (not a regular file, smaller than a
    /// header, or without the magic word). A region whose creator has not
    /// yet written its header looks like this too.
    #[error("not a shmq region: {0}")]
    NotShmq(&'static str),
    /// The region's creator has not published its header (it is being
    /// created, or its creator died before finishing).
    #[error("not ready: its creator has not finished initialising it (or died before it did)")]
    NotReady,
    /// A shmq region whose header is invalid (scribbled, or another layout
    /// version or index width).
    #[error("invalid header: {0}")]
    Invalid(LayoutError),
    /// The file is shorter than its (valid) header says.
    #[error("truncated: the file has {size} bytes, the header needs {needed}")]
    Truncated {
        /// Bytes in the file.
        size: u64,
        /// Bytes the header describes.
        needed: u64,
    },
    /// The file fails the checks of an open (another user's file, or
    /// writable by group or others).
    #[error("refused: {0}")]
    Refused(crate::Error),
    /// A system call failed after the region was recognised.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

impl InspectError {
    /// Whether the file was recognised as a shmq region (the error is then
    /// about the region; otherwise the file is just something else).
    pub fn is_shmq(&self) -> bool {
        !matches!(
            self,
            InspectError::InvalidName { .. }
                | InspectError::Unreadable(_)
                | InspectError::NotShmq(_)
        )
    }
}

/// The side of a queue an endpoint is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Side {
    /// A sender (the SPSC producer, or an MPMC producer entry).
    Sender,
    /// A receiver (the SPSC consumer, or an MPMC consumer entry).
    Receiver,
    /// An MPMC entry whose lock is held but whose role word is not (yet) a
    /// valid role: an endpoint between taking its lock and storing its role,
    /// or a scribbled word.
    Unknown,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Sender => "sender",
            Side::Receiver => "receiver",
            Side::Unknown => "unknown",
        })
    }
}

/// One held (or last held) endpoint role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// SPSC: 0 for the sender, 1 for the receiver. MPMC: the table entry.
    pub slot: usize,
    /// Which side.
    pub side: Side,
    /// `true`: a live process holds the role's lock. `false`: the role was
    /// taken and never released, and nobody holds its lock: its holder died.
    pub alive: bool,
}

/// Counters of a region (a snapshot; its endpoints write them). Entries that
/// a kind does not keep are `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages (MPMC: positions) enqueued: the tail cursor (byte rings: a
    /// message counter of their own, their tail counts bytes).
    pub enqueued: u64,
    /// Messages (MPMC: positions) dequeued: the head cursor (byte rings: a
    /// message counter).
    pub dequeued: u64,
    /// Single-producer kinds (SPSC, bytes, dense): times the producer found
    /// the ring full.
    pub full: Option<u64>,
    /// Single-producer kinds: times the consumer found the ring empty.
    pub empty: Option<u64>,
    /// MPMC: full or empty polls, summed over the endpoint table.
    pub idle: Option<u64>,
    /// Violations detected by senders.
    pub sender_poisonings: u64,
    /// Violations detected by receivers.
    pub receiver_poisonings: u64,
    /// MPMC: positions skipped because their sender died after claiming.
    pub skipped: Option<u64>,
    /// MPMC: committed messages lost with a receiver that died holding them.
    pub lost: Option<u64>,
    /// Receiver registrations to sleep for data.
    pub receiver_sleeps: u32,
    /// Receiver wake-ups nobody sent.
    pub receiver_spurious: u32,
    /// Wake calls made for sleeping receivers.
    pub data_wakes: u32,
    /// Sender registrations to sleep for room.
    pub sender_sleeps: u32,
    /// Sender wake-ups nobody sent.
    pub sender_spurious: u32,
    /// Wake calls made for sleeping senders.
    pub room_wakes: u32,
}

/// What a region's header, counters and locks say, read once.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegionInfo {
    /// The region's name (its file name in [`SHM_DIR`]).
    pub name: String,
    /// Queue kind.
    pub kind: QueueKind,
    /// Number of slots (dense: records; bytes: data bytes).
    pub capacity: u32,
    /// Largest message in bytes (dense: the size of every record).
    pub slot_size: u32,
    /// Bytes between slots (dense: the record size rounded up to 8, no
    /// slot header).
    pub stride: usize,
    /// MPMC endpoint-table entries (0 for SPSC).
    pub max_endpoints: u32,
    /// Bytes the header describes.
    pub total_size: u64,
    /// Bytes in the file.
    pub file_size: u64,
    /// The creator asked the region to outlive it ([`FLAG_PERSISTENT`]).
    pub persistent: bool,
    /// Pid the creator wrote (informational: the creator may be gone and
    /// the pid reused).
    pub creator_pid: u32,
    /// Whether a live process holds the creator's lock (its handle, or an
    /// endpoint made from it, is alive).
    pub creator_alive: bool,
    /// The sticky poisoned word is set.
    pub poisoned: bool,
    /// Messages queued (`enqueued − dequeued`; MPMC: positions, skipped
    /// ones included); `None` if the cursors are more than `capacity`
    /// apart (impossible for honest endpoints).
    pub queued: Option<u64>,
    /// The counters.
    pub counters: Counters,
    /// Every role taken and not released (alive or dead holder), in slot order.
    pub endpoints: Vec<Endpoint>,
    /// When the file was created (or, where the file system does not tell,
    /// last modified).
    pub created: Option<SystemTime>,
}

impl RegionInfo {
    fn count(&self, side: Side) -> (usize, usize) {
        let of = |alive| {
            self.endpoints
                .iter()
                .filter(|e| e.side == side && e.alive == alive)
                .count()
        };
        (of(true), of(false))
    }

    /// Senders as `(alive, dead)`.
    pub fn senders(&self) -> (usize, usize) {
        self.count(Side::Sender)
    }

    /// Receivers as `(alive, dead)`.
    pub fn receivers(&self) -> (usize, usize) {
        self.count(Side::Receiver)
    }

    /// Whether any lock (creator, role or entry) is held right now.
    pub fn in_use(&self) -> bool {
        self.creator_alive || self.endpoints.iter().any(|e| e.alive)
    }
}

/// One directory entry of [`list`]: a name and what inspecting it gave.
#[derive(Debug)]
pub struct Listed {
    /// File name in [`SHM_DIR`].
    pub name: String,
    /// The region, or why it could not be shown.
    pub result: Result<RegionInfo, InspectError>,
}

/// Lists every entry of [`SHM_DIR`] (sorted by name) with what
/// [`inspect`] says of it. Entries that are not shmq regions are included
/// (their error says so, see [`InspectError::is_shmq`]); the caller filters.
///
/// # Errors
/// Only if the directory itself cannot be read.
pub fn list() -> io::Result<Vec<Listed>> {
    let mut names: Vec<String> = std::fs::read_dir(SHM_DIR)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .map(|name| Listed {
            result: inspect(&name),
            name,
        })
        .collect())
}

/// A header copied out of a region into private memory, 8-aligned as
/// [`layout::validate`] requires.
#[repr(C, align(8))]
struct HeaderCopy([u8; HEADER_SIZE]);

impl HeaderCopy {
    fn u32_at(&self, off: usize) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.0[off..off + 4]);
        u32::from_ne_bytes(b)
    }

    /// An index cell, of the validated width (`width` is 4 or 8).
    fn index_at(&self, off: usize, width: u32) -> u64 {
        if width == 4 {
            u64::from(self.u32_at(off))
        } else {
            let mut b = [0; 8];
            b.copy_from_slice(&self.0[off..off + 8]);
            u64::from_ne_bytes(b)
        }
    }
}

/// A region file opened for looking, with its validated header copy.
struct Opened {
    file: File,
    header: HeaderCopy,
    geometry: Geometry,
    size: u64,
    dev: u64,
    ino: u64,
    created: Option<SystemTime>,
}

fn check_name(name: &str) -> Result<(), InspectError> {
    os::validate_name(name).map_err(|e| match e {
        crate::Error::InvalidName { name, reason } => InspectError::InvalidName { name, reason },
        _ => InspectError::NotShmq("invalid name"),
    })
}

/// Opens `name` (read-only, or read-write for `gc`) without blocking and
/// validates its header copy.
fn open_region(name: &str, write: bool) -> Result<Opened, InspectError> {
    check_name(name)?;
    let (fd, id) = match os::open_inspect(name, write) {
        Ok(Some(opened)) => opened,
        Ok(None) => return Err(InspectError::NotShmq("not a regular file")),
        Err(e) => return Err(InspectError::Unreadable(e)),
    };
    let size = id.size;
    if size < HEADER_SIZE as u64 {
        return Err(InspectError::NotShmq("smaller than a region header"));
    }
    let file = File::from(fd);
    let created = file
        .metadata()
        .ok()
        .and_then(|m| m.created().or_else(|_| m.modified()).ok());
    let mut header = HeaderCopy([0; HEADER_SIZE]);
    file.read_exact_at(&mut header.0, 0)
        .map_err(InspectError::Unreadable)?;
    if header.u32_at(offset::MAGIC) != MAGIC {
        return Err(InspectError::NotShmq("no shmq magic word"));
    }
    let geometry = validate_copy(&header, size)?;
    Ok(Opened {
        file,
        header,
        geometry,
        size,
        dev: id.dev,
        ino: id.ino,
        created,
    })
}

/// Runs [`layout::validate`] over the private header copy. It is told that
/// only the header is mapped, so a valid header ends in `SizeMismatch`
/// (its last check) with matching `header`/`computed` sizes; the file size
/// is then checked here against the size the header describes.
fn validate_copy(header: &HeaderCopy, file_size: u64) -> Result<Geometry, InspectError> {
    let code = header.u32_at(offset::KIND);
    // An unknown kind code fails validation for any kind: ask for SPSC.
    let kind = QueueKind::from_code(code).unwrap_or(QueueKind::Spsc);
    // SAFETY: `header` is HEADER_SIZE bytes of private memory, 8-aligned
    // (`HeaderCopy`'s repr), borrowed for the whole call; nobody writes it.
    let checked = unsafe { layout::validate(header.0.as_ptr(), HEADER_SIZE, kind) };
    let geometry = match checked {
        Ok(g) => g,
        Err(LayoutError::NotReady) => return Err(InspectError::NotReady),
        Err(LayoutError::SizeMismatch {
            header: h,
            computed,
            ..
        }) if h == computed => {
            // Every field passed; rebuild the geometry from the same
            // (private, unchanging) words.
            let cap = header.u32_at(offset::CAPACITY);
            let slot = header.u32_at(offset::SLOT_SIZE);
            let rebuilt = match kind {
                QueueKind::Mpmc => {
                    Geometry::new_mpmc(cap, slot, header.u32_at(offset::MAX_ENDPOINTS))
                }
                _ => Geometry::new(kind, cap, slot),
            };
            rebuilt.map_err(InspectError::Invalid)?
        }
        Err(e) => return Err(InspectError::Invalid(e)),
    };
    let needed = geometry.total_size() as u64;
    if file_size < needed {
        return Err(InspectError::Truncated {
            size: file_size,
            needed,
        });
    }
    Ok(geometry)
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

/// Reads what the region `name` says about itself, without taking any role.
///
/// # Errors
/// An [`InspectError`] saying why `name` is not a shmq region, or what is
/// wrong with it. Never panics or blocks, whatever the file holds.
pub fn inspect(name: &str) -> Result<RegionInfo, InspectError> {
    let r = open_region(name, false)?;
    let g = r.geometry;
    let h = &r.header;
    let width = h.u32_at(offset::INDEX_WIDTH);
    let cell = |off| h.index_at(off, width);
    let locked = |byte| os::is_locked_by_other(&r.file, byte);
    let kind = g.kind();
    let mpmc = kind == QueueKind::Mpmc;
    // Byte rings count bytes in TAIL/HEAD and messages in cells of their own.
    let (enqueued, dequeued) = if kind == QueueKind::Bytes {
        (cell(offset::MESSAGES_SENT), cell(offset::MESSAGES_RECEIVED))
    } else {
        (cell(offset::TAIL), cell(offset::HEAD))
    };
    let mut counters = Counters {
        enqueued,
        dequeued,
        full: (!mpmc).then(|| cell(offset::FULL_COUNT)),
        empty: (!mpmc).then(|| cell(offset::EMPTY_COUNT)),
        idle: None,
        sender_poisonings: cell(offset::PRODUCER_POISON),
        receiver_poisonings: cell(offset::CONSUMER_POISON),
        skipped: mpmc.then(|| cell(offset::SKIPPED)),
        lost: mpmc.then(|| cell(offset::LOST)),
        receiver_sleeps: h.u32_at(offset::CONSUMER_SLEEPS),
        receiver_spurious: h.u32_at(offset::CONSUMER_SPURIOUS),
        data_wakes: h.u32_at(offset::DATA_WAKES),
        sender_sleeps: h.u32_at(offset::PRODUCER_SLEEPS),
        sender_spurious: h.u32_at(offset::PRODUCER_SPURIOUS),
        room_wakes: h.u32_at(offset::ROOM_WAKES),
    };
    let mut endpoints = Vec::new();
    if mpmc {
        // The table is at most MAX_ENDPOINTS (1024) entries of 128 bytes:
        // a bounded copy, sized by the validated geometry.
        let n = g.endpoints() as usize;
        let mut table = vec![0u8; n * ENTRY_SIZE];
        r.file
            .read_exact_at(&mut table, g.entry_offset(0) as u64)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => InspectError::Truncated {
                    size: r.size,
                    needed: g.total_size() as u64,
                },
                _ => InspectError::Io(e),
            })?;
        let word = |e: usize, off: usize| {
            let at = e * ENTRY_SIZE + off;
            let mut b = [0; 4];
            b.copy_from_slice(&table[at..at + 4]);
            u32::from_ne_bytes(b)
        };
        let idle_cell = |e: usize| {
            let at = e * ENTRY_SIZE + entry::IDLE;
            if width == 4 {
                u64::from(word(e, entry::IDLE))
            } else {
                let mut b = [0; 8];
                b.copy_from_slice(&table[at..at + 8]);
                u64::from_ne_bytes(b)
            }
        };
        let mut idle = 0u64;
        for e in 0..n {
            idle = idle.wrapping_add(idle_cell(e));
            let alive = locked(g.entry_offset(e))?;
            let side = match word(e, entry::ROLE) {
                role::PRODUCER => Side::Sender,
                role::CONSUMER => Side::Receiver,
                role::FREE if !alive => continue,
                _ => Side::Unknown,
            };
            endpoints.push(Endpoint {
                slot: e,
                side,
                alive,
            });
        }
        counters.idle = Some(idle);
    } else {
        let sides = [
            (Side::Sender, offset::PRODUCER_STATE, offset::PRODUCER_LINE),
            (
                Side::Receiver,
                offset::CONSUMER_STATE,
                offset::CONSUMER_LINE,
            ),
        ];
        for (slot, (side, state, byte)) in sides.into_iter().enumerate() {
            let alive = locked(byte)?;
            let taken = matches!(
                EndpointState::from_word(h.u32_at(state)),
                EndpointState::Attached | EndpointState::Invalid(_)
            );
            if alive || taken {
                endpoints.push(Endpoint { slot, side, alive });
            }
        }
    }
    let in_flight = enqueued.wrapping_sub(dequeued);
    let queued = (in_flight <= u64::from(g.capacity())).then_some(in_flight);
    Ok(RegionInfo {
        name: name.to_owned(),
        kind,
        capacity: g.capacity(),
        slot_size: g.slot_size(),
        stride: g.stride(),
        max_endpoints: g.endpoints(),
        total_size: g.total_size() as u64,
        file_size: r.size,
        persistent: h.u32_at(offset::FLAGS) & FLAG_PERSISTENT != 0,
        creator_pid: h.u32_at(offset::CREATOR_PID),
        creator_alive: locked(CREATOR_LOCK_BYTE)?,
        poisoned: h.u32_at(offset::POISONED) != 0,
        queued,
        counters,
        endpoints,
        created: r.created,
    })
}

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

/// Path of the region `name` (not checked).
pub fn path(name: &str) -> PathBuf {
    os::path(name)
}

#[cfg(test)]
mod tests;
