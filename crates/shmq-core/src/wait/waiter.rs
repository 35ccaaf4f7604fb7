//! The try-once step and the waiting loop every endpoint runs (SPSC and
//! MPMC, sending and receiving), generic over the platform's [`Park`].
//!
//! This is the loop that ships: the platform crate calls [`try_once`] and
//! [`wait`] with its futex, and the loom models (`tests/loom_wait.rs`) call
//! the same two functions with a model futex. The loop itself reads no
//! shared word: it runs the endpoint's operation, the [`Line`] protocol and
//! the endpoint's liveness check, and bounds everything by the caller's
//! deadline and local constants.

use super::line::{Line, Turns};
use super::{Park, Woken};
use crate::region::Region;
use crate::spsc::{PopError, PushError};
use core::time::Duration;

/// Failed polls of [`try_once`] per liveness check: the check runs when the
/// endpoint's count of failed polls reaches a multiple of it, so at most once
/// per this many failures and at least once in this many consecutive ones.
pub const LIVENESS_POLLS: u32 = 64;
/// Waiting time of [`wait`] between two liveness checks.
pub const LIVENESS_INTERVAL: Duration = Duration::from_millis(1);
/// Longest single sleep. A sleeper wakes at least this often to check
/// whether its peer is still alive (so a peer that died, which sends no
/// wake, is noticed within about this time) and to bound the latency of a
/// wake lost to a forged wait word.
pub const PARK_SLICE: Duration = Duration::from_millis(10);
/// Default spin window of [`WaitMode::SpinThenPark`]: about twice the cost
/// of a futex wake on the machines measured (`docs/benchmarks.md`), so
/// spinning never costs more than twice what parking would have.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// How a blocking call waits when the queue is full/empty.
///
/// ```
/// use shmq_core::wait::{WaitMode, DEFAULT_SPIN};
/// assert_eq!(WaitMode::default(), WaitMode::SpinThenPark { spin: DEFAULT_SPIN });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitMode {
    /// Never sleep: spin, then yield the processor between polls. Lowest
    /// latency, one core busy while waiting. The peer never makes a wake call.
    Spin,
    /// Spin and yield for `spin`, then park on the futex (the default, with
    /// [`DEFAULT_SPIN`]). A message that arrives within the spin window costs
    /// what [`WaitMode::Spin`] costs; after it, a wake costs two system calls.
    SpinThenPark {
        /// How long to poll before parking.
        spin: Duration,
    },
    /// Park as soon as the queue is found full/empty (after one re-check).
    Park,
}

impl Default for WaitMode {
    fn default() -> Self {
        WaitMode::SpinThenPark { spin: DEFAULT_SPIN }
    }
}

impl WaitMode {
    /// Whether a wait that started `waited` ago should park now.
    fn parks_after(self, waited: Duration) -> bool {
        match self {
            WaitMode::Spin => false,
            WaitMode::SpinThenPark { spin } => waited >= spin,
            WaitMode::Park => true,
        }
    }
}

/// A core operation's error that may mean "no progress" (`Full`/`Empty`).
pub trait Stall {
    /// Whether this is the "no progress" error (and nothing else).
    fn is_stalled(&self) -> bool;
}

impl Stall for PushError {
    #[inline]
    fn is_stalled(&self) -> bool {
        matches!(self, PushError::Full)
    }
}

impl Stall for PopError {
    #[inline]
    fn is_stalled(&self) -> bool {
        matches!(self, PopError::Empty)
    }
}

/// Why [`try_once`] or [`wait`] returned no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure<E> {
    /// No progress: the queue stayed full/empty (for [`wait`]: until the
    /// deadline) and the peers are not known to be gone.
    Stalled,
    /// No progress and the peers are gone (`Disconnected`).
    Gone,
    /// The operation failed otherwise (never its "no progress" error).
    Failed(E),
}

/// The lines an endpoint notifies and parks on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lines {
    /// Announces this endpoint's progress (the peers park on it).
    notify: Line,
    /// This endpoint parks on it while waiting.
    park: Line,
}

impl Lines {
    /// The SPSC producer: announces data, waits for room.
    pub const SPSC_SENDER: Lines = Lines {
        notify: Line::DATA,
        park: Line::ROOM,
    };
    /// The SPSC consumer: announces room, waits for data.
    pub const SPSC_RECEIVER: Lines = Lines {
        notify: Line::ROOM,
        park: Line::DATA,
    };
    /// An MPMC producer (the lines are shared by every producer).
    pub const MPMC_SENDER: Lines = Lines {
        notify: Line::MPMC_DATA,
        park: Line::MPMC_ROOM,
    };
    /// An MPMC consumer (the lines are shared by every consumer).
    pub const MPMC_RECEIVER: Lines = Lines {
        notify: Line::MPMC_ROOM,
        park: Line::MPMC_DATA,
    };

