//! The byte layout of a region and the validation of its header.
//!
//! `docs/layout.md` is the normative description; the constants here are the
//! same numbers. Every header field is a 32-bit word so that the same layout
//! can be read with 32-bit atomics on targets without 64-bit ones; fields that
//! hold an [`Index`] occupy an 8-byte cell, of which a 32-bit target uses the
//! first four bytes.
//!
//! The header is untrusted input: [`validate`] reads each field exactly once,
//! checks it against local limits and the length this process actually mapped,
//! and returns a [`Geometry`] that the rest of the crate trusts. Nothing after
//! validation re-reads a header field to size an access.

use crate::sync::Index;
#[cfg(not(loom))]
use crate::sync::{AtomicU32, Ordering};
use core::fmt;
use core::mem::size_of;

/// First word of every region: `"SHMQ"` read as a little-endian `u32`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"SHMQ");
/// The layout version this crate reads and writes.
pub const LAYOUT_VERSION: u32 = 1;
/// Value of the `ready` word once the creator has finished initialising.
pub const READY: u32 = u32::from_le_bytes(*b"RDY!");
/// Bit of the [`offset::FLAGS`] word: the creator asked the region to outlive
/// it (its name is not removed when the creator's handles go), so a stale
/// region sweep must leave it alone.
pub const FLAG_PERSISTENT: u32 = 1;
/// Byte of the backing file whose lock (an open-file-description lock, taken
/// by the platform crate) a creator holds from before it sizes the file until
/// its handle goes. Byte 0 is never an endpoint's lock byte (those are 128,
/// 256 and the MPMC entries from 512 on).
pub const CREATOR_LOCK_BYTE: usize = 0;

/// Size of the header area that precedes the slots (four 128-byte lines).
pub const HEADER_SIZE: usize = 512;
/// Alignment the region base must have (the mapping is page aligned).
pub const REGION_ALIGN: usize = 8;
/// Bytes of slot header (stamp + length) in front of each payload.
pub const SLOT_HEADER: usize = 8;
/// Largest capacity this process accepts (a local limit, not read from the region).
pub const MAX_CAPACITY: u32 = 1 << 24;
/// Largest MPMC capacity for positions of `index_bits` bits. A claim record
/// packs `position << 8 | count` into one index, so with 32-bit indices it
/// keeps 24 bits of position and compares records modulo `2^24` (signed
/// distances below `2^23`): capacities up to `2^22` keep every distance a
/// record is compared over (at most capacity + a batch) far inside that.
/// 64-bit indices keep 56 bits: [`MAX_CAPACITY`].
pub const fn max_mpmc_capacity(index_bits: u32) -> u32 {
    if index_bits >= 64 {
        MAX_CAPACITY
    } else {
        1 << 22
    }
}

/// Smallest byte-ring capacity ([`Geometry::new_bytes`]), in bytes.
pub const MIN_BYTES_CAPACITY: u32 = 64;
/// Largest byte-ring capacity this process accepts (a local limit), in bytes.
pub const MAX_BYTES_CAPACITY: u32 = 1 << 30;
/// Byte ring: bytes of record header (stamp + length) in front of each payload.
pub const RECORD_HEADER: usize = 8;
/// Byte ring: every record starts at a multiple of this many bytes.
pub const RECORD_ALIGN: usize = 8;

/// Largest slot payload this process accepts (a local limit).
pub const MAX_SLOT_SIZE: u32 = 1 << 24;
/// Largest total region this process accepts (a local limit).
pub const MAX_TOTAL_SIZE: u64 = 1 << 36;
/// Largest MPMC endpoint table this process accepts (a local limit).
pub const MAX_ENDPOINTS: u32 = 1024;
/// Bytes of one MPMC endpoint-table entry (one 128-byte line each, so the
/// entries that endpoints write on every operation never share a line).
pub const ENTRY_SIZE: usize = 128;

