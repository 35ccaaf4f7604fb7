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
//!
//! # Pacing: latency first, or B-Queue batching for streams
//! By default ([`Pacing::Latency`]) the consumer looks at the slot of its
//! own position on every call, so a lone message is taken as soon as its
//! stamp is there. A consumer that keeps up with a streaming producer then
//! reads each cache line while the producer is still writing the next slots
//! of it: about two line transfers per message.
//!
//! [`Pacing::Throughput`] is the *self-adaptive backtracking* of B-Queue
//! (Wang, Zhang, Tang, Hua, "B-Queue: Efficient and Practical Queuing for
//! Fast Core-to-Core Communication", IJPP 41(1), 2013), adapted to stamps:
//! - the consumer probes the stamp a *batch* of `d` positions ahead; if it is
//!   full, the `d` positions up to it are known to be published (stamps are
//!   stored in position order with Release) and are taken without probing
//!   again, and `d` doubles (up to [`stream_batch`]); if it is not, the call
//!   reports `Empty` and halves `d`, so after at most `log2(batch)`
//!   consecutive empty calls it looks at its own position again and a lone
//!   message is delivered. While it trails, it reads only lines the producer
//!   has finished, and its probes far ahead hit lines nobody is writing.
//! - the producer, having found the ring full by its cached view, re-reads
//!   the consumer's head and writes only if at least `w` slots are free
//!   (`w` doubling on success, halving on each refusal down to 1), so it
//!   refills the ring in whole batches behind the consumer instead of one
//!   slot at a time in the line the consumer is reading.
//!
//! Every accepted slot is still validated (its stamp read once and checked
//! for its position, its length bounds-checked): a probe only *predicts*,
//! and a slot inside a predicted run that is not full poisons, since an
//! honest producer cannot publish a later stamp before an earlier one.
//! The trade: `try_pop`/`try_push` may report `Empty`/`Full` a few calls in a
//! row while a few messages (slots) are there. Both are "soft" only while
//! the adaptive distance is above 1; [`Consumer::exact`] and
//! [`Producer::exact`] set it to 1, so the next call is exact. The waiting
//! loop ([`crate::wait`]) calls them before it concludes anything from an
//! empty/full result (before parking and before the disconnection retry).

mod consumer;
mod error;
mod producer;

pub use consumer::Consumer;
pub use error::{PopError, PushError, Violation};
pub use producer::Producer;

use crate::layout::{offset, EndpointState, Geometry};
use crate::region::Region;
use crate::sync::{Index, Ordering};

/// How an endpoint trades latency for throughput (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pacing {
    /// Every call is exact: `Empty`/`Full` mean empty/full at that moment,
    /// and a lone message is taken by the first call after it is published.
    #[default]
    Latency,
    /// B-Queue adaptive batching: the consumer trails the producer by whole
    /// batches under load, the producer refills in batches; `Empty`/`Full`
    /// may be reported a few calls in a row (at most `log2(`[`stream_batch`]`)`)
    /// while fewer than a batch of messages (free slots) are there.
    Throughput,
}

/// Bytes of slots one adaptive batch of [`Pacing::Throughput`] spans at
/// most (64 lines): enough to keep the two ends on different lines; larger
/// batches only make the ends wait for each other in bigger bursts.
pub const STREAM_BATCH_BYTES: usize = 4096;

/// The largest adaptive batch of [`Pacing::Throughput`] for a ring of
/// `geometry`: half the ring, at most 64 slots and at most
/// [`STREAM_BATCH_BYTES`] of slots (so 64 for `u64` messages, 56 for 64 B,
/// 3 for 1 KiB, 1 — no batching — from 2 KiB on), at least 1.
///
/// ```
/// use shmq_core::layout::{Geometry, QueueKind};
/// use shmq_core::spsc::stream_batch;
/// let g = |capacity, slot| Geometry::new(QueueKind::Spsc, capacity, slot).unwrap();
/// assert_eq!(stream_batch(&g(4096, 8)), 64);
/// assert_eq!(stream_batch(&g(4096, 64)), 56);
/// assert_eq!(stream_batch(&g(4096, 1024)), 3);
/// assert_eq!(stream_batch(&g(256, 16384)), 1);
/// assert_eq!(stream_batch(&g(4, 8)), 2);
/// ```
#[inline]
pub const fn stream_batch(geometry: &Geometry) -> Index {
    let half = (geometry.capacity() / 2) as usize;
    let by_bytes = STREAM_BATCH_BYTES / geometry.stride();
    let mut b = 64;
    if half < b {
        b = half;
    }
    if by_bytes < b {
        b = by_bytes;
    }
    if b == 0 {
        1
    } else {
        b as Index
    }
}

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

// Shared by the single-producer single-consumer rings (stamp, byte and
// dense): the role state words and the producer's view of the head.

/// The state word of the role at `off` (`PRODUCER_STATE`/`CONSUMER_STATE`)
/// as its holder published it.
#[inline]
pub(crate) fn role_state(region: &Region, off: usize) -> EndpointState {
    // Acquire: pairs with the holder's Release store in `close_role`, so an
    // end that sees "closed" also sees everything the holder published.
    EndpointState::from_word(region.word(off).load(Ordering::Acquire))
}

/// Marks the role whose state word is at `off` closed (idempotent).
#[inline]
pub(crate) fn close_role(region: &Region, off: usize) {
    // Release: pairs with the peer's Acquire load in `role_state`.
    region
        .word(off)
        .store(EndpointState::CLOSED, Ordering::Release);
}

/// Reads the consumer's published head for a producer whose last
/// validated head is `cached_head` and whose private tail is `tail`, and
/// accepts it only in `[cached_head, tail]`; otherwise records the
/// violation in the region (the caller poisons itself with it).
#[inline]
pub(crate) fn load_head(
    region: &Region,
    cached_head: Index,
    tail: Index,
) -> Result<Index, Violation> {
    // Acquire: pairs with the consumer's Release store of HEAD, so its
    // copies out of what it released happen before we overwrite them.
    let head = region.index(offset::HEAD).load(Ordering::Acquire);
    if head.wrapping_sub(cached_head) > tail.wrapping_sub(cached_head) {
        record_poison(region, offset::PRODUCER_POISON);
        return Err(Violation::Head { found: head, tail });
    }
    Ok(head)
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