    /// An endpoint attached: clears the registration a predecessor killed
    /// while parked left behind (else every publication of the peer would
    /// take the slow wake path). Nothing for MPMC, whose shared
    /// registration ends when a publisher answers it.
    pub fn attached(&self, region: &Region) {
        self.park.unregister(region);
    }

    /// An endpoint closed: call after its state store *and* after releasing
    /// its role lock, so a peer woken here finds it gone at once (woken
    /// before the unlock, it would find the lock held and sleep a slice).
    pub fn closed<P: Park>(&self, region: &Region, park: &P) {
        self.notify.wake_on_close(region, park);
    }
}

/// One endpoint, as the loop sees it.
pub trait Endpoint {
    /// The core end the operations run on.
    type Core;
    /// The core operations' error.
    type Error: Stall;
    /// The platform's parking primitive and clock.
    type Park: Park;
    /// The lines this endpoint notifies and parks on.
    const LINES: Lines;

    /// The core end.
    fn core(&mut self) -> &mut Self::Core;
    /// The shared region.
    fn region(&self) -> &Region;
    /// This endpoint's parking primitive.
    fn park(&self) -> &Self::Park;
    /// Failed polls of [`try_once`], wrapping (private to the endpoint; not
    /// reset on success, which would cost a store per message: a multiple of
    /// [`LIVENESS_POLLS`] still comes within that many consecutive failures).
    fn polls(&mut self) -> &mut u32;
    /// How [`wait`] waits.
    fn mode(&self) -> WaitMode;
    /// Whether the peer(s) are gone; `due`: whether an expensive check (a
    /// system call) is allowed now. Must return within a bound of its own.
    fn peer_gone(&self, due: bool) -> bool;
    /// Makes the core end's next operation exact (its "no progress" then
    /// means no progress was possible: see `spsc::Pacing`). Called before
    /// the retry after the peers are found gone, before the re-check that
    /// precedes parking, and for the last attempt at the deadline. By
    /// default nothing (ends whose operations are always exact).
    #[inline]
    fn exact(&mut self) {}
}

/// When a failed poll may run the expensive liveness check.
#[derive(Clone, Copy)]
enum Check {
    /// Every [`LIVENESS_POLLS`]th failure (at least once in that many
    /// consecutive ones).
    Polls,
    /// Now (an interval elapsed, the deadline expired, or a wake came).
    Now,
    /// Not now (cheap checks only).
    Skip,
}

/// Runs `op` once, and on "no progress" applies the disconnection rule:
/// every [`LIVENESS_POLLS`]th failure (so at least once in that many
/// consecutive ones) asks whether the peers
/// are gone and, if so, retries once (progress they made just before
/// leaving is visible then) and reports [`Failure::Gone`].
///
/// # Errors
/// [`Failure::Stalled`], [`Failure::Gone`], or [`Failure::Failed`] with the
/// operation's own error.
#[inline(always)]
pub fn try_once<E: Endpoint, R>(
    end: &mut E,
    op: impl FnMut(&mut E::Core) -> Result<R, E::Error>,
) -> Result<R, Failure<E::Error>> {
    attempt(end, Check::Polls, op)
}

#[inline(always)]
fn attempt<E: Endpoint, R>(
    end: &mut E,
    check: Check,
    mut op: impl FnMut(&mut E::Core) -> Result<R, E::Error>,
) -> Result<R, Failure<E::Error>> {
    match op(end.core()) {
        Ok(r) => Ok(progress(end, r)),
        Err(e) if e.is_stalled() => stalled(end, check, op),
        Err(e) => Err(Failure::Failed(e)),
    }
}

/// The "no progress" half of [`attempt`], out of line so that the
/// operation's hot call site is the only one the compiler sees inline.
#[cold]
#[inline(never)]
fn stalled<E: Endpoint, R>(
    end: &mut E,
    check: Check,
    mut op: impl FnMut(&mut E::Core) -> Result<R, E::Error>,
) -> Result<R, Failure<E::Error>> {
    let polls = end.polls();
    *polls = polls.wrapping_add(1);
    let due = match check {
        Check::Polls => *polls % LIVENESS_POLLS == 0,
        Check::Now => true,
        Check::Skip => false,
    };
    if !end.peer_gone(due) {
        return Err(Failure::Stalled);
    }
    // The peer is gone; it may have made progress just before (see each
    // endpoint's `peer_gone` for why that progress is visible now). The
    // retry is exact, so "gone" is reported only when nothing is left.
    end.exact();
    match op(end.core()) {
        Ok(r) => Ok(progress(end, r)),
        Err(e) if e.is_stalled() => Err(Failure::Gone),
        Err(e) => Err(Failure::Failed(e)),
    }
}