/// Byte offsets of the header words (see `docs/layout.md`).
pub mod offset {
    /// `u32` magic, [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// `u32` layout version.
    pub const VERSION: usize = 4;
    /// `u32` queue kind ([`super::QueueKind`]).
    pub const KIND: usize = 8;
    /// `u32` width of an index cell's value in bytes (4 or 8).
    pub const INDEX_WIDTH: usize = 12;
    /// `u32` number of slots, a power of two.
    pub const CAPACITY: usize = 16;
    /// `u32` largest payload of one slot, in bytes.
    pub const SLOT_SIZE: usize = 20;
    /// `u32` distance between slots, in bytes (derived; stored for tools, checked on open).
    pub const SLOT_STRIDE: usize = 24;
    /// `u32` MPMC only: entries of the endpoint table (0 and ignored for SPSC).
    pub const MAX_ENDPOINTS: usize = 28;
    /// `u32` low half of the total region size in bytes.
    pub const TOTAL_SIZE_LO: usize = 32;
    /// `u32` high half of the total region size in bytes.
    pub const TOTAL_SIZE_HI: usize = 36;
    /// `u32` [`super::READY`] once initialised; written last, with Release.
    pub const READY: usize = 40;
    /// `u32` sticky flag: nonzero once any endpoint detected a violation.
    pub const POISONED: usize = 44;
    /// `u32` pid of the creating process (informational only).
    pub const CREATOR_PID: usize = 48;
    /// `u32` creator's flags ([`super::FLAG_PERSISTENT`]), written before
    /// `ready` and never changed. Read only by tools (`shmq gc`); ignored by
    /// [`super::validate`], so regions of older creators (which wrote 0 here,
    /// a reserved word) read as "no flags".
    pub const FLAGS: usize = 52;
    /// `u32` [`super::EndpointState`] of the producer role. In the header line,
    /// not the producer's, because a waiting consumer polls it: the producer's
    /// line is written on every message and must not bounce.
    pub const PRODUCER_STATE: usize = 64;
    /// `u32` [`super::EndpointState`] of the consumer role (header line, as above).
    pub const CONSUMER_STATE: usize = 68;

    /// Start of the producer's line (128 bytes, written only by the producer).
    pub const PRODUCER_LINE: usize = 128;
    /// Index cell: the producer's published tail (= messages enqueued).
    pub const TAIL: usize = PRODUCER_LINE;
    /// Index cell: times the producer found the ring full.
    pub const FULL_COUNT: usize = PRODUCER_LINE + 8;
    /// Index cell: violations the producer detected.
    pub const PRODUCER_POISON: usize = PRODUCER_LINE + 16;
    /// Index cell, MPMC only: positions skipped because their producer died
    /// after claiming them (never committed).
    pub const SKIPPED: usize = PRODUCER_LINE + 24;
    /// Index cell, byte rings only: messages enqueued (`TAIL` counts bytes there).
    pub const MESSAGES_SENT: usize = PRODUCER_LINE + 24;

    /// Start of the consumer's line (128 bytes, written only by the consumer).
    pub const CONSUMER_LINE: usize = 256;
    /// Index cell: the consumer's published head (= messages dequeued).
    pub const HEAD: usize = CONSUMER_LINE;
    /// Index cell: times the consumer found the ring empty.
    pub const EMPTY_COUNT: usize = CONSUMER_LINE + 8;
    /// Index cell: violations the consumer detected.
    pub const CONSUMER_POISON: usize = CONSUMER_LINE + 16;
    /// Index cell, MPMC only: committed messages lost because the consumer
    /// that claimed them died before releasing their slot.
    pub const LOST: usize = CONSUMER_LINE + 24;
    /// Index cell, byte rings only: messages dequeued (`HEAD` counts bytes there).
    pub const MESSAGES_RECEIVED: usize = CONSUMER_LINE + 24;

