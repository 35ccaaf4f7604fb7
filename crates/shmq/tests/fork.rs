//! Endpoints taken from one queue handle in a parent and in a `fork()`ed
//! child: after `fork` both processes share the handle's open file
//! description, so locks taken on it would not conflict and a liveness check
//! through it would not see the other process's lock. Each endpoint must
//! lock through a description of its own.
//!
//! The children only attach an endpoint, talk over a socket pair made before
//! the fork, and leave with `_exit` (no destructors, no test harness).

mod common;

use common::unique_name;
use shmq::{Error, RecvTimeoutError};
use shmq_core::layout::Geometry;
use shmq_core::mpmc::{Peers, Producer, Step};
use shmq_core::region::Region;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A forked child, killed and reaped on drop if still running.
struct Child {
    pid: libc::pid_t,
    reaped: bool,
}

impl Child {
    /// Waits (bounded) for the child to exit; returns its exit status.
    fn join(mut self) -> i32 {
        let end = Instant::now() + WAIT;
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own child with a valid status pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            assert!(r >= 0, "waitpid");
            if r == self.pid {
                self.reaped = true;
                assert!(libc::WIFEXITED(status), "child did not exit: {status:#x}");
                return libc::WEXITSTATUS(status);
            }
            assert!(Instant::now() < end, "child did not exit in time");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits (bounded) until the child is stopped by a signal.
    fn wait_stopped(&self) {
        let end = Instant::now() + WAIT;
        loop {
            let mut status = 0;
            // SAFETY: as in `join`.
            let r =
                unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG | libc::WUNTRACED) };
            assert!(r >= 0, "waitpid");
            if r == self.pid {
                assert!(libc::WIFSTOPPED(status), "child ended: {status:#x}");
                return;
            }
            assert!(Instant::now() < end, "child did not stop in time");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.pid, sig) }, 0);
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            self.signal(libc::SIGKILL);
            let mut status = 0;
            // SAFETY: as in `join`.
            unsafe { libc::waitpid(self.pid, &mut status, 0) };
        }
    }
}

/// Forks; the child runs `f` and leaves with `_exit` (101 if it panicked).
fn fork(f: impl FnOnce() -> i32) -> Child {
    // SAFETY: the child only runs `f` (which attaches an endpoint, uses the
    // socket and the mapping) and then `_exit`s, skipping destructors and
    // atexit handlers of the parent's state; glibc's malloc is fork-safe.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    Child { pid, reaped: false }
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_read_timeout(Some(WAIT)).unwrap();
    b.set_read_timeout(Some(WAIT)).unwrap();
    (a, b)
}

fn read_byte(s: &mut UnixStream) -> u8 {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    b[0]
}

const MPMC: shmq::mpmc::Config = shmq::mpmc::Config {
    capacity: 4,
    slot_size: 8,
    max_endpoints: 4,
};

/// A sender in the child and one in the parent (both from the same handle,
/// the parent's taken after the fork) hold distinct entries, and the
/// parent's receiver sees the child's sender alive.
#[test]
fn mpmc_parent_and_child_take_distinct_entries() {
    let name = unique_name("fork-mpmc");
    let q = shmq::mpmc::Queue::create(&name, MPMC).unwrap();
    let mut rx = q.receiver().unwrap();
    let (mut parent, mut child) = pair();
    let kid = fork(|| {
        let tx = q.sender().unwrap();
        child.write_all(&[tx.entry() as u8]).unwrap();
        read_byte(&mut child); // hold the sender until the parent is done
        drop(tx);
        0
    });
    let child_entry = usize::from(read_byte(&mut parent));
    let tx = q.sender().unwrap();
    assert_ne!(tx.entry(), child_entry, "two live senders on one entry");
    assert_ne!(rx.entry(), child_entry);
    drop(tx);
    let mut buf = [0u8; 8];
    assert_eq!(
        rx.recv(&mut buf, Duration::from_millis(50)),
        Err(RecvTimeoutError::Timeout),
        "the child's sender is alive"
    );
    parent.write_all(&[1]).unwrap();
    assert_eq!(kid.join(), 0);
    assert_eq!(
        rx.recv(&mut buf, WAIT),
        Err(RecvTimeoutError::Disconnected),
        "the child's sender is gone"
    );
}

