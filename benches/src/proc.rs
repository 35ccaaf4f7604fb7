//! Pinning, the peer process and bounded waits.
//!
//! The peer is this very binary re-executed with `__peer CASE ...` (see the
//! `xproc` binary). A [`Peer`] kills and reaps its child on drop, and a
//! watchdog thread kills it when the case's time bound passes, so a stuck peer
//! (or a parent blocked in `read` on a pipe to it) cannot hang the run: the
//! parent's read then sees end-of-file and fails.

use crate::{err, Result};
use rustix::process::{kill_process, waitid, Pid, Signal, WaitId, WaitIdOptions};
use rustix::thread::{sched_setaffinity, CpuSet};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Core the parent (and the in-process main thread) runs on.
pub const PARENT_CORE: usize = 0;
/// Core the peer process (and the in-process second thread) runs on.
pub const PEER_CORE: usize = 1;

/// Pins the calling thread to `core`.
///
/// # Errors
/// If the kernel refuses (e.g. fewer cores than `core + 1`).
pub fn pin_to(core: usize) -> Result<()> {
    let mut set = CpuSet::new();
    set.set(core);
    sched_setaffinity(None, &set).map_err(|e| err(format!("pin to core {core}: {e}")))
}

/// A point in time after which a wait gives up.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Instant);

impl Deadline {
    /// `d` from now.
    pub fn after(d: Duration) -> Self {
        Deadline(Instant::now() + d)
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.0
    }

    /// Time left (zero once passed).
    pub fn left(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }
}

/// A busy-wait step counter: a `spin_loop` hint per step; every 1024 steps it
/// reads the clock against the deadline and yields the core once (so that a
/// run on an oversubscribed machine still progresses; on an idle core the
/// yield returns at once, and a waiting loop reaches it only after some tens
/// of microseconds, far beyond every latency measured here).
#[derive(Debug)]
pub struct Spin {
    steps: u32,
    deadline: Deadline,
    what: &'static str,
}

impl Spin {
    /// A fresh counter for a wait named `what` (for the timeout message).
    pub fn new(deadline: Deadline, what: &'static str) -> Self {
        Spin {
            steps: 0,
            deadline,
            what,
        }
    }

    /// One step of waiting.
    ///
    /// # Errors
    /// Once the deadline has passed.
    #[inline(always)]
    pub fn step(&mut self) -> Result<()> {
        core::hint::spin_loop();
        self.steps = self.steps.wrapping_add(1);
        if self.steps % 1024 == 0 {
            self.slow()?;
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn slow(&self) -> Result<()> {
        if self.deadline.passed() {
            return Err(err(format!("timed out waiting for {}", self.what)));
        }
        std::thread::yield_now();
        Ok(())
    }
}

/// The peer process of one case: killed and reaped on drop.
#[derive(Debug)]
pub struct Peer {
    child: Option<Child>,
    watchdog: Option<Watchdog>,
    name: String,
}

impl Peer {
    /// Spawns this executable with `args`, giving it `stdin`/`stdout`, and
    /// arms a watchdog that kills it after `bound`.
    ///
    /// # Errors
    /// If the executable cannot be found or spawned.
    pub fn spawn(args: &[String], stdin: Stdio, stdout: Stdio, bound: Duration) -> Result<Self> {
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .args(args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()?;
        let watchdog = Watchdog::arm(child.id(), bound);
        Ok(Peer {
            child: Some(child),
            watchdog: Some(watchdog),
            name: args.get(1).cloned().unwrap_or_default(),
        })
    }

    /// Whether the peer has already exited (it must not before it is told to).
    ///
    /// # Errors
    /// If it has exited, with its status.
    pub fn check_alive(&mut self) -> Result<()> {
        let child = self
            .child
            .as_mut()
            .ok_or_else(|| err("peer already reaped"))?;
        match child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(err(format!("peer {} exited early: {status}", self.name))),
        }
    }

    /// Waits (bounded by the watchdog) for the peer to exit successfully.
    ///
    /// # Errors
    /// A failed exit status (including a kill by the watchdog).
    pub fn finish(mut self) -> Result<()> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| err("peer already reaped"))?;
        // Wait for the exit without reaping (WNOWAIT), the watchdog still
        // armed so the wait is bounded; then disarm it, then reap: the
        // watchdog can never signal a pid that was reaped and reused.
        if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
            let _ = waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
            );
        }
        self.watchdog.take();
        let status = child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(err(format!("peer {} failed: {status}", self.name)))
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.watchdog.take();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Kills a process with SIGKILL unless disarmed (dropped) before `bound`.
#[derive(Debug)]
struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    fn arm(pid: u32, bound: Duration) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(bound) {
                eprintln!("xproc: peer {pid} exceeded its {bound:?} bound, killing it");
                // The child is not reaped before this thread is joined (Peer's
                // drop and `finish` disarm first), so the pid is still ours.
                if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
                    let _ = kill_process(pid, Signal::KILL);
                }
            }
        });
        Watchdog {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