    /// Start of the wait line: futex words and wake counters of blocking
    /// waits ([`crate::wait`]). All 32-bit words; rarely written (only when
    /// a side goes to sleep or wakes one), read by the publisher per message.
    pub const WAIT_LINE: usize = 384;
    /// `u32` written by the consumer: `WAITING | seq` while registered to
    /// sleep for data on futex value `seq`, else 0.
    pub const CONSUMER_WAITING: usize = WAIT_LINE;
    /// `u32` written by the consumer: its heavy-barrier mode,
    /// [`crate::wait::ASYMMETRIC`] or [`crate::wait::FENCED`] (0 before its
    /// first sleep; publishers treat every value but `FENCED` as asymmetric).
    pub const CONSUMER_WAIT_MODE: usize = WAIT_LINE + 4;
    /// `u32` written by the producer: `WAITING | seq` while registered to
    /// sleep for room on futex value `seq`, else 0.
    pub const PRODUCER_WAITING: usize = WAIT_LINE + 8;
    /// `u32` written by the producer: its heavy-barrier mode.
    pub const PRODUCER_WAIT_MODE: usize = WAIT_LINE + 12;
    /// `u32` futex word the consumer sleeps on; written by the producer
    /// (moved on before each wake).
    pub const DATA_SEQ: usize = WAIT_LINE + 16;
    /// `u32` futex word the producer sleeps on; written by the consumer.
    pub const ROOM_SEQ: usize = WAIT_LINE + 20;
    /// `u32` counter, consumer: registrations to sleep for data.
    pub const CONSUMER_SLEEPS: usize = WAIT_LINE + 64;
    /// `u32` counter, consumer: wake-ups nobody sent.
    pub const CONSUMER_SPURIOUS: usize = WAIT_LINE + 68;
    /// `u32` counter, producer: wake calls for the consumer.
    pub const DATA_WAKES: usize = WAIT_LINE + 72;
    /// `u32` counter, producer: registrations to sleep for room.
    pub const PRODUCER_SLEEPS: usize = WAIT_LINE + 76;
    /// `u32` counter, producer: wake-ups nobody sent.
    pub const PRODUCER_SPURIOUS: usize = WAIT_LINE + 80;
    /// `u32` counter, consumer: wake calls for the producer.
    pub const ROOM_WAKES: usize = WAIT_LINE + 84;

    /// Start of slot 0 of an SPSC region (and of the endpoint table of an
    /// MPMC region, whose slots follow the table).
    pub const SLOTS: usize = super::HEADER_SIZE;
}

/// Which algorithm a region holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueueKind {
    /// Single producer, single consumer ring ([`crate::spsc`]).
    Spsc,
    /// Multi-producer multi-consumer ring ([`crate::mpmc`]).
    Mpmc,
    /// Single producer, single consumer ring of variable-length byte
    /// records ([`crate::bytes`]).
    Bytes,
    /// Single producer, single consumer ring of fixed-size records laid out
    /// back to back, published by a tail index ([`crate::dense`]).
    Dense,
}

impl QueueKind {
    /// The value stored in the header's `kind` word.
    pub const fn code(self) -> u32 {
        match self {
            QueueKind::Spsc => 1,
            QueueKind::Mpmc => 2,
            QueueKind::Bytes => 3,
            QueueKind::Dense => 4,
        }
    }

    /// The kind a header word names, if any.
    pub const fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(QueueKind::Spsc),
            2 => Some(QueueKind::Mpmc),
            3 => Some(QueueKind::Bytes),
            4 => Some(QueueKind::Dense),
            _ => None,
        }
    }
}

/// What an endpoint role's state word says (informational: it is written by
/// the role's holder, so the platform crate confirms "attached" with the role's
/// kernel lock, which a dead process cannot hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointState {
    /// No endpoint has ever taken the role (value 0, the initial state).
    Never,
    /// An endpoint took the role and has not detached (value 1). It may have died.
    Attached,
    /// The last endpoint detached cleanly (value 2).
    Closed,
    /// Any other value: written by a buggy or hostile peer.
    Invalid(u32),
}

impl EndpointState {
    /// Value of [`EndpointState::Never`].
    pub const NEVER: u32 = 0;
    /// Value of [`EndpointState::Attached`].
    pub const ATTACHED: u32 = 1;
    /// Value of [`EndpointState::Closed`].
    pub const CLOSED: u32 = 2;

    /// Decodes a state word.
    pub const fn from_word(word: u32) -> Self {
        match word {
            Self::NEVER => EndpointState::Never,
            Self::ATTACHED => EndpointState::Attached,
            Self::CLOSED => EndpointState::Closed,
            other => EndpointState::Invalid(other),
        }
    }
}

