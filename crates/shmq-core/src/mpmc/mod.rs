//! Multi-producer multi-consumer ring whose endpoints survive each other's crashes.
//!
//! The algorithm is D. Vyukov's bounded MPMC queue ("Bounded MPMC queue",
//! 1024cores.net, 2010), as in crossbeam's `ArrayQueue`
//! (`crossbeam-queue/src/array_queue.rs`): producers claim positions by a CAS
//! on a shared `tail`, consumers by a CAS on a shared `head`, and each slot's
//! *sequence word* says which position it is ready for. On top of it:
//!
//! - an **endpoint table** in the region: every attached endpoint owns one
//!   entry (guarded by a kernel-released lock that the platform crate holds)
//!   and records there the positions it is about to claim *before* its CAS;
//! - **crash repair**: a survivor that meets a stalled slot (claimed, never
//!   published or never released) marks it skipped / released with a CAS on
//!   the sequence word, but only when every endpoint whose record covers that
//!   position is dead according to [`Peers::is_dead`] (the platform crate
//!   answers with `F_OFD_GETLK`). A live but slow owner is waited for.
//!
//! # Sequence words
//! Positions are monotonic [`Index`] values; position `p` lives in slot
//! `p & (capacity - 1)`. Sequence words are 32-bit truncations
//! (`capacity <= 2^24`):
//! - *free* for `p`: `seq == p` (the creator writes `seq = s` into slot `s`);
//! - *full* for `p`: `seq == p + 1` (the message is committed);
//! - *skipped* for `p`: `seq == p + 1 + 2^31` (its producer died after
//!   claiming; consumers claim it and deliver nothing);
//! - a consumer that took `p` releases the slot with `seq = p + capacity`
//!   (free for the next lap).
//!
//! At a position a thread has read from `head`/`tail` (Acquire), only a few
//! values are possible for honest peers; anything else, with the cursor
//! unchanged on a second read, poisons the endpoint.
//!
//! # Untrusted peers
//! Every shared word is read once into a local and validated; slot and entry
//! indices are masked or bounded by the locally validated geometry; lengths
//! are checked against the slot size before any copy; every retry loop is
//! bounded by a local constant ([`RETRIES`]), never by a value read from the
//! region. The work one call spends on stalled positions is bounded too:
//! at most [`SPIN_STEPS`] backoff steps waiting for a live owner, and at most
//! [`LIVENESS_CHECKS`] liveness checks and [`TABLE_VISITS`] table entries
//! looking for dead ones, after which it reports `Full`/`Empty` and its scan
//! of the table resumes on its next call. See `docs/guarantees.md` (MPMC
//! section) for the resulting per-call bound and for what a crash can lose.

mod consumer;
mod producer;
mod repair;

pub use crate::spsc::{PopError, PushError, Violation};
pub use consumer::Consumer;
pub use producer::Producer;
pub use repair::AttachError;

use crate::layout::{offset, EndpointState};
use crate::region::Region;
use crate::sync::{Index, Ordering};

/// Bound on the CAS retries of one operation: a local limit, so a peer that
/// keeps moving `head`/`tail` cannot keep us looping. Reaching it reports
/// `Full`/`Empty` (the caller may retry). Each retry is a few atomic
/// accesses and at most one CAS, no system call.
pub const RETRIES: u32 = 1024;

/// Bound on the [`Peers::is_dead`] calls of one operation (a system call
/// each in the platform crate). Reaching it reports `Full`/`Empty`; the
/// endpoint's scan of the table resumes there on its next call.
pub const LIVENESS_CHECKS: u32 = 32;

/// Bound on the endpoint-table entries one operation reads while looking for
/// the owners of stalled positions (two loads each): two full tables of the
/// largest size. Reaching it reports `Full`/`Empty`, and the scan resumes.
pub const TABLE_VISITS: u32 = 2048;

/// Steps of backoff (crossbeam-utils' `Backoff`) one operation may spend
/// waiting for a claimed position's owner to publish (or release) it: steps
/// 0..=6 spin 1, 2, 4 ... 64 times (`spin_loop` hints, 127 in all, a few µs)
/// before the operation asks whether the owner is dead; if it is alive, each
/// later step calls [`Peers::snooze`] once (a yield in the platform crate),
/// up to 16 in all. Then the operation reports `Empty`/`Full`. One step
/// under loom.
#[cfg(not(loom))]
pub const SPIN_STEPS: u32 = 23;
/// See the non-loom definition.
#[cfg(loom)]
pub const SPIN_STEPS: u32 = 1;

