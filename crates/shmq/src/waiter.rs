//! The try-once step and the waiting loop shared by every endpoint (SPSC and
//! MPMC, sending and receiving).
//!
//! An endpoint describes itself through [`Endpoint`]: its core end, the
//! [`Line`] its progress is announced on and the one it parks on, its
//! failed-poll counter and how it decides that its peers are gone. The
//! differences between the SPSC and MPMC loops are compile-time policy
//! constants of that trait, so each instantiation is the loop it replaces.

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::wait::{Futex, WaitMode, PARK_SLICE};
use shmq_core::region::Region;
use shmq_core::spsc::{PopError, PushError};
use shmq_core::wait::{Line, Turns, Woken};
use std::time::{Duration, Instant};

/// Consecutive failed polls of `try_*` between two liveness checks.
const LIVENESS_POLLS: u32 = 64;
/// Waiting time of `send`/`recv` between two liveness checks.
const LIVENESS_INTERVAL: Duration = Duration::from_millis(1);

/// When a failed poll may ask the kernel whether the peer is alive.
#[derive(Clone, Copy)]
pub(crate) enum Check {
    /// Every [`LIVENESS_POLLS`]th consecutive failure (`try_*`).
    Polls,
    /// Now (a waiting loop's interval elapsed or its timeout expired).
    Now,
    /// Not now (state word only).
    Skip,
}

/// A `try_*` error: "no progress" (`Full`/`Empty`), "peer gone", or a failure.
pub(crate) trait Stall: Sized {
    /// The error of the waiting variant (`Full`/`Empty` become `Timeout`).
    type Timeout: From<Self>;
    /// No progress: `Full` or `Empty`.
    const STALLED: Self;
    /// No progress and the peer is gone: `Disconnected`.
    const GONE: Self;
    /// Whether this is [`Stall::STALLED`].
    fn is_stalled(&self) -> bool;
}

impl Stall for TrySendError {
    type Timeout = SendTimeoutError;
    const STALLED: Self = TrySendError::Full;
    const GONE: Self = TrySendError::Disconnected;
    fn is_stalled(&self) -> bool {
        matches!(self, TrySendError::Full)
    }
}

impl Stall for TryRecvError {
    type Timeout = RecvTimeoutError;
    const STALLED: Self = TryRecvError::Empty;
    const GONE: Self = TryRecvError::Disconnected;
    fn is_stalled(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }
}

/// A core operation's error (`PushError`/`PopError`).
pub(crate) trait CoreError {
    /// The matching `try_*` error.
    type Try: Stall;
    /// Whether this is the core's `Full`/`Empty` (and nothing else).
    fn is_stalled(&self) -> bool;
    /// Maps it to the `try_*` error.
    fn into_try(self) -> Self::Try;
}

impl CoreError for PushError {
    type Try = TrySendError;
    fn is_stalled(&self) -> bool {
        matches!(self, PushError::Full)
    }
    fn into_try(self) -> TrySendError {
        match self {
            PushError::TooLarge { len, max } => TrySendError::TooLarge { len, max },
            PushError::Poisoned(v) => TrySendError::Poisoned(v),
            // `Full`, and any variant a newer core may add: report no progress.
            _ => TrySendError::Full,
        }
    }
}

impl CoreError for PopError {
    type Try = TryRecvError;
    fn is_stalled(&self) -> bool {
        matches!(self, PopError::Empty)
    }
    fn into_try(self) -> TryRecvError {
        match self {
            PopError::Size { len, capacity } => TryRecvError::Size { len, capacity },
            PopError::Poisoned(v) => TryRecvError::Poisoned(v),
            // `Empty`, and any variant a newer core may add: report no progress.
            _ => TryRecvError::Empty,
        }
    }
}

/// The `try_*` error of endpoint `E`.
type TryOf<E> = <<E as Endpoint>::Error as CoreError>::Try;
/// The waiting-call error of endpoint `E`.
type TimeoutOf<E> = <TryOf<E> as Stall>::Timeout;

/// One endpoint, as the shared loop sees it.
pub(crate) trait Endpoint {
    /// The core end the operations run on.
    type Core;
    /// The core operations' error.
    type Error: CoreError;
    /// The line a successful operation notifies (the peers' parking line).
    const NOTIFY: Line;
    /// The line this endpoint parks on while waiting.
    const PARK: Line;
    /// Whether a success on the retry after "peer gone" resets the counter.
    const RESET_ON_RETRY: bool;
    /// Whether `wait` tries once before reading the clock.
    const FAST_PATH: bool;
    /// Whether the re-check after registering unregisters when it returns.
    const UNREGISTER_ON_RECHECK: bool;
    /// Whether a sleep that ended early makes the next liveness check due.
    const WAKE_CHECKS: bool;

    /// The core end.
    fn core(&mut self) -> &mut Self::Core;
    /// The shared region.
    fn region(&self) -> &Region;
    /// This endpoint's parking primitive.
    fn park(&self) -> &Futex;
    /// Consecutive failed polls of `try_*` calls.
    fn polls(&mut self) -> &mut u32;
    /// How `wait` waits.
    fn mode(&self) -> WaitMode;
    /// Whether the peer(s) are gone; `due`: whether a lock check is allowed now.
    fn peer_gone(&self, due: bool) -> bool;
}