/// Stops at [`Step::Claimed`] (SIGSTOP to itself); never reports anyone dead.
struct StopAfterClaim;

// SAFETY: `is_dead` never returns true.
unsafe impl Peers for StopAfterClaim {
    fn is_dead(&self, _: usize) -> bool {
        false
    }
    fn halt(&self, step: Step) -> bool {
        if step == Step::Claimed {
            // SAFETY: raise(2) with a valid signal number.
            unsafe { libc::raise(libc::SIGSTOP) };
        }
        false
    }
}

/// A child's sender claims a position and is stopped (alive) before
/// publishing: the parent's receiver must wait for it, never repair its claim.
#[test]
fn mpmc_stopped_child_claim_is_not_repaired() {
    let name = unique_name("fork-stop");
    let q = shmq::mpmc::Queue::create(&name, MPMC).unwrap();
    let mut rx = q.receiver().unwrap();
    let (mut parent, mut child) = pair();
    let path = std::ffi::CString::new(format!("/dev/shm/{name}")).unwrap();
    let kid = fork(|| {
        // The sender holds the entry's lock; the core producer below works
        // in that entry (same index) over a mapping of the child's own.
        let tx = q.sender().unwrap();
        let g = Geometry::new_mpmc(MPMC.capacity, MPMC.slot_size, MPMC.max_endpoints).unwrap();
        // SAFETY: plain open(2)/mmap(2) of the region file; checked below.
        let base = unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            assert!(fd >= 0);
            let p = libc::mmap(
                std::ptr::null_mut(),
                g.total_size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            p.cast::<u8>()
        };
        // SAFETY: a page-aligned read/write mapping of the region, never
        // unmapped (the child `_exit`s); `g` is the creator's geometry.
        let region = unsafe { Region::from_raw(base, g) };
        let mut p = Producer::attach(region, tx.entry(), StopAfterClaim).unwrap();
        p.try_push(&[7]).unwrap(); // stops after claiming position 0
        child.write_all(&[1]).unwrap();
        read_byte(&mut child);
        drop(p);
        drop(tx);
        0
    });
    kid.wait_stopped();
    let mut buf = [0u8; 8];
    for _ in 0..200 {
        assert_eq!(rx.try_recv(&mut buf), Err(shmq::TryRecvError::Empty));
    }
    let stats = q.stats();
    assert_eq!(
        (stats.skipped, stats.claimed),
        (0, 1),
        "a live claim was repaired"
    );
    kid.signal(libc::SIGCONT);
    assert_eq!(read_byte(&mut parent), 1);
    assert_eq!(rx.recv(&mut buf, WAIT), Ok(1));
    assert_eq!(buf[0], 7);
    parent.write_all(&[1]).unwrap();
    assert_eq!(kid.join(), 0);
    assert_eq!(q.stats().skipped, 0);
}

/// SPSC: a child's sender and a parent's sender from one handle: the second
/// gets `RoleTaken`, and the parent's receiver sees the child's sender alive.
#[test]
fn spsc_role_taken_across_fork() {
    let name = unique_name("fork-spsc");
    let q = shmq::spsc::Queue::create(
        &name,
        shmq::spsc::Config {
            capacity: 4,
            slot_size: 8,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    let (mut parent, mut child) = pair();
    let kid = fork(|| {
        let tx = q.sender().unwrap();
        child.write_all(&[1]).unwrap();
        read_byte(&mut child);
        drop(tx);
        0
    });
    assert_eq!(read_byte(&mut parent), 1);
    assert!(
        matches!(q.sender(), Err(Error::RoleTaken(_))),
        "two producers of one SPSC queue"
    );
    let mut buf = [0u8; 8];
    assert_eq!(
        rx.recv(&mut buf, Duration::from_millis(50)),
        Err(RecvTimeoutError::Timeout),
        "the child's sender is alive"
    );
    parent.write_all(&[1]).unwrap();
    assert_eq!(kid.join(), 0);
    assert_eq!(rx.recv(&mut buf, WAIT), Err(RecvTimeoutError::Disconnected));
}
