//! How blocking calls wait: spin, yield, then park on a futex in the region.
//!
//! The protocol (who registers, which barrier, who wakes) is in
//! [`shmq_core::wait`]; this module supplies the operating-system half of its
//! [`Park`] contract:
//! - **Linux**: `futex(FUTEX_WAIT/FUTEX_WAKE)` on the region's word, *shared*
//!   (never `FUTEX_PRIVATE_FLAG`: the peer is another process), through
//!   rustix. The heavy barrier is `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`
//!   when the kernel offers it and this process registered for it
//!   (`MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED`, once per process); the
//!   publisher's per-message barrier is then only a compiler fence. Without
//!   membarrier (or with `SHMQ_NO_MEMBARRIER=1` in the environment, for
//!   measurements) both sides use `fence(SeqCst)`.
//! - **Other Unix**: no futex; `wait` sleeps in short slices (≤ 50 µs) and
//!   `wake` does nothing, so a parked side notices a change within a slice.
//!   `can_wake` is false there, so publishers skip the barrier and the load
//!   of the waiting word: nothing is paid per message.

use shmq_core::wait::{FutexWord, Park, Woken};
use std::sync::atomic::{compiler_fence, fence, Ordering};
use std::time::Duration;

/// How `send`/`recv` wait when the queue is full/empty.
///
/// ```
/// # let name = format!("shmq-doc-mode-{}", std::process::id());
/// use shmq::WaitMode;
/// let q = shmq::spsc::Queue::create(&name, Default::default())?;
/// let mut rx = q.receiver()?;
/// rx.set_wait_mode(WaitMode::Park); // sleep at once, never burn a core
/// # Ok::<(), shmq::Error>(())
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

/// Default spin window of [`WaitMode::SpinThenPark`]: about twice the cost of
/// a futex wake on the machines measured (`docs/benchmarks.md`), so spinning
/// never costs more than twice what parking would have.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// Longest single sleep. A sleeper wakes at least this often to check
/// whether its peer's role lock is still held (so a peer that died, which
/// sends no wake, is noticed within about this time) and to bound the
/// latency of a wake lost to a forged wait word.
pub const PARK_SLICE: Duration = Duration::from_millis(10);

impl Default for WaitMode {
    fn default() -> Self {
        WaitMode::SpinThenPark { spin: DEFAULT_SPIN }
    }
}

impl WaitMode {
    /// Whether a wait that started `waited` ago should park now.
    pub(crate) fn parks_after(self, waited: Duration) -> bool {
        match self {
            WaitMode::Spin => false,
            WaitMode::SpinThenPark { spin } => waited >= spin,
            WaitMode::Park => true,
        }
    }
}

/// The platform's [`Park`]: futex + membarrier on Linux.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Futex {
    /// This process is registered for global expedited membarriers and
    /// issues one before each sleep.
    asymmetric: bool,
}

impl Futex {
    /// The parker of this process (registers for membarrier on first use).
    pub(crate) fn new() -> Self {
        Futex {
            asymmetric: sys::asymmetric_ready(),
        }
    }
}

impl Park for Futex {
    #[inline]
    fn wait(&self, word: &FutexWord, expected: u32, timeout: Duration) -> Woken {
        sys::wait(word, expected, timeout)
    }
    #[inline]
    fn wake(&self, word: &FutexWord) {
        sys::wake(word);
    }
    fn pause(&self, timeout: Duration) {
        std::thread::sleep(timeout);
    }
    #[inline(always)]
    fn can_wake(&self) -> bool {
        // A constant: on Linux the check folds away from the publisher's path.
        sys::CAN_WAKE
    }
    #[inline(always)]
    fn light_barrier(&self) {
        // Only the compiler must keep the publication before the load of the
        // waiting word; the CPU's store-load reordering is undone by the
        // sleeper's membarrier (see `shmq_core::wait`).
        compiler_fence(Ordering::SeqCst);
    }
    fn heavy_barrier(&self) {
        // SeqCst: pairs with the publisher's fence (or, with membarrier, the
        // barrier the kernel forces on the publisher's CPU).
        fence(Ordering::SeqCst);
        if self.asymmetric {
            sys::membarrier();
        }
    }
    #[inline(always)]
    fn asymmetric(&self) -> bool {
        self.asymmetric
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use super::*;
    use rustix::io::Errno;
    use rustix::thread::futex;
    use rustix::thread::{membarrier_query, MembarrierCommand};
    use std::sync::OnceLock;

    /// A futex wake ends a futex wait early.
    pub(super) const CAN_WAKE: bool = true;

    pub(super) fn asymmetric_ready() -> bool {
        static READY: OnceLock<bool> = OnceLock::new();
        *READY.get_or_init(|| {
            if std::env::var_os("SHMQ_NO_MEMBARRIER").is_some_and(|v| v != "0") {
                return false;
            }
            let q = membarrier_query();
            q.contains_command(MembarrierCommand::GlobalExpedited)
                && q.contains_command(MembarrierCommand::RegisterGlobalExpedited)
                && rustix::thread::membarrier(MembarrierCommand::RegisterGlobalExpedited).is_ok()
        })
    }

    pub(super) fn membarrier() {
        // It cannot fail once registration succeeded (the command is
        // supported); if it did, a wake could be missed, which the sleeper's
        // slice bounds.
        let _ = rustix::thread::membarrier(MembarrierCommand::GlobalExpedited);
    }

    pub(super) fn wait(word: &FutexWord, expected: u32, timeout: Duration) -> Woken {
        // Relative timeout on CLOCK_MONOTONIC (FUTEX_WAIT's default). Clamped:
        // callers pass at most a slice, this only guards the conversion.
        let timeout = timeout.min(Duration::from_secs(3600));
        let ts = rustix::thread::futex::Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        // Flags::empty(): a shared futex, keyed by the page, so the waker in
        // the other process finds us.
        match futex::wait(word, futex::Flags::empty(), expected, Some(&ts)) {
            Ok(()) | Err(Errno::INTR) => Woken::Woken,
            Err(Errno::AGAIN) => Woken::Changed,
            Err(Errno::TIMEDOUT) => Woken::TimedOut,
            Err(_) => {
                // Unexpected (e.g. ENOSYS under a sandbox): degrade to a
                // short sleep so the caller's loop does not spin hot.
                std::thread::sleep(timeout.min(Duration::from_micros(50)));
                Woken::Woken
            }
        }
    }

    pub(super) fn wake(word: &FutexWord) {
        // Wake all: only one honest sleeper exists per word, but a stranger
        // waiting on it must not swallow the wake. Errors are ignored: the
        // sleeper's slice bounds a missed wake.
        let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use super::*;
    use std::time::Instant;

    /// `wake` does nothing: publishers skip their barrier and load.
    pub(super) const CAN_WAKE: bool = false;

    pub(super) fn asymmetric_ready() -> bool {
        false
    }
    pub(super) fn membarrier() {}

    pub(super) fn wait(word: &FutexWord, expected: u32, timeout: Duration) -> Woken {
        let start = Instant::now();
        let slice = timeout.min(Duration::from_micros(50));
        if word.load(Ordering::Relaxed) != expected {
            return Woken::Changed;
        }
        std::thread::sleep(slice);
        if start.elapsed() >= timeout {
            Woken::TimedOut
        } else {
            Woken::Woken
        }
    }

    pub(super) fn wake(_word: &FutexWord) {}
}