/// Region geometry: either computed locally by a creator ([`Geometry::new`]) or
/// returned by [`validate`]. Every field is within the local limits above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    kind: QueueKind,
    capacity: u32,
    slot_size: u32,
    stride: usize,
    total_size: usize,
    /// MPMC endpoint-table entries (0 for SPSC).
    endpoints: u32,
    /// Byte offset of slot 0.
    slots: usize,
}

impl Geometry {
    /// Geometry for a new region of `capacity` slots of up to `slot_size` bytes each.
    ///
    /// # Errors
    /// [`LayoutError::Capacity`] unless `capacity` is a power of two in
    /// `2..=MAX_CAPACITY`; [`LayoutError::SlotSize`] above [`MAX_SLOT_SIZE`];
    /// [`LayoutError::SizeOverflow`] if the total exceeds [`MAX_TOTAL_SIZE`] or `usize`.
    pub fn new(kind: QueueKind, capacity: u32, slot_size: u32) -> Result<Self, LayoutError> {
        match kind {
            QueueKind::Bytes => Geometry::new_bytes(capacity, slot_size),
            QueueKind::Dense => Geometry::new_dense(capacity, slot_size),
            QueueKind::Spsc | QueueKind::Mpmc => Self::with_endpoints(kind, capacity, slot_size, 0),
        }
    }

    /// Geometry for a new MPMC region with an endpoint table of `endpoints`
    /// entries (the most producers plus consumers attached at once).
    ///
    /// # Errors
    /// As [`Geometry::new`]; [`LayoutError::Endpoints`] unless `endpoints` is
    /// in `1..=MAX_ENDPOINTS`.
    ///
    /// [`LayoutError::Capacity`] also above [`max_mpmc_capacity`] for this
    /// target's index width.
    pub fn new_mpmc(capacity: u32, slot_size: u32, endpoints: u32) -> Result<Self, LayoutError> {
        if !(1..=MAX_ENDPOINTS).contains(&endpoints) {
            return Err(LayoutError::Endpoints { found: endpoints });
        }
        if capacity > max_mpmc_capacity(Index::BITS) {
            return Err(LayoutError::Capacity { found: capacity });
        }
        Self::with_endpoints(QueueKind::Mpmc, capacity, slot_size, endpoints)
    }

    /// Geometry for a new byte-record ring ([`crate::bytes`]) of
    /// `capacity` bytes carrying messages of `0..=max_message` bytes.
    ///
    /// Records are 8-aligned (an 8-byte header, the payload, padding); the
    /// largest record plus the 8-byte header after it must fit half the
    /// ring, so that an empty ring always has room for any message, wherever
    /// the ring's end falls: `max_message <= capacity / 2 - 16`.
    ///
    /// # Errors
    /// [`LayoutError::Capacity`] unless `capacity` is a power of two in
    /// [`MIN_BYTES_CAPACITY`]`..=`[`MAX_BYTES_CAPACITY`];
    /// [`LayoutError::MaxMessage`] if `max_message` is too large for it.
    ///
    /// ```
    /// use shmq_core::layout::{Geometry, LayoutError};
    /// let g = Geometry::new_bytes(4096, 1024).unwrap();
    /// assert_eq!((g.capacity(), g.slot_size(), g.total_size()), (4096, 1024, 512 + 4096));
    /// assert!(matches!(Geometry::new_bytes(4096, 4000), Err(LayoutError::MaxMessage { .. })));
    /// ```
    pub fn new_bytes(capacity: u32, max_message: u32) -> Result<Self, LayoutError> {
        if !capacity.is_power_of_two()
            || !(MIN_BYTES_CAPACITY..=MAX_BYTES_CAPACITY).contains(&capacity)
        {
            return Err(LayoutError::Capacity { found: capacity });
        }
        // u64: no overflow for any u32 input.
        let record = (RECORD_HEADER as u64 + u64::from(max_message)).next_multiple_of(8);
        if record + RECORD_HEADER as u64 > u64::from(capacity / 2) {
            return Err(LayoutError::MaxMessage {
                found: max_message,
                capacity,
            });
        }
        // capacity <= 2^30: the total fits usize on every target we build for.
        let total = HEADER_SIZE as u64 + u64::from(capacity);
        let Ok(total_size) = usize::try_from(total) else {
            return Err(LayoutError::SizeOverflow);
        };
        Ok(Geometry {
            kind: QueueKind::Bytes,
            capacity,
            slot_size: max_message,
            stride: RECORD_ALIGN,
            total_size,
            endpoints: 0,
            slots: HEADER_SIZE,
        })
    }

