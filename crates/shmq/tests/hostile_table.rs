//! Issue #9 case 1: a forged MPMC endpoint table must not make one receive
//! call slow. Entries 1..1023 claim to be producers whose claim records
//! cover `[head, head + 255)`, and `tail` says a whole ring is claimed, so
//! every position looks claimed by a dead producer: each is repairable only
//! after a liveness check (`F_OFD_GETLK`) of all 1023 entries. A forger keeps
//! the records and `tail` just ahead of `head` while the victim repairs.
//!
//! The core spends at most a fixed budget of checks per call and resumes its
//! scan on the next one, so `try_recv` and `recv(1 ms)` return quickly. The
//! watchdog (200 ms) is a liveness bound against a hang, not a speed claim:
//! before the budget, one call took about a second.
//!
//! The forger writes through the file (`pwrite`), not through a mapping, as
//! another process of the same user can.

mod common;

use common::{cleanup, serial, shm_path, unique_name};
use shmq::mpmc::{Config, Queue, Receiver};
use shmq::{RecvTimeoutError, TryRecvError};
use shmq_core::layout::{offset, Geometry, ENTRY_SIZE};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const CAPACITY: u32 = 256;
const ENDPOINTS: u32 = 1024;
/// Generous: a bound against a hang, not a speed claim.
const WATCHDOG: Duration = Duration::from_millis(200);
/// Role word of a producer entry (`shmq_core::mpmc::role::PRODUCER`).
const PRODUCER: u32 = 1;

fn geometry() -> Geometry {
    Geometry::new_mpmc(CAPACITY, 8, ENDPOINTS).unwrap()
}

/// Reads the index cell at `off`.
fn read_index(f: &File, off: usize) -> u64 {
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, off as u64).unwrap();
    u64::from_le_bytes(b)
}

/// Forges, relative to the current `head`: entries 1.. are producers
/// recording claims of `[head, head + 255)`, and `tail = head + capacity`.
/// The victim's own entry (0) is left alone.
fn forge(f: &File, g: &Geometry) {
    let head = read_index(f, offset::HEAD);
    let mut table = vec![0u8; ENTRY_SIZE * (ENDPOINTS as usize - 1)];
    for e in table.chunks_exact_mut(ENTRY_SIZE) {
        e[0..4].copy_from_slice(&PRODUCER.to_le_bytes());
        e[8..16].copy_from_slice(&((head << 8) | 255).to_le_bytes());
    }
    f.write_all_at(&table, g.entry_offset(1) as u64).unwrap();
    let tail = head + u64::from(CAPACITY);
    f.write_all_at(&tail.to_le_bytes(), offset::TAIL as u64)
        .unwrap();
}

/// Runs `call` on the receiver in another thread and gives the receiver
/// back with the result, failing if it does not return within [`WATCHDOG`].
fn within_watchdog<R: Send + 'static>(
    what: &str,
    rx: Receiver,
    call: impl FnOnce(&mut Receiver) -> R + Send + 'static,
) -> (Receiver, R) {
    let (tx, done) = mpsc::channel();
    thread::spawn(move || {
        let mut rx = rx;
        let r = call(&mut rx);
        let _ = tx.send((rx, r));
    });
    match done.recv_timeout(WATCHDOG) {
        Ok(out) => out,
        Err(_) => panic!("{what} did not return within {WATCHDOG:?} over a forged table"),
    }
}

/// Sets the flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);
impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        // Relaxed: a stop flag only.
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn forged_table_cannot_stall_a_receive() {
    let _serial = serial();
    let name = unique_name("table");
    let queue = Queue::create(
        &name,
        Config {
            capacity: CAPACITY,
            slot_size: 8,
            max_endpoints: ENDPOINTS,
        },
    )
    .unwrap();
    // Attached before the table is forged: it holds entry 0.
    let mut rx = queue.receiver().unwrap();
    let g = geometry();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(shm_path(&name))
        .unwrap();

    // Static forgery: one call.
    forge(&file, &g);
    let r;
    (rx, r) = within_watchdog("try_recv", rx, |rx| rx.try_recv(&mut [0u8; 8]));
    assert_eq!(r, Err(TryRecvError::Empty));

    // The forger keeps the records and `tail` just ahead of `head`.
    let stop = AtomicBool::new(false);
    let rx = thread::scope(|s| {
        let mut rx = rx;
        let (file, g, stop) = (&file, &g, &stop);
        s.spawn(move || {
            // Relaxed: a stop flag only.
            while !stop.load(Ordering::Relaxed) {
                forge(file, g);
            }
        });
        // Stops the forger however this block ends (a failed assertion too).
        let _stop = StopOnDrop(stop);
        for timeout in [Duration::ZERO, Duration::from_millis(1)] {
            for _ in 0..3 {
                let r;
                (rx, r) = within_watchdog("recv", rx, move |rx| rx.recv(&mut [0u8; 8], timeout));
                // Nothing was ever sent and no sender ever attached: the
                // skipped positions deliver nothing.
                assert_eq!(r, Err(RecvTimeoutError::Timeout), "recv({timeout:?})");
                let r;
                (rx, r) = within_watchdog("try_recv", rx, |rx| rx.try_recv(&mut [0u8; 8]));
                assert_eq!(r, Err(TryRecvError::Empty));
            }
        }
        rx
    });
    drop(rx);
    drop(queue);
    cleanup(&name);
}
