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

mod gc;

pub use gc::{gc, gc_one, remove, GcOutcome};

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

/// Path of the region `name` (not checked).
pub fn path(name: &str) -> PathBuf {
    os::path(name)
}

#[cfg(test)]
mod tests;