    /// Geometry for a new dense ring ([`crate::dense`]) of `capacity`
    /// records of exactly `record_size` bytes each, laid out back to back
    /// with no per-record header; each record's place is `record_size`
    /// rounded up to a multiple of 8 (payload copies are whole aligned words).
    ///
    /// # Errors
    /// [`LayoutError::Capacity`] as for [`Geometry::new`];
    /// [`LayoutError::SlotSize`] unless `record_size` is in `1..=`[`MAX_SLOT_SIZE`];
    /// [`LayoutError::SizeOverflow`] if the total exceeds [`MAX_TOTAL_SIZE`]
    /// computed as for a slot ring of the same capacity and slot size (each
    /// slot 8 bytes larger than a record): a conservative limit, the same on
    /// both sides of [`validate`].
    ///
    /// ```
    /// use shmq_core::layout::Geometry;
    /// let g = Geometry::new_dense(4096, 8).unwrap();
    /// assert_eq!((g.stride(), g.total_size()), (8, 512 + 8 * 4096));
    /// assert_eq!(Geometry::new_dense(16, 12).unwrap().stride(), 16);
    /// assert!(Geometry::new_dense(16, 0).is_err());
    /// ```
    pub fn new_dense(capacity: u32, record_size: u32) -> Result<Self, LayoutError> {
        if record_size == 0 {
            return Err(LayoutError::SlotSize { found: 0 });
        }
        let mut g = Self::with_endpoints(QueueKind::Dense, capacity, record_size, 0)?;
        // No slot header: a record's place is its size rounded up to 8, at
        // most the slot rings' stride, so the total stays within the limit.
        g.stride = (record_size as usize).next_multiple_of(8);
        g.total_size = g.slots + g.stride * capacity as usize;
        Ok(g)
    }

    fn with_endpoints(
        kind: QueueKind,
        capacity: u32,
        slot_size: u32,
        endpoints: u32,
    ) -> Result<Self, LayoutError> {
        if !capacity.is_power_of_two() || !(2..=MAX_CAPACITY).contains(&capacity) {
            return Err(LayoutError::Capacity { found: capacity });
        }
        if slot_size > MAX_SLOT_SIZE {
            return Err(LayoutError::SlotSize { found: slot_size });
        }
        // Both factors are below 2^25, so the u64 arithmetic cannot overflow.
        let stride = (SLOT_HEADER as u64 + u64::from(slot_size)).next_multiple_of(8);
        // endpoints <= 2^10, so the table is below 2^17 bytes.
        let slots = HEADER_SIZE as u64 + ENTRY_SIZE as u64 * u64::from(endpoints);
        let total = slots + stride * u64::from(capacity);
        if total > MAX_TOTAL_SIZE {
            return Err(LayoutError::SizeOverflow);
        }
        let (Ok(stride), Ok(total_size)) = (usize::try_from(stride), usize::try_from(total)) else {
            return Err(LayoutError::SizeOverflow);
        };
        Ok(Geometry {
            kind,
            capacity,
            slot_size,
            stride,
            total_size,
            endpoints,
            slots: slots as usize,
        })
    }

    /// The queue kind.
    pub const fn kind(&self) -> QueueKind {
        self.kind
    }
    /// Number of slots (a power of two); for a byte ring, its size in bytes
    /// (a power of two).
    #[inline]
    pub const fn capacity(&self) -> u32 {
        self.capacity
    }
    /// Largest payload of one message, in bytes.
    #[inline]
    pub const fn slot_size(&self) -> u32 {
        self.slot_size
    }
    /// Distance between consecutive slots, in bytes (byte ring: the record
    /// alignment, [`RECORD_ALIGN`]).
    #[inline]
    pub const fn stride(&self) -> usize {
        self.stride
    }
    /// Total bytes of the region: header plus slots.
    pub const fn total_size(&self) -> usize {
        self.total_size
    }
    /// MPMC endpoint-table entries (0 for SPSC).
    pub const fn endpoints(&self) -> u32 {
        self.endpoints
    }
    /// Byte offset of slot `slot` (which must be `< capacity`).
    pub const fn slot_offset(&self, slot: usize) -> usize {
        self.slots + slot * self.stride
    }
    /// Byte offset of MPMC endpoint-table entry `entry` (`< endpoints`).
    pub const fn entry_offset(&self, entry: usize) -> usize {
        HEADER_SIZE + entry * ENTRY_SIZE
    }
}