/// Runs `op`, and on `Full`/`Empty` applies the disconnection rule (see the
/// `spsc` and `mpmc` module docs).
pub(crate) fn attempt<E: Endpoint, R>(
    end: &mut E,
    check: Check,
    mut op: impl FnMut(&mut E::Core) -> Result<R, E::Error>,
) -> Result<R, TryOf<E>> {
    match op(end.core()) {
        Ok(r) => {
            *end.polls() = 0;
            E::NOTIFY.notify(end.region(), end.park());
            return Ok(r);
        }
        Err(e) if e.is_stalled() => {}
        Err(e) => return Err(e.into_try()),
    }
    let polls = end.polls();
    *polls = polls.wrapping_add(1);
    let due = match check {
        Check::Polls => *polls % LIVENESS_POLLS == 0,
        Check::Now => true,
        Check::Skip => false,
    };
    if !end.peer_gone(due) {
        return Err(Stall::STALLED);
    }
    // The peer is gone; it may have made progress just before (see each
    // endpoint's `peer_gone` for why that progress is visible now).
    match op(end.core()) {
        Ok(r) => {
            if E::RESET_ON_RETRY {
                *end.polls() = 0;
            }
            E::NOTIFY.notify(end.region(), end.park());
            Ok(r)
        }
        Err(e) if e.is_stalled() => Err(Stall::GONE),
        Err(e) => Err(e.into_try()),
    }
}

/// Waits (spin, yield, then park as the endpoint's mode says) until `op`
/// makes progress, the peer is gone, or `timeout` expires.
pub(crate) fn wait<E: Endpoint, R>(
    end: &mut E,
    timeout: Duration,
    mut op: impl FnMut(&mut E::Core) -> Result<R, E::Error>,
) -> Result<R, TimeoutOf<E>> {
    if E::FAST_PATH {
        // Fast path: no clock read when the operation succeeds at once.
        match attempt(end, Check::Skip, &mut op) {
            Err(e) if e.is_stalled() => {}
            other => return other.map_err(From::from),
        }
    }
    let mut w = Waiter::new(timeout);
    loop {
        let (expired, due) = w.tick();
        let check = if due { Check::Now } else { Check::Skip };
        match attempt(end, check, &mut op) {
            // `Full`/`Empty` converts to `Timeout`.
            Err(e) if e.is_stalled() && expired => return Err(e.into()),
            Err(e) if e.is_stalled() => {}
            other => return other.map_err(From::from),
        }
        if !w.parks(end.mode()) {
            backoff(&mut w.round);
            continue;
        }
        // Park: register, re-check (the state word too), then sleep one
        // slice at most; the loop re-checks after every wake-up.
        let region = end.region().clone();
        let registration = E::PARK.register(&region, end.park(), &w.turns);
        match attempt(end, Check::Skip, &mut op) {
            Err(e) if e.is_stalled() => {}
            other => {
                if E::UNREGISTER_ON_RECHECK {
                    E::PARK.unregister(&region);
                }
                return other.map_err(From::from);
            }
        }
        let slice = w.slice();
        let woken = E::PARK.sleep(&region, end.park(), registration, &mut w.turns, slice);
        if E::WAKE_CHECKS {
            w.slept(woken);
        }
    }
}

/// Spins briefly, then yields the processor (the polling phase of a wait).
fn backoff(round: &mut u32) {
    if *round < 64 {
        for _ in 0..(1u32 << (*round / 8).min(4)) {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
    *round = round.saturating_add(1);
}

/// Deadline bookkeeping of a waiting loop: whether the liveness check is due.
struct Waiter {
    start: Instant,
    now: Instant,
    deadline: Option<Instant>,
    last_check: Instant,
    round: u32,
    turns: Turns,
    /// A sleep ended early without progress: check liveness at once (a
    /// closing peer's wake).
    woken: bool,
}

impl Waiter {
    fn new(timeout: Duration) -> Self {
        let start = Instant::now();
        Waiter {
            start,
            now: start,
            deadline: start.checked_add(timeout),
            last_check: start,
            round: 0,
            turns: Turns::default(),
            woken: false,
        }
    }
    /// (expired, check due)
    fn tick(&mut self) -> (bool, bool) {
        let now = Instant::now();
        self.now = now;
        let expired = self.deadline.is_some_and(|d| now >= d);
        let due = expired
            || std::mem::take(&mut self.woken)
            || now.duration_since(self.last_check) >= LIVENESS_INTERVAL;
        if due {
            self.last_check = now;
        }
        (expired, due)
    }
    /// Whether the loop should park now rather than spin.
    fn parks(&self, mode: WaitMode) -> bool {
        mode.parks_after(self.now.duration_since(self.start))
    }
    /// How long one park may last: a slice, cut at the deadline (if any).
    fn slice(&self) -> Duration {
        match self.deadline {
            Some(d) => d.saturating_duration_since(self.now).min(PARK_SLICE),
            None => PARK_SLICE,
        }
    }
    /// Records how a sleep ended.
    fn slept(&mut self, woken: Woken) {
        self.woken = woken != Woken::TimedOut;
    }
}