/// After a successful operation: wake the peers if one is parked (a
/// barrier and one load otherwise).
#[inline(always)]
fn progress<E: Endpoint, R>(end: &mut E, r: R) -> R {
    E::LINES.notify.notify(end.region(), end.park());
    r
}

/// Runs `op` until it makes progress, the peers are gone, or `timeout`
/// expires, waiting as the endpoint's [`WaitMode`] says: spin, yield, then
/// park on the endpoint's line in slices of at most [`PARK_SLICE`]. A
/// `timeout` of zero tries once (and checks liveness once); one too large to
/// add to the clock (e.g. `Duration::MAX`) means no bound.
///
/// Bound: the call returns within `timeout` plus the cost of one attempt
/// (the operation, at most one liveness check, one retry) and one
/// [`Park::yield_now`], whatever the region holds: sleeps are cut at the
/// deadline, and nothing read from the region sizes a loop here.
///
/// # Errors
/// [`Failure::Stalled`] when the deadline expired, [`Failure::Gone`],
/// [`Failure::Failed`].
pub fn wait<E: Endpoint, R>(
    end: &mut E,
    timeout: Duration,
    mut op: impl FnMut(&mut E::Core) -> Result<R, E::Error>,
) -> Result<R, Failure<E::Error>> {
    // Fast path: no clock read when the operation succeeds at once.
    match attempt(end, Check::Skip, &mut op) {
        Err(Failure::Stalled) => {}
        other => return other,
    }
    let mut w = Clock::new(end.park().now(), timeout);
    loop {
        let (expired, due) = w.tick(end.park().now());
        if expired {
            // The last attempt decides the result: exact.
            end.exact();
        }
        let check = if due { Check::Now } else { Check::Skip };
        match attempt(end, check, &mut op) {
            Err(Failure::Stalled) if !expired => {}
            other => return other,
        }
        if !end.mode().parks_after(w.waited()) {
            backoff(end.park(), &mut w.round);
            continue;
        }
        // Park: register, re-check (the state word too), then sleep one
        // slice at most; the loop re-checks after every wake-up.
        let region = end.region().clone();
        let line = E::LINES.park;
        let registration = line.register(&region, end.park(), &w.turns);
        // Sleep only if the operation is exactly stalled.
        end.exact();
        match attempt(end, Check::Skip, &mut op) {
            Err(Failure::Stalled) => {}
            other => {
                line.unregister(&region);
                return other;
            }
        }
        let slice = w.slice();
        let woken = line.sleep(&region, end.park(), registration, &mut w.turns, slice);
        // A sleep that ended early without progress may be a closing
        // peer's wake: check liveness at once.
        w.woken = woken != Woken::TimedOut;
    }
}

/// Spins briefly, then yields the processor (the polling phase of a wait).
fn backoff<P: Park>(park: &P, round: &mut u32) {
    if *round < 64 {
        for _ in 0..(1u32 << (*round / 8).min(4)) {
            core::hint::spin_loop();
        }
    } else {
        park.yield_now();
    }
    *round = round.saturating_add(1);
}

/// Deadline bookkeeping of one waiting call.
struct Clock {
    start: Duration,
    now: Duration,
    /// `None`: no bound.
    deadline: Option<Duration>,
    last_check: Duration,
    round: u32,
    turns: Turns,
    /// A sleep ended early without progress: check liveness at once.
    woken: bool,
}

impl Clock {
    fn new(start: Duration, timeout: Duration) -> Self {
        Clock {
            start,
            now: start,
            deadline: start.checked_add(timeout),
            last_check: start,
            round: 0,
            turns: Turns::default(),
            woken: false,
        }
    }

    /// Reads the clock: (expired, liveness check due).
    fn tick(&mut self, now: Duration) -> (bool, bool) {
        // A clock that went back (a broken platform) counts as no time.
        self.now = now.max(self.now);
        let expired = self.deadline.is_some_and(|d| self.now >= d);
        let due = expired
            || core::mem::take(&mut self.woken)
            || self.now.saturating_sub(self.last_check) >= LIVENESS_INTERVAL;
        if due {
            self.last_check = self.now;
        }
        (expired, due)
    }

    fn waited(&self) -> Duration {
        self.now.saturating_sub(self.start)
    }

    /// How long one park may last: a slice, cut at the deadline (if any).
    fn slice(&self) -> Duration {
        match self.deadline {
            Some(d) => d.saturating_sub(self.now).min(PARK_SLICE),
            None => PARK_SLICE,
        }
    }
}
