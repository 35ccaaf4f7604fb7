//! The operating-system half of the core's [`Park`] contract, so that the
//! core's waiting loop ([`shmq_core::wait::wait`]) can sleep and wake across
//! processes.
//!
//! `futex(FUTEX_WAIT/FUTEX_WAKE)` on the region's word, *shared* (never
//! `FUTEX_PRIVATE_FLAG`: the peer is another process), through rustix
//! (`crate::os::futex`). The heavy barrier is
//! `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` when the kernel offers it
//! and this process registered for it (once per process); the publisher's
//! per-message barrier is then only a compiler fence. Without membarrier (or
//! with `SHMQ_NO_MEMBARRIER=1` in the environment, for measurements) both
//! sides use `fence(SeqCst)`. The crate is Linux-only (see `crate::os`).

use crate::os::futex as sys;
use shmq_core::wait::{FutexWord, Park, Woken};
use std::sync::atomic::{compiler_fence, fence, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The platform's [`Park`]: futex, membarrier and the monotonic clock.
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

/// The origin of [`Park::now`]: the first clock read of the process.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
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
    #[inline]
    fn now(&self) -> Duration {
        origin().elapsed()
    }
    #[inline]
    fn yield_now(&self) {
        std::thread::yield_now();
    }
}