/// Everything that can be wrong with a region's header or requested geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// The mapping is smaller than the header.
    TooSmall {
        /// Bytes actually mapped.
        mapped: usize,
    },
    /// The region base is not 8-byte aligned.
    Misaligned,
    /// The creator has not published the `ready` word (yet).
    NotReady,
    /// The first word is not [`MAGIC`].
    BadMagic {
        /// The word found.
        found: u32,
    },
    /// The region was written by another layout version.
    Version {
        /// Version found in the header.
        found: u32,
    },
    /// The region holds another kind of queue (or an unknown kind code).
    Kind {
        /// Kind code found in the header.
        found: u32,
    },
    /// The region was created with another index width (e.g. by a 32-bit target).
    IndexWidth {
        /// Width found in the header.
        found: u32,
    },
    /// Capacity zero, one, not a power of two, or above [`MAX_CAPACITY`].
    Capacity {
        /// Capacity found or requested.
        found: u32,
    },
    /// Slot size above [`MAX_SLOT_SIZE`] (dense rings: also a record size of 0).
    SlotSize {
        /// Slot size found or requested.
        found: u32,
    },
    /// The stored slot stride disagrees with the one computed from the slot size.
    Stride {
        /// Stride found in the header.
        found: u32,
    },
    /// The total size overflows or exceeds [`MAX_TOTAL_SIZE`].
    SizeOverflow,
    /// MPMC endpoint table size not in `1..=MAX_ENDPOINTS`.
    Endpoints {
        /// Entries found or requested.
        found: u32,
    },
    /// Byte ring: the largest message's record (plus the 8-byte header
    /// that follows it) exceeds half the ring's capacity.
    MaxMessage {
        /// Largest message found or requested, in bytes.
        found: u32,
        /// Capacity of the ring, in bytes.
        capacity: u32,
    },
    /// The header's total size disagrees with the computed size or the mapping.
    SizeMismatch {
        /// Total size written in the header.
        header: u64,
        /// Size computed from capacity and slot size.
        computed: u64,
        /// Bytes this process actually mapped.
        mapped: usize,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayoutError::TooSmall { mapped } => {
                write!(f, "region of {mapped} bytes is smaller than the {HEADER_SIZE}-byte header")
            }
            LayoutError::Misaligned => write!(f, "region base is not {REGION_ALIGN}-byte aligned"),
            LayoutError::NotReady => write!(f, "region is not initialised (ready word not set)"),
            LayoutError::BadMagic { found } => write!(f, "bad magic {found:#010x}"),
            LayoutError::Version { found } => {
                write!(f, "layout version {found}, this build reads {LAYOUT_VERSION}")
            }
            LayoutError::Kind { found } => write!(f, "queue kind code {found} is not the one expected"),
            LayoutError::IndexWidth { found } => write!(
                f,
                "index width {found} bytes, this build uses {}",
                size_of::<Index>()
            ),
            LayoutError::Capacity { found } => write!(
                f,
                "capacity {found} is not a power of two in 2..={MAX_CAPACITY}"
            ),
            LayoutError::SlotSize { found } => {
                write!(f, "slot size {found} is not in 1..={MAX_SLOT_SIZE} (0 only for slot rings)")
            }
            LayoutError::Stride { found } => write!(f, "slot stride {found} disagrees with slot size"),
            LayoutError::SizeOverflow => write!(f, "region size overflows the local limit"),
            LayoutError::Endpoints { found } => write!(
                f,
                "endpoint table of {found} entries is not in 1..={MAX_ENDPOINTS}"
            ),
            LayoutError::MaxMessage { found, capacity } => write!(
                f,
                "largest message of {found} bytes does not fit half of a {capacity}-byte ring (with its headers)"
            ),
            LayoutError::SizeMismatch { header, computed, mapped } => write!(
                f,
                "region size mismatch: header says {header}, geometry needs {computed}, mapped {mapped}"
            ),
        }
    }
}

