//! Single-producer single-consumer ring of variable-length byte records,
//! with zero-copy loans.
//!
//! The ring is `capacity` bytes (a power of two) after the region header.
//! Each message is a *record*, laid contiguously at an 8-aligned byte
//! position: an 8-byte header (a 32-bit *stamp*, a 32-bit *length*), the
//! payload, and padding up to the next multiple of 8. A record never crosses
//! the end of the ring: one that would is preceded by a *padding record*
//! (length word `PAD | size`) that fills the ring up to its end, and is
//! written at the start of the next lap. Messages are `0..=max_message`
//! bytes, `max_message` fixed at creation ([`Geometry::new_bytes`]).
//!
//! The publication scheme is the slot ring's ([`crate::spsc`], FastForward /
//! Vyukov style: a stamp per record, no shared tail on the fast path),
//! adapted to variable sizes as in the byte-oriented rings of Linux's BPF
//! ring buffer and LMAX/Aeron log buffers (a length-prefixed record whose
//! header is published last):
//! - positions are monotonic byte counts ([`Index`]); the header of the
//!   record at position `p` is at ring offset `p & (capacity - 1)`;
//! - the stamp of a published record at `p` is [`full_stamp`]`(p)`;
//! - **terminator**: before publishing a record that ends at `q`, the
//!   producer writes [`empty_stamp`]`(q)` into the header at `q` (the next
//!   record's). The consumer reaches `q` only after acquiring the stamp at
//!   `p`, so it sees the terminator or the next record, never stale payload
//!   bytes of an older lap that happen to look like a header. The producer
//!   therefore needs 8 bytes beyond every record free, which is why a record
//!   plus 8 bytes must fit half the ring: an empty ring always has room for
//!   the largest message, whether or not it must pad.
//!
//! The consumer publishes its head (Release) after copying a record out;
//! the producer caches it and re-reads it only when the cached value says
//! there is no room (rtrb, rigtorp).
//!
//! # Untrusted peer
//! Every header is read once (one atomic load of the whole header word on
//! targets with 64-bit atomics) and validated against this process's
//! geometry before anything is derived from it: the stamp must be `full` or
//! `empty` for our position, a record's length at most `max_message` and
//! its record inside the ring, a padding record exactly as long as the rest
//! of the ring and never followed by another. Each side keeps its cursor
//! privately; the producer clamps the consumer's published head to
//! `[cached head, tail]`. Anything else poisons the endpoint with a
//! [`Violation`] (the same type as the slot ring's, see its variants for
//! what each means here). Every payload byte is accessed through index-width
//! atomics, never through a reference: a peer that scribbles over a record
//! produces garbage bytes, not undefined behaviour. The views
//! ([`Loan`], [`View`]) give no `&[u8]` into the region, only copies (the
//! model is rust-vmm's `vm-memory` `VolatileSlice`).
//!
//! ```
//! use shmq_core::bytes::{Consumer, Producer};
//! use shmq_core::layout::Geometry;
//! use shmq_core::testing::HeapRegion;
//!
//! let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
//! // SAFETY: one producer and one consumer of this region in this test.
//! let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
//! // SAFETY: as above.
//! let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
//! tx.try_push(b"a variable-length message").unwrap();
//! let mut loan = tx.loan(8).unwrap();
//! loan.write_value(0, &7u64).unwrap();
//! loan.commit(8);
//! let mut buf = [0u8; 64];
//! let n = rx.try_pop(&mut buf).unwrap();
//! assert_eq!(&buf[..n], b"a variable-length message");
//! let v = rx.try_recv_with(|view| view.read_value::<u64>(0)).unwrap();
//! assert_eq!(v, Ok(7));
//! ```
//!
//! [`Geometry::new_bytes`]: crate::layout::Geometry::new_bytes

mod consumer;
mod data;
mod producer;

pub use crate::spsc::{PopError, PushError, Violation};
pub use consumer::Consumer;
pub use data::{OutOfRange, View, ViewMut};
pub use producer::{Loan, Producer, Reservation};

use crate::layout::{offset, EndpointState, RECORD_ALIGN, RECORD_HEADER};
use crate::region::Region;
use crate::sync::{Index, Ordering};

/// Flag bit of a length word: the record is padding up to the ring's end;
/// the other bits are its size in bytes (header included).
pub const PAD: u32 = 1 << 31;

/// Stamp of the published record at byte position `pos` (8-aligned).
#[inline]
#[allow(clippy::unnecessary_cast)] // Index is u32 on 32-bit targets
pub const fn full_stamp(pos: Index) -> u32 {
    (pos as u32) | 1
}

/// Stamp of the header at `pos` while nothing is published there (the
/// terminator the producer writes after each record).
#[inline]
#[allow(clippy::unnecessary_cast)] // Index is u32 on 32-bit targets
pub const fn empty_stamp(pos: Index) -> u32 {
    (pos as u32) | 2
}

