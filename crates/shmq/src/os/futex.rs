//! Futexes and process-wide barriers (Linux), for the platform's
//! [`Park`](shmq_core::wait::Park) implementation in `crate::park`.
//!
//! The futexes are *shared* (never `FUTEX_PRIVATE_FLAG`: the peer is another
//! process), through rustix.

use rustix::io::Errno;
use rustix::thread::futex;
use rustix::thread::{membarrier_query, MembarrierCommand};
use shmq_core::wait::{FutexWord, Woken};
use std::sync::OnceLock;
use std::time::Duration;

/// Whether this process may use the asymmetric barrier: it registered for
/// `membarrier(GLOBAL_EXPEDITED)` (once per process, on first use), unless
/// `SHMQ_NO_MEMBARRIER=1` is set (for measurements).
pub(crate) fn asymmetric_ready() -> bool {
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

/// A full barrier on every CPU running a registered process.
pub(crate) fn membarrier() {
    // It cannot fail once registration succeeded (the command is
    // supported); if it did, a wake could be missed, which the sleeper's
    // slice bounds.
    let _ = rustix::thread::membarrier(MembarrierCommand::GlobalExpedited);
}

/// `FUTEX_WAIT` on a shared word, for at most `timeout`.
pub(crate) fn wait(word: &FutexWord, expected: u32, timeout: Duration) -> Woken {
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

/// `FUTEX_WAKE` of every waiter on a shared word.
pub(crate) fn wake(word: &FutexWord) {
    // Wake all: only one honest sleeper exists per word, but a stranger
    // waiting on it must not swallow the wake. Errors are ignored: the
    // sleeper's slice bounds a missed wake.
    let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
}