/// Largest batch one claim covers (the record packs the count in 8 bits).
pub const MAX_BATCH: usize = 255;

/// Role word of an endpoint-table entry.
pub mod role {
    /// Entry not in use (never used, or its endpoint detached cleanly).
    pub const FREE: u32 = 0;
    /// Held (or last held, if its holder died) by a producer.
    pub const PRODUCER: u32 = 1;
    /// Held (or last held, if its holder died) by a consumer.
    pub const CONSUMER: u32 = 2;
}

/// Byte offsets inside an endpoint-table entry (see `docs/layout.md`).
pub mod entry {
    /// `u32` role ([`super::role`]); the entry's lock is on this byte.
    pub const ROLE: usize = 0;
    /// `u32` reserved (written 0 at creation; no pid is stored).
    pub const PID: usize = 4;
    /// Index cell: the claim record, `position << 8 | count` (0: none),
    /// stored before the claiming CAS.
    pub const RECORD: usize = 8;
    /// Index cell: times this endpoint found the ring full (producer) or
    /// empty (consumer). Per entry, so idle polling bounces no shared line.
    pub const IDLE: usize = 16;
}

/// A step of an operation, for crash models ([`Peers::halt`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// The claim record is stored; the CAS on `tail`/`head` is not yet made.
    Recorded,
    /// The CAS succeeded: the positions are ours.
    Claimed,
    /// Producer: payload written, not published. Consumer: payload copied
    /// out, slot not released.
    Written,
    /// Producer: published (committed). Consumer: slot released.
    Published,
}

/// What the core needs to know about other endpoints, provided by the
/// platform crate (kernel locks) or by a test (a model of dying threads).
///
/// # Safety
/// [`Peers::is_dead`] may return `true` only for an entry whose endpoint
/// will never touch the region again (its process is gone, or, in a model,
/// its thread stopped for good) — or when no endpoint of this process can run
/// concurrently with the caller. The core repairs the slots such an endpoint
/// had claimed (re-publishing or freeing them); doing that under a live
/// endpoint of this process would race with its payload copy, a data race.
pub unsafe trait Peers {
    /// Whether the endpoint that holds (or last held) table entry `entry`
    /// is dead: nobody holds the entry's lock. Must not report a live
    /// endpoint as dead; an uncertain answer must be `false`.
    fn is_dead(&self, entry: usize) -> bool;

    /// Called while an operation waits for an endpoint that [`Peers::is_dead`]
    /// reported alive to publish (or release) the position it claimed, after
    /// the first spins (see [`SPIN_STEPS`]): a platform with threads yields
    /// the processor here (`std::thread::yield_now`), so that an owner
    /// preempted between its claim and its publication can finish. Called at
    /// most `SPIN_STEPS - 7` times per operation. The default spins 64 times.
    #[inline]
    fn snooze(&self) {
        for _ in 0..64 {
            crate::sync::spin_loop();
        }
    }

    /// Test hook, called after each [`Step`] of an operation. Returning
    /// `true` ends the operation at once, leaving the region exactly as a
    /// process killed at that point leaves it (the operation's return value
    /// is then meaningless and the endpoint must not be used again).
    #[inline(always)]
    fn halt(&self, _step: Step) -> bool {
        false
    }
}

/// Sequence word of a slot free for position `pos`.
#[inline]
pub(crate) const fn free_seq(pos: Index) -> u32 {
    pos as u32
}

/// Sequence word of a slot holding the committed message of position `pos`.
#[inline]
pub(crate) const fn full_seq(pos: Index) -> u32 {
    (pos as u32).wrapping_add(1)
}

/// Sequence word of a slot whose position `pos` was skipped (producer died).
#[inline]
pub(crate) const fn skip_seq(pos: Index) -> u32 {
    (pos as u32).wrapping_add(1).wrapping_add(1 << 31)
}