impl core::error::Error for LayoutError {}

/// Returns the header word at `off` as an atomic.
///
/// # Safety
/// `base` must point to at least [`HEADER_SIZE`] bytes that stay mapped for
/// `'a` and are [`REGION_ALIGN`]-aligned; `off` must be a multiple of 4 below
/// `HEADER_SIZE`.
#[cfg(not(loom))]
#[inline]
pub(crate) unsafe fn header_word<'a>(base: *const u8, off: usize) -> &'a AtomicU32 {
    debug_assert!(off % 4 == 0 && off + 4 <= HEADER_SIZE);
    // SAFETY: in bounds and 4-aligned by the caller's contract; an AtomicU32 may
    // alias memory other processes write, every bit pattern is a valid u32.
    unsafe { AtomicU32::from_ptr(base.add(off).cast_mut().cast::<u32>()) }
}

/// Reads and validates the header of the region at `base`, of which this
/// process mapped `mapped` bytes, expecting a queue of kind `kind`.
///
/// Each field is read once (Relaxed, after an Acquire load of `ready` that
/// pairs with the creator's Release store in [`init`]).
///
/// # Errors
/// A [`LayoutError`] naming the first field that is wrong.
///
/// # Safety
/// `base` must point to `mapped` bytes that stay mapped for the duration of the
/// call and are readable; other processes may write them concurrently.
#[cfg(not(loom))]
pub unsafe fn validate(
    base: *const u8,
    mapped: usize,
    kind: QueueKind,
) -> Result<Geometry, LayoutError> {
    if mapped < HEADER_SIZE {
        return Err(LayoutError::TooSmall { mapped });
    }
    if (base as usize) % REGION_ALIGN != 0 {
        return Err(LayoutError::Misaligned);
    }
    // SAFETY: `mapped >= HEADER_SIZE`, aligned: the contract of `header_word`.
    let word = |off| unsafe { header_word(base, off) };
    // Acquire: pairs with the creator's Release store of READY in `init`.
    if word(offset::READY).load(Ordering::Acquire) != READY {
        return Err(LayoutError::NotReady);
    }
    let magic = word(offset::MAGIC).load(Ordering::Relaxed);
    if magic != MAGIC {
        return Err(LayoutError::BadMagic { found: magic });
    }
    let version = word(offset::VERSION).load(Ordering::Relaxed);
    if version != LAYOUT_VERSION {
        return Err(LayoutError::Version { found: version });
    }
    let kind_code = word(offset::KIND).load(Ordering::Relaxed);
    if QueueKind::from_code(kind_code) != Some(kind) {
        return Err(LayoutError::Kind { found: kind_code });
    }
    let width = word(offset::INDEX_WIDTH).load(Ordering::Relaxed);
    if width as usize != size_of::<Index>() {
        return Err(LayoutError::IndexWidth { found: width });
    }
    let capacity = word(offset::CAPACITY).load(Ordering::Relaxed);
    let slot_size = word(offset::SLOT_SIZE).load(Ordering::Relaxed);
    let geometry = match kind {
        QueueKind::Mpmc => {
            let endpoints = word(offset::MAX_ENDPOINTS).load(Ordering::Relaxed);
            Geometry::new_mpmc(capacity, slot_size, endpoints)?
        }
        QueueKind::Spsc => Geometry::new(kind, capacity, slot_size)?,
        QueueKind::Bytes => Geometry::new_bytes(capacity, slot_size)?,
        QueueKind::Dense => Geometry::new_dense(capacity, slot_size)?,
    };
    let stride = word(offset::SLOT_STRIDE).load(Ordering::Relaxed);
    if stride as usize != geometry.stride {
        return Err(LayoutError::Stride { found: stride });
    }
    let lo = word(offset::TOTAL_SIZE_LO).load(Ordering::Relaxed);
    let hi = word(offset::TOTAL_SIZE_HI).load(Ordering::Relaxed);
    let header = (u64::from(hi) << 32) | u64::from(lo);
    let computed = geometry.total_size as u64;
    if header != computed || mapped < geometry.total_size {
        return Err(LayoutError::SizeMismatch {
            header,
            computed,
            mapped,
        });
    }
    Ok(geometry)
}

