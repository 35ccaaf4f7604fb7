//! Blocking waits: the lost-wakeup protocol over the region's wait line.
//!
//! A side that cannot make progress (the consumer on an empty ring, the
//! producer on a full one) may *park*: sleep on a 32-bit futex word in the
//! region until the other side publishes. The other side must then issue a
//! wake, but only when somebody actually sleeps: a publisher that finds no
//! registered sleeper makes no system call and no read-modify-write.
//!
//! # Words (in the wait line, see `docs/layout.md`)
//! Each direction (`Line::DATA`: consumer waits for data; `Line::ROOM`:
//! producer waits for room) has
//! - `waiting` (written by the sleeper): `WAITING | seq` while it is
//!   registered to sleep on futex value `seq`, 0 otherwise;
//! - `mode` (written by the sleeper): [`ASYMMETRIC`] if the sleeper's heavy
//!   barrier is a process-wide one (Linux `membarrier`), [`FENCED`] if it is
//!   only a local full fence, 0 while no sleeper has registered;
//! - `seq` (written by the waker): the futex word; the waker moves it on
//!   before each wake, so a sleeper that registered on the old value never
//!   sleeps through the wake meant for it;
//! - counters (`sleeps`, `spurious` by the sleeper, `wakes` by the waker),
//!   32-bit, wrapping, updated with a plain load + store.
//!
//! # Protocol (Dekker with a futex)
//! ```text
//! sleeper                              publisher
//! s = seq                              publish (Release store of stamp/head)
//! waiting = WAITING | s   (Release)    barrier: light if the sleeper's mode is
//! heavy barrier                                 ASYMMETRIC and we are reachable,
//! re-check the ring                             else fence(SeqCst)
//! futex_wait(seq, s, slice)            w = waiting            (Acquire)
//! waiting = 0                          if w == WAITING | seq:
//!                                          seq += 1; futex_wake(seq)
//! ```
//! Either the re-check sees the publication, or the publisher's load sees the
//! registration (store-load ordering on both sides: the two barriers). In the
//! second case it moves `seq` on and wakes: if that happens before the
//! sleeper's `futex_wait`, the kernel finds `seq != s` and returns at once
//! (`EAGAIN`); otherwise the wake finds the sleeper queued. A registration
//! the publisher already answered (`seq` moved) gets no second wake, so a
//! sleeper being woken costs the publisher one system call, not one per
//! message.
//!
//! The *asymmetric* barrier: a full fence per message costs the publisher
//! ~10–20 ns on x86, more than the rest of a send. Instead the publisher
//! only stops the compiler from reordering, and the sleeper (which is about
//! to make a system call anyway) issues a barrier that acts as a full fence
//! on every CPU running a registered process (`membarrier(GLOBAL_EXPEDITED)`,
//! the technique of Folly's `asymmetricHeavyBarrier` and liburcu). Both sides
//! must agree: the publisher uses its light barrier only if its own
//! [`Park::asymmetric`] is true (its process is reachable by a sleeper's
//! process-wide barrier) and the sleeper's `mode` word does not say
//! [`FENCED`]; otherwise it uses `fence(SeqCst)`, which pairs with either kind
//! of heavy barrier. A `mode` of 0 (no sleeper yet) is treated as
//! asymmetric, so that a publisher whose peer never sleeps pays no fence per
//! message. The price: a sleeper *without* membarrier (`SHMQ_NO_MEMBARRIER`,
//! membarrier denied by seccomp, a failed registration) can lose its first
//! wake until its `FENCED` store is visible to the publisher, which costs it
//! at most one sleep slice, as a forged `mode` does. Nothing guarantees that
//! two processes on one kernel both have membarrier.
//!
//! # Untrusted peer
//! Every word here may be forged. The consequences are bounded: a forged
//! `waiting` costs the publisher an extra wake call (at most one per change
//! of its own `seq`); a forged `seq` (any bit, the futex is given the word
//! as loaded) makes at most the current `futex_wait` return early, and a
//! peer that keeps rewriting it gets `QUICK_TURNS` quick turns, then plain
//! timed sleeps without registration or heavy barrier (`Turns`), so it
//! cannot make us issue `membarrier` in a loop; a forged `mode`
//! can make a publisher skip its full fence, so a wake can be missed, which
//! costs a sleeper at most one sleep slice (every sleep has a timeout).
//! Nothing read here sizes a loop or an access.
//!
//! # Several sleepers (MPMC: `Line::MPMC_DATA`, `Line::MPMC_ROOM`)
//! `waiting` is shared: sleepers write `WAITING | seq` with a CAS (never over
//! a newer `seq`) and never clear it; the publisher that answers moves `seq`
//! on with a CAS, clears `waiting` with a CAS from the value it read, and
//! wakes all sleepers; a stale value is cleared the same way. Counters are
//! `fetch_add`. See `docs/layout.md` (MPMC regions).

//!
//! # Modules
//! - the contract with the operating system: [`Park`] (futex, barriers,
//!   clock);
//! - [`WaitMode`] and the waiting loop every endpoint runs
//!   ([`Endpoint`], [`try_once`], [`wait`]: try, spin, yield, then park);
//! - the protocol words themselves (`Line`, internal; reachable for tests
//!   and benchmarks through the hidden, unstable `shmq_core::unstable`).

pub(crate) mod line;
mod waiter;

pub use waiter::{
    try_once, wait, Endpoint, Failure, Lines, Stall, WaitMode, DEFAULT_SPIN, LIVENESS_INTERVAL,
    LIVENESS_POLLS, PARK_SLICE,
};