/// Writes "free for the first lap" into every slot and clears the table.
pub(crate) fn init_slots(region: &Region) {
    let g = *region.geometry();
    for slot in 0..g.capacity() as usize {
        region
            .stamp(slot)
            .store(free_seq(slot as Index), Ordering::Relaxed);
        region.len(slot).store(0, Ordering::Relaxed);
    }
    for e in 0..g.endpoints() as usize {
        region
            .entry_word(e, entry::ROLE)
            .store(0, Ordering::Relaxed);
        region.entry_word(e, entry::PID).store(0, Ordering::Relaxed);
        region
            .entry_cell(e, entry::RECORD)
            .store(0, Ordering::Relaxed);
        region
            .entry_cell(e, entry::IDLE)
            .store(0, Ordering::Relaxed);
    }
}

/// Records a violation in the region (sticky flag and a shared counter).
pub(crate) fn record_poison(region: &Region, counter: usize) {
    region.word(offset::POISONED).store(1, Ordering::Relaxed);
    region.index(counter).fetch_add(1, Ordering::Relaxed);
}

/// Adds one to this endpoint's idle counter (only we write it: no RMW).
#[inline]
pub(crate) fn bump_idle(region: &Region, e: usize) {
    let cell = region.entry_cell(e, entry::IDLE);
    cell.store(
        cell.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Whether any live endpoint of role `which` ([`role::PRODUCER`] or
/// [`role::CONSUMER`]) is attached: an entry says so and `peers` does not
/// report it dead. One `is_dead` call per such entry (a system call in the
/// platform crate): callers rate-limit it.
pub fn any_live(region: &Region, which: u32, peers: &impl Peers) -> bool {
    (0..region.geometry().endpoints() as usize).any(|e| {
        // Acquire: pairs with the Release store of FREE in an endpoint's
        // Drop, so a caller that sees the entry free also sees that
        // endpoint's last publications.
        region.entry_word(e, entry::ROLE).load(Ordering::Acquire) == which && !peers.is_dead(e)
    })
}

/// A snapshot of an MPMC region's counters, for monitoring.
///
/// Values are read Relaxed from words that peers write: informative, never
/// used for a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Positions claimed by producers (the shared `tail`), skipped ones included.
    pub claimed: Index,
    /// Positions taken by consumers (the shared `head`), skipped ones included.
    pub taken: Index,
    /// Positions skipped because their producer died after claiming them
    /// (never committed; no message lost).
    pub skipped: Index,
    /// Committed messages lost because the consumer that claimed them died
    /// before releasing their slot.
    pub lost: Index,
    /// Sum of the entries' idle counters (full or empty polls).
    pub idle: Index,
    /// Violations detected by producers.
    pub producer_poisoned: Index,
    /// Violations detected by consumers.
    pub consumer_poisoned: Index,
    /// Whether any endpoint ever poisoned this region.
    pub poisoned: bool,
    /// Entries whose role word says producer (live or dead).
    pub producers: u32,
    /// Entries whose role word says consumer (live or dead).
    pub consumers: u32,
    /// Whether a producer ever attached.
    pub producer_ever: bool,
    /// Blocking-wait counters (the wait line, shared by all endpoints).
    pub wait: crate::wait::WaitStats,
}

impl Stats {
    /// Reads the counters of `region`.
    pub fn read(region: &Region) -> Self {
        let i = |off| region.index(off).load(Ordering::Relaxed);
        let (mut producers, mut consumers, mut idle) = (0, 0, 0 as Index);
        for e in 0..region.geometry().endpoints() as usize {
            match region.entry_word(e, entry::ROLE).load(Ordering::Relaxed) {
                role::PRODUCER => producers += 1,
                role::CONSUMER => consumers += 1,
                _ => {}
            }
            idle = idle.wrapping_add(region.entry_cell(e, entry::IDLE).load(Ordering::Relaxed));
        }
        Stats {
            claimed: i(offset::TAIL),
            taken: i(offset::HEAD),
            skipped: i(offset::SKIPPED),
            lost: i(offset::LOST),
            idle,
            producer_poisoned: i(offset::PRODUCER_POISON),
            consumer_poisoned: i(offset::CONSUMER_POISON),
            poisoned: region.word(offset::POISONED).load(Ordering::Relaxed) != 0,
            producers,
            consumers,
            producer_ever: producer_ever(region),
            wait: crate::wait::WaitStats::read(region),
        }
    }
}

/// Whether a producer ever attached (the sticky `producer_state` word).
pub fn producer_ever(region: &Region) -> bool {
    EndpointState::from_word(region.word(offset::PRODUCER_STATE).load(Ordering::Relaxed))
        != EndpointState::Never
}
