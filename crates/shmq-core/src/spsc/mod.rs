//! Single-producer single-consumer ring with a sequence stamp in every slot.
//!
//! The algorithm is Lamport's ring in the FastForward / Vyukov style
//! (Giacomoni et al., "FastForward for efficient pipeline parallelism", PPoPP
//! 2008; D. Vyukov's bounded queues): instead of publishing a shared tail after
//! every message, the producer publishes each slot by storing a *stamp* into it,
//! so a consumer that keeps up touches only the cache lines of the slots
//! themselves. The consumer publishes its head so the producer knows which slots
//! are free; the producer caches it and re-reads it only when the cache says the
//! ring is full (rtrb, rigtorp). `docs/benchmarks.md` records why: per message
//! this is ≈3× faster here than a shared tail index.
//!
//! # Slot states
//! Positions are monotonic [`Index`] values; slot `p & (capacity - 1)` holds
//! position `p`. Stamps are 32-bit truncations:
//! - *full* for position `p`: `stamp == p + 1`;
//! - *empty* for position `p` (written a lap earlier, or never): `stamp == p + 1 - capacity`.
//!
//! Any other stamp at the consumer's position is impossible for an honest
//! producer and poisons the consumer. Since `capacity <= 2^24 < 2^32` the two
//! values always differ.
//!
//! # Untrusted peer
//! Each side keeps its own cursor privately and never reads it back from the
//! region; the peer's cursor (the producer reads the consumer's head) is clamped
//! to `[cached_head, tail]`; each shared word is loaded once into a local; the
//! length word is bounds-checked against the locally validated slot size; slot
//! indices are masked. See `docs/guarantees.md`.

mod consumer;
mod error;
mod producer;

pub use consumer::Consumer;
pub use error::{PopError, PushError, Violation};
pub use producer::Producer;

use crate::layout::{offset, EndpointState};
use crate::region::Region;
use crate::sync::{Index, Ordering};

/// Stamp of a slot that holds the message at position `pos`.
#[inline]
pub(crate) const fn full_stamp(pos: Index) -> u32 {
    (pos as u32).wrapping_add(1)
}

/// Stamp of a slot that is free for the message at position `pos`.
#[inline]
pub(crate) const fn empty_stamp(pos: Index, capacity: u32) -> u32 {
    (pos as u32).wrapping_add(1).wrapping_sub(capacity)
}

/// Writes the "empty for the first lap" stamp into every slot.
pub(crate) fn init_slots(region: &Region) {
    let cap = region.geometry().capacity();
    for slot in 0..cap as usize {
        region
            .stamp(slot)
            .store(empty_stamp(slot as Index, cap), Ordering::Relaxed);
        region.len(slot).store(0, Ordering::Relaxed);
    }
}

/// Adds one to a counter cell owned by this endpoint (no RMW: only we write it).
#[inline]
pub(crate) fn bump(region: &Region, off: usize) {
    let cell = region.index(off);
    cell.store(
        cell.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Records a violation in the region (sticky flag and the endpoint's counter).
pub(crate) fn record_poison(region: &Region, counter: usize) {
    region.word(offset::POISONED).store(1, Ordering::Relaxed);
    bump(region, counter);
}

/// A snapshot of a region's counters, for monitoring (`shmq stat`).
///
/// Values are read Relaxed from words that peers write: they are informative,
/// never used for a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Messages enqueued (the producer's published tail).
    pub enqueued: Index,
    /// Messages dequeued (the consumer's published head).
    pub dequeued: Index,
    /// Times the producer found the ring full.
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
        let w = |off| region.word(off).load(Ordering::Relaxed) != 0;
        Stats {
            enqueued: i(offset::TAIL),
            dequeued: i(offset::HEAD),
            full: i(offset::FULL_COUNT),
            empty: i(offset::EMPTY_COUNT),
            producer_poisoned: i(offset::PRODUCER_POISON),
            consumer_poisoned: i(offset::CONSUMER_POISON),
            poisoned: w(offset::POISONED),
            producer: EndpointState::from_word(
                region.word(offset::PRODUCER_STATE).load(Ordering::Relaxed),
            ),
            consumer: EndpointState::from_word(
                region.word(offset::CONSUMER_STATE).load(Ordering::Relaxed),
            ),
            wait: crate::wait::WaitStats::read(region),
        }
    }
}