/// The header's index cells (8 bytes each, accessed with index-width atomics).
#[cfg(not(loom))]
const INDEX_CELLS: [usize; 8] = [
    offset::TAIL,
    offset::FULL_COUNT,
    offset::PRODUCER_POISON,
    offset::SKIPPED,
    offset::HEAD,
    offset::EMPTY_COUNT,
    offset::CONSUMER_POISON,
    offset::LOST,
];

/// Writes a fresh header and empty slots for `geometry`, then publishes `ready`.
///
/// # Safety
/// `base` must point to at least `geometry.total_size()` writable bytes,
/// [`REGION_ALIGN`]-aligned, that stay mapped during the call. No other
/// process may be attached as an endpoint (openers only wait for `ready`).
#[cfg(not(loom))]
pub unsafe fn init(base: *mut u8, geometry: &Geometry, creator_pid: u32) {
    // SAFETY: the caller's contract is ours.
    unsafe { init_with_flags(base, geometry, creator_pid, 0) }
}

/// As [`init`], also storing `flags` (e.g. [`FLAG_PERSISTENT`]) in the
/// [`offset::FLAGS`] word before `ready` is published.
///
/// # Safety
/// As [`init`].
#[cfg(not(loom))]
pub unsafe fn init_with_flags(base: *mut u8, geometry: &Geometry, creator_pid: u32, flags: u32) {
    // SAFETY: the region holds at least the header (total_size >= HEADER_SIZE).
    let word = |off| unsafe { header_word(base, off) };
    // SAFETY: same region, geometry describes it.
    let region = unsafe { crate::region::Region::from_raw(base, *geometry) };
    // Zero everything but `ready` first; `ready` stays unset until the end.
    // Index cells are zeroed with atomics of their own width, like every
    // other access to them (no mixed-size atomic accesses to one location).
    let in_cell = |off: usize| INDEX_CELLS.iter().any(|&c| (c..c + 8).contains(&off));
    for off in (0..HEADER_SIZE).step_by(4) {
        if off != offset::READY && (!in_cell(off) || off % 8 >= size_of::<Index>()) {
            word(off).store(0, Ordering::Relaxed);
        }
    }
    for cell in INDEX_CELLS {
        region.index(cell).store(0, Ordering::Relaxed);
    }
    word(offset::MAGIC).store(MAGIC, Ordering::Relaxed);
    word(offset::VERSION).store(LAYOUT_VERSION, Ordering::Relaxed);
    word(offset::KIND).store(geometry.kind.code(), Ordering::Relaxed);
    word(offset::INDEX_WIDTH).store(size_of::<Index>() as u32, Ordering::Relaxed);
    word(offset::CAPACITY).store(geometry.capacity, Ordering::Relaxed);
    word(offset::SLOT_SIZE).store(geometry.slot_size, Ordering::Relaxed);
    word(offset::SLOT_STRIDE).store(geometry.stride as u32, Ordering::Relaxed);
    let total = geometry.total_size as u64;
    word(offset::TOTAL_SIZE_LO).store(total as u32, Ordering::Relaxed);
    word(offset::TOTAL_SIZE_HI).store((total >> 32) as u32, Ordering::Relaxed);
    word(offset::CREATOR_PID).store(creator_pid, Ordering::Relaxed);
    word(offset::MAX_ENDPOINTS).store(geometry.endpoints, Ordering::Relaxed);
    word(offset::FLAGS).store(flags, Ordering::Relaxed);
    match geometry.kind {
        QueueKind::Spsc => crate::spsc::init_slots(&region),
        QueueKind::Mpmc => crate::mpmc::init_slots(&region),
        QueueKind::Bytes => crate::bytes::init_ring(&region),
        // Records carry no header: the zeroed cursors say "empty".
        QueueKind::Dense => {}
    }
    // Release: pairs with the Acquire load of READY in `validate`.
    word(offset::READY).store(READY, Ordering::Release);
}