use crate::layout::offset;
use crate::region::Region;
use crate::sync::{AtomicU32, Ordering};
use core::time::Duration;

/// The type of a futex word: a 32-bit atomic in the region (loom's under
/// `--cfg loom`, `core`'s otherwise, whose layout is a plain `u32`).
pub type FutexWord = AtomicU32;

/// Flag bit of a `waiting` word: the sleeper is registered.
pub const WAITING: u32 = 1 << 31;
/// Bits of a `seq` value (the rest of a `waiting` word).
pub const SEQ_MASK: u32 = WAITING - 1;
/// Value of a `mode` word: the sleeper issues a process-wide heavy barrier.
pub const ASYMMETRIC: u32 = u32::from_le_bytes(*b"MBAR");
/// Value of a `mode` word: the sleeper's heavy barrier is only a local full
/// fence, so publishers must issue `fence(SeqCst)` themselves.
pub const FENCED: u32 = u32::from_le_bytes(*b"FNCE");

/// How a [`Park::wait`] ended. Every outcome is advisory: the caller
/// re-checks the ring after each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// The word no longer held the expected value (`EAGAIN`).
    Changed,
    /// Woken (by a wake, a signal, or spuriously).
    Woken,
    /// The timeout expired.
    TimedOut,
}

/// The operating-system side of blocking waits (a futex and two barriers).
///
/// # Contract
/// Implementations must provide, for words shared with *other processes*
/// (so never a process-private futex):
/// - [`Park::wait`]: atomically with respect to [`Park::wake`] on the same
///   word, check that `word == expected` and, if so, sleep until woken or
///   until `timeout` elapsed (it may also return early for any reason:
///   callers re-check). It must return within about `timeout`.
/// - [`Park::wake`]: wake every thread sleeping in `wait` on `word` that
///   started sleeping before the call.
/// - [`Park::heavy_barrier`]: a full (SeqCst) fence in the calling thread;
///   if [`Park::asymmetric`] is true, also a full fence in every thread of
///   every process whose [`Park::asymmetric`] is true, at some point during
///   the call (Linux `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`).
/// - [`Park::light_barrier`]: at least a compiler fence. It is used instead
///   of `fence(SeqCst)` only when both this side's `asymmetric()` and the
///   sleeper's advertised mode say the heavy barrier reaches this thread.
///
/// - [`Park::pause`]: sleep for about `timeout` (a plain timed sleep, no word).
/// - [`Park::now`]: a monotonic clock (never goes back).
/// - [`Park::can_wake`]: whether [`Park::wake`] can end a [`Park::wait`]
///   early. If false (a platform without futexes, whose `wait` only sleeps
///   in short slices), publishers skip their barrier and load entirely.
///
/// Breaking the contract cannot cause undefined behaviour, only missed
/// wakes, which the callers bound by sleeping in slices.
pub trait Park {
    /// Sleeps while `word == expected`, for at most `timeout`.
    fn wait(&self, word: &FutexWord, expected: u32, timeout: Duration) -> Woken;
    /// Sleeps for about `timeout`, on no word (the fallback of a sleeper
    /// whose futex keeps returning at once, see `Turns`).
    fn pause(&self, timeout: Duration);
    /// Whether [`Park::wake`] can wake a [`Park::wait`]; when false,
    /// a publication (`Line::notify`) costs nothing.
    #[inline(always)]
    fn can_wake(&self) -> bool {
        true
    }
    /// Wakes the sleepers on `word`.
    fn wake(&self, word: &FutexWord);
    /// The publisher's barrier between publishing and reading `waiting`.
    fn light_barrier(&self);
    /// The sleeper's barrier between registering and re-checking.
    fn heavy_barrier(&self);
    /// Whether [`Park::heavy_barrier`] reaches other processes and this
    /// process is reachable by theirs.
    fn asymmetric(&self) -> bool;
    /// A monotonic clock: the time since an arbitrary fixed origin. The
    /// waiting loop reads it for its deadline, its spin window and the
    /// liveness interval.
    fn now(&self) -> Duration;
    /// Gives the processor away between polls (the platform's
    /// `sched_yield`); by default a spin-loop hint.
    #[inline]
    fn yield_now(&self) {
        core::hint::spin_loop();
    }
}
/// The wake counters of a region (informative: peers write them; 32-bit, wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitStats {
    /// Times the consumer registered to sleep waiting for data (some end at
    /// the re-check, without a system call).
    pub consumer_sleeps: u32,
    /// Consumer wake-ups that nobody sent (signals, spurious futex returns).
    pub consumer_spurious: u32,
    /// Wake calls the producer made for a sleeping consumer (or on close).
    pub data_wakes: u32,
    /// Times the producer registered to sleep waiting for room.
    pub producer_sleeps: u32,
    /// Producer wake-ups that nobody sent.
    pub producer_spurious: u32,
    /// Wake calls the consumer made for a sleeping producer (or on close).
    pub room_wakes: u32,
}

impl WaitStats {
    /// Reads the counters of `region`.
    pub fn read(region: &Region) -> Self {
        let w = |off| region.word(off).load(Ordering::Relaxed);
        WaitStats {
            consumer_sleeps: w(offset::CONSUMER_SLEEPS),
            consumer_spurious: w(offset::CONSUMER_SPURIOUS),
            data_wakes: w(offset::DATA_WAKES),
            producer_sleeps: w(offset::PRODUCER_SLEEPS),
            producer_spurious: w(offset::PRODUCER_SPURIOUS),
            room_wakes: w(offset::ROOM_WAKES),
        }
    }
}
