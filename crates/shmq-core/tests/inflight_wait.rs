//! Issue #9 case 6, deterministically: a receive that finds the position at
//! `head` claimed by a *live* producer that has not published yet waits for
//! it (bounded: `SPIN_STEPS`), instead of reporting `Empty` while a later
//! message, whose push has returned, is queued behind it.
//!
//! The in-flight producer runs on its own thread and is held inside its
//! claim by the `Peers::halt` test hook; the consumer's `Peers::snooze` hook
//! (called only while it waits for a live owner) releases it and returns once
//! it has published. No timing is involved: the hooks order the steps.
#![cfg(not(loom))]

use shmq_core::layout::Geometry;
use shmq_core::mpmc::{Consumer, Peers, PopError, Producer, Step, SPIN_STEPS};
use shmq_core::testing::{HeapRegion, NoPeers};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Bound on every wait of this test (only there so that nothing hangs).
const CALL: Duration = Duration::from_secs(30);

#[derive(Default, Debug)]
struct Gate {
    /// The in-flight producer holds its claim.
    claimed: AtomicBool,
    /// It may write and publish now.
    go: AtomicBool,
    /// It has published.
    published: AtomicBool,
    /// The consumer's snooze calls.
    snoozes: AtomicU32,
    /// Whether a snooze releases the producer (else it stays in flight).
    release: bool,
}

/// Polls `flag` until set, bounded by [`CALL`].
fn wait_for(flag: &AtomicBool, what: &str) {
    let end = Instant::now() + CALL;
    // Acquire: pairs with the Release store that sets the flag.
    while !flag.load(Ordering::Acquire) {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::yield_now();
    }
}

/// The in-flight producer's view: everyone alive; it stops at `Claimed`
/// until released.
#[derive(Clone, Debug)]
struct Held(Arc<Gate>);
// SAFETY: never reports an endpoint dead (no repair ever happens).
unsafe impl Peers for Held {
    fn is_dead(&self, _: usize) -> bool {
        false
    }
    fn halt(&self, step: Step) -> bool {
        match step {
            Step::Claimed => {
                // Release: pairs with the main thread's Acquire poll.
                self.0.claimed.store(true, Ordering::Release);
                wait_for(&self.0.go, "the release of the in-flight producer");
            }
            // Release: pairs with the snooze hook's Acquire poll.
            Step::Published => self.0.published.store(true, Ordering::Release),
            _ => {}
        }
        false
    }
}

/// The consumer's view: everyone alive; each snooze counts, and releases
/// the in-flight producer and waits for its publication if asked to.
#[derive(Clone, Debug)]
struct Waiting(Arc<Gate>);
// SAFETY: never reports an endpoint dead (no repair ever happens).
unsafe impl Peers for Waiting {
    fn is_dead(&self, _: usize) -> bool {
        false
    }
    fn snooze(&self) {
        self.0.snoozes.fetch_add(1, Ordering::Relaxed);
        if self.0.release {
            // Release: pairs with the producer's Acquire poll of `go`.
            self.0.go.store(true, Ordering::Release);
            wait_for(&self.0.published, "the in-flight publication");
        }
    }
}

/// Producer A claims position 0 and is held there; producer B pushes
/// position 1 (its push returns); then the consumer's `try_pop`.
fn run(release: bool) -> (Result<usize, PopError>, [u8; 8], u32) {
    let gate = Arc::new(Gate {
        release,
        ..Gate::default()
    });
    let heap = HeapRegion::new(Geometry::new_mpmc(4, 8, 3).unwrap());
    let mut a = Producer::attach(heap.region(), 0, Held(gate.clone())).unwrap();
    let mut b = Producer::attach(heap.region(), 1, NoPeers).unwrap();
    let mut rx = Consumer::attach(heap.region(), 2, Waiting(gate.clone())).unwrap();
    let mut buf = [0u8; 8];
    let r = thread::scope(|s| {
        s.spawn(|| a.try_push(b"a").unwrap());
        wait_for(&gate.claimed, "producer A's claim");
        b.try_push(b"b").unwrap();
        let r = rx.try_pop(&mut buf);
        // Release: lets A finish however the receive went.
        gate.go.store(true, Ordering::Release);
        r
    });
    (r, buf, gate.snoozes.load(Ordering::Relaxed))
}

#[test]
fn receive_waits_for_a_live_in_flight_producer() {
    let (r, buf, snoozes) = run(true);
    assert_eq!(
        r,
        Ok(1),
        "try_pop reported no message although B's push had returned"
    );
    assert_eq!(&buf[..1], b"a");
    assert!(snoozes >= 1);
}

#[test]
fn the_wait_for_a_live_producer_is_bounded() {
    // A stays in flight: the receive gives up after its backoff steps.
    let (r, _, snoozes) = run(false);
    assert_eq!(r, Err(PopError::Empty));
    assert_eq!(snoozes, SPIN_STEPS - 7);
}