/// Bytes a record of `len` payload bytes occupies: header, payload, padding
/// to [`RECORD_ALIGN`].
#[inline]
pub const fn record_size(len: usize) -> usize {
    (RECORD_HEADER + len).next_multiple_of(RECORD_ALIGN)
}

/// Loads the header at ring offset `off`: `(stamp, length)`, read once.
/// Acquire: pairs with the producer's Release store in [`store_header`].
#[cfg(target_has_atomic = "64")]
#[inline]
pub(crate) fn load_header(region: &Region, off: usize) -> (u32, u32) {
    let word = region.data_word(off).load(Ordering::Acquire);
    let b = word.to_ne_bytes();
    (
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
    )
}

/// Stores a header (stamp at `+0`, length at `+4`, as one word).
#[cfg(target_has_atomic = "64")]
#[inline]
pub(crate) fn store_header(region: &Region, off: usize, stamp: u32, len: u32, order: Ordering) {
    let (s, l) = (stamp.to_ne_bytes(), len.to_ne_bytes());
    let word = Index::from_ne_bytes([s[0], s[1], s[2], s[3], l[0], l[1], l[2], l[3]]);
    region.data_word(off).store(word, order);
}

/// Loads the header at ring offset `off` (32-bit target: the stamp, Acquire,
/// then the length, which the producer stored before its Release of the stamp).
#[cfg(not(target_has_atomic = "64"))]
#[inline]
pub(crate) fn load_header(region: &Region, off: usize) -> (u32, u32) {
    let stamp = region.data_word(off).load(Ordering::Acquire);
    (stamp, region.data_word(off + 4).load(Ordering::Relaxed))
}

/// Stores a header (32-bit target: the length first, then the stamp).
#[cfg(not(target_has_atomic = "64"))]
#[inline]
pub(crate) fn store_header(region: &Region, off: usize, stamp: u32, len: u32, order: Ordering) {
    region.data_word(off + 4).store(len, Ordering::Relaxed);
    region.data_word(off).store(stamp, order);
}

/// Writes the terminator for position 0 (the rest of the ring stays zero,
/// which is no valid header).
pub(crate) fn init_ring(region: &Region) {
    store_header(region, 0, empty_stamp(0), 0, Ordering::Relaxed);
}

/// A snapshot of a byte ring's counters, for monitoring.
///
/// Values are read Relaxed from words that peers write: informative, never
/// used for a decision.
///
/// ```
/// use shmq_core::bytes::{Producer, Stats};
/// use shmq_core::layout::Geometry;
/// use shmq_core::testing::HeapRegion;
/// let heap = HeapRegion::new(Geometry::new_bytes(128, 16).unwrap());
/// // SAFETY: the only producer of this region.
/// let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
/// tx.try_push(b"abc").unwrap();
/// let s = Stats::read(&heap.region());
/// assert_eq!((s.enqueued, s.bytes_enqueued), (1, 16));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Messages enqueued.
    pub enqueued: Index,
    /// Messages dequeued.
    pub dequeued: Index,
    /// Ring bytes the producer has published (its tail: records and padding).
    pub bytes_enqueued: Index,
    /// Ring bytes the consumer has released (its head).
    pub bytes_dequeued: Index,
    /// Times the producer found no room.
    pub full: Index,
    /// Times the consumer found the ring empty.
    pub empty: Index,
    /// Violations detected by the producer.
    pub producer_poisoned: Index,
    /// Violations detected by the consumer.
    pub consumer_poisoned: Index,
    /// Whether any endpoint ever poisoned this region.
    pub poisoned: bool,
    /// The producer role's state word.
    pub producer: EndpointState,
    /// The consumer role's state word.
    pub consumer: EndpointState,
    /// Sleeps, wakes and spurious wake-ups of blocking waits.
    pub wait: crate::wait::WaitStats,
}

impl Stats {
    /// Reads the counters of `region`.
    pub fn read(region: &Region) -> Self {
        let i = |off| region.index(off).load(Ordering::Relaxed);
        let w = |off| region.word(off).load(Ordering::Relaxed);
        Stats {
            enqueued: i(offset::MESSAGES_SENT),
            dequeued: i(offset::MESSAGES_RECEIVED),
            bytes_enqueued: i(offset::TAIL),
            bytes_dequeued: i(offset::HEAD),
            full: i(offset::FULL_COUNT),
            empty: i(offset::EMPTY_COUNT),
            producer_poisoned: i(offset::PRODUCER_POISON),
            consumer_poisoned: i(offset::CONSUMER_POISON),
            poisoned: w(offset::POISONED) != 0,
            producer: EndpointState::from_word(w(offset::PRODUCER_STATE)),
            consumer: EndpointState::from_word(w(offset::CONSUMER_STATE)),
            wait: crate::wait::WaitStats::read(region),
        }
    }
}
