//! Loom models of the lost-wakeup protocol of blocking waits
//! (`shmq_core::wait`), both directions, over the loom twin of the region
//! (SPSC and MPMC lines; one model over the dense ring).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p shmq-core --features __testing --release --test loom_wait
//! ```
//!
//! The models drive the waiting loop that ships, `shmq_core::wait::wait`
//! (the platform crate calls the same function with its futex), through a
//! small [`Endpoint`] over the heap region, in [`WaitMode::Park`] (so every
//! wait registers and sleeps at once) with no deadline and a clock that
//! never advances.
//!
//! The futex is modelled by [`ModelFutex`]: a loom mutex and condition
//! variable, with the compare of `wait` and the wake of `wake` both under the
//! mutex (as the kernel does them under its hash-bucket lock). A model sleep
//! has **no timeout**, so a lost wakeup leaves the sleeper blocked for ever
//! and loom reports a deadlock: "no lost wakeup" is "no deadlock" here.
//!
//! Both barriers are `fence(SeqCst)` in the model (the platform's light
//! barrier is a compiler fence paired with `membarrier` on the sleeper side,
//! which loom cannot express; `fence(SeqCst)` on both sides is the ordering
//! that the asymmetric pair provides). The `*_without_*` models remove one of
//! them and must fail: they show that the model detects the lost wakeup.
//!
//! Preemption bound 2, as in `loom_spsc.rs`.
#![cfg(loom)]

use loom::sync::atomic::{fence, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use shmq_core::layout::{Geometry, QueueKind};
use shmq_core::region::Region;
use shmq_core::spsc::{Consumer, PopError, Producer, PushError};
use shmq_core::testing::HeapRegion;
use shmq_core::unstable::Line;
use shmq_core::wait::{self, Endpoint, Failure, FutexWord, Lines, Park, Stall, WaitMode, Woken};
use std::marker::PhantomData;
use std::time::Duration;

const PREEMPTIONS: usize = 2;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(PREEMPTIONS);
    }
    b.check(f);
}

/// A futex stand-in: `wait` compares and sleeps under the mutex, `wake`
/// notifies under it. Barriers are `fence(SeqCst)` unless disabled.
struct ModelFutex {
    lock: Mutex<()>,
    cv: Condvar,
    light: bool,
    heavy: bool,
}

impl ModelFutex {
    fn new(light: bool, heavy: bool) -> Arc<Self> {
        Arc::new(ModelFutex {
            lock: Mutex::new(()),
            cv: Condvar::new(),
            light,
            heavy,
        })
    }
}

impl Park for ModelFutex {
    fn wait(&self, word: &FutexWord, expected: u32, _timeout: Duration) -> Woken {
        let guard = self.lock.lock().unwrap();
        if word.load(Ordering::Relaxed) != expected {
            return Woken::Changed;
        }
        // No timeout: a missed wake blocks for ever, which loom reports.
        drop(self.cv.wait(guard).unwrap());
        Woken::Woken
    }
    fn pause(&self, _timeout: Duration) {
        thread::yield_now();
    }
    fn wake(&self, _word: &FutexWord) {
        let _guard = self.lock.lock().unwrap();
        self.cv.notify_all();
    }
    fn light_barrier(&self) {
        if self.light {
            fence(Ordering::SeqCst);
        }
    }
    fn heavy_barrier(&self) {
        if self.heavy {
            fence(Ordering::SeqCst);
        }
    }
    fn asymmetric(&self) -> bool {
        true
    }
    fn now(&self) -> Duration {
        // A clock that never advances: no deadline expires, no liveness
        // interval elapses (a wake still makes the next check due).
        Duration::ZERO
    }
    fn yield_now(&self) {
        thread::yield_now();
    }
}

/// Which lines and error an endpoint of the model uses.
trait Side {
    const LINES: Lines;
    type Error: Stall;
}
struct Tx;
struct Rx;
struct MpmcRx;
impl Side for Tx {
    const LINES: Lines = Lines::SPSC_SENDER;
    type Error = PushError;
}
impl Side for Rx {
    const LINES: Lines = Lines::SPSC_RECEIVER;
    type Error = PopError;
}
impl Side for MpmcRx {
    const LINES: Lines = Lines::MPMC_RECEIVER;
    type Error = PopError;
}

/// An endpoint of the model: a core end (or any state an operation runs
/// on), the region, the model futex, and when its peer counts as gone.
struct End<C, S> {
    core: C,
    region: Region,
    park: Arc<ModelFutex>,
    polls: u32,
    gone: fn(&C) -> bool,
    side: PhantomData<S>,
}

impl<C, S> End<C, S> {
    fn new(core: C, region: &Region, park: &Arc<ModelFutex>) -> Self {
        End {
            core,
            region: region.clone(),
            park: Arc::clone(park),
            polls: 0,
            gone: |_| false,
            side: PhantomData,
        }
    }
}

impl<C, S: Side> Endpoint for End<C, S> {
    type Core = C;
    type Error = S::Error;
    type Park = ModelFutex;
    const LINES: Lines = S::LINES;
    fn core(&mut self) -> &mut C {
        &mut self.core
    }
    fn region(&self) -> &Region {
        &self.region
    }
    fn park(&self) -> &ModelFutex {
        &self.park
    }
    fn polls(&mut self) -> &mut u32 {
        &mut self.polls
    }
    fn mode(&self) -> WaitMode {
        WaitMode::Park
    }
    fn peer_gone(&self, _due: bool) -> bool {
        (self.gone)(&self.core)
    }
}

fn heap() -> HeapRegion {
    HeapRegion::new(Geometry::new(QueueKind::Spsc, 2, 4).unwrap())
}

/// The consumer's blocking receive: the shipped loop, no deadline.
fn recv_blocking(rx: &mut End<Consumer, Rx>) -> u8 {
    let mut buf = [0u8; 4];
    match wait::wait(rx, Duration::MAX, |c| c.try_pop(&mut buf)) {
        Ok(_) => buf[0],
        Err(e) => panic!("recv failed: {e:?}"),
    }
}

/// The producer's blocking send, as above.
fn send_blocking(tx: &mut End<Producer, Tx>, v: u8) {
    if let Err(e) = wait::wait(tx, Duration::MAX, |p| p.try_push(&[v])) {
        panic!("send failed: {e:?}");
    }
}

/// Consumer sleeps for data; the producer publishes one message.
fn data_model(light: bool, heavy: bool) {
    model(move || {
        let heap = heap();
        let region = heap.region();
        let park = ModelFutex::new(light, heavy);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let mut tx = End::<_, Tx>::new(tx, &region, &park);
        let mut rx = End::<_, Rx>::new(rx, &region, &park);
        let t = thread::spawn(move || send_blocking(&mut tx, 7));
        assert_eq!(recv_blocking(&mut rx), 7);
        t.join().unwrap();
    });
}

/// Producer sleeps for room in a full ring; the consumer frees one slot.
fn room_model(light: bool, heavy: bool) {
    model(move || {
        let heap = heap();
        let region = heap.region();
        let park = ModelFutex::new(light, heavy);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        tx.try_push(&[1]).unwrap();
        tx.try_push(&[2]).unwrap();
        let mut tx = End::<_, Tx>::new(tx, &region, &park);
        let mut rx = End::<_, Rx>::new(rx, &region, &park);
        let t = thread::spawn(move || send_blocking(&mut tx, 3));
        assert_eq!(recv_blocking(&mut rx), 1);
        t.join().unwrap();
    });
}

#[test]
fn consumer_sleeps_for_data() {
    data_model(true, true);
}

#[test]
fn producer_sleeps_for_room() {
    room_model(true, true);
}

/// The dense ring through the same loop: a consumer sleeping on an empty
/// ring of 8-byte records is woken by one push (the dense kind waits on the
/// SPSC lines, as the platform crate wires it).
#[test]
fn dense_consumer_sleeps_for_data() {
    use shmq_core::dense;
    model(|| {
        let heap = HeapRegion::new(Geometry::new_dense(2, 8).unwrap());
        let region = heap.region();
        let park = ModelFutex::new(true, true);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let tx = unsafe { dense::Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let rx = unsafe { dense::Consumer::attach(heap.region()) }.unwrap();
        let mut tx = End::<_, Tx>::new(tx, &region, &park);
        let mut rx = End::<_, Rx>::new(rx, &region, &park);
        let t = thread::spawn(move || {
            if let Err(e) = wait::wait(&mut tx, Duration::MAX, |p| p.try_push(&[7u8; 8])) {
                panic!("send failed: {e:?}");
            }
        });
        let mut buf = [0u8; 8];
        let got = wait::wait(&mut rx, Duration::MAX, |c| c.try_pop(&mut buf));
        assert_eq!(got, Ok(8));
        assert_eq!(buf, [7u8; 8]);
        t.join().unwrap();
    });
}

/// Both directions at once: three messages through a ring of two, either
/// side may sleep (and be woken) at any point.
#[test]
fn both_directions_stream() {
    model(|| {
        let heap = heap();
        let region = heap.region();
        let park = ModelFutex::new(true, true);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let mut tx = End::<_, Tx>::new(tx, &region, &park);
        let mut rx = End::<_, Rx>::new(rx, &region, &park);
        let t = thread::spawn(move || {
            for v in 1..=3 {
                send_blocking(&mut tx, v);
            }
        });
        for v in 1..=3 {
            assert_eq!(recv_blocking(&mut rx), v);
        }
        t.join().unwrap();
    });
}

/// A producer that closes wakes a consumer sleeping for data, which then
/// sees the closed state (the platform's disconnect path).
#[test]
fn close_wakes_sleeper() {
    model(|| {
        let heap = heap();
        let region = heap.region();
        let park = ModelFutex::new(true, true);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let tx = unsafe { Producer::attach(heap.region()) }.unwrap();
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
        let (r2, p2) = (region.clone(), Arc::clone(&park));
        let t = thread::spawn(move || {
            tx.close();
            Lines::SPSC_SENDER.closed(&r2, &*p2);
        });
        let mut rx = End::<_, Rx>::new(rx, &region, &park);
        // The platform's rule for a closed peer (its lock is free here).
        rx.gone = |c: &Consumer| c.producer_state() == shmq_core::layout::EndpointState::Closed;
        let got = wait::wait(&mut rx, Duration::MAX, |c| c.try_pop(&mut [0u8; 4]));
        assert_eq!(got, Err(Failure::Gone));
        t.join().unwrap();
    });
}

/// MPMC line: two consumers sleep for data on the shared registration word,
/// one publisher makes two items available one by one; each consumer must
/// get one (a lost wake leaves one blocked for ever: a deadlock).
#[test]
fn two_sleepers_share_the_line() {
    use loom::sync::atomic::AtomicU32;
    model(|| {
        let heap = heap();
        let region = heap.region();
        let park = ModelFutex::new(true, true);
        let items = Arc::new(AtomicU32::new(0));
        // Takes one item if any (a lost CAS race is retried: it means the
        // other consumer took one, not that none is left).
        let take = |items: &AtomicU32| {
            let mut n = items.load(Ordering::Acquire);
            while n > 0 {
                match items.compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return true,
                    Err(now) => n = now,
                }
            }
            false
        };
        let sleeper = {
            let (region, park, items) = (region.clone(), Arc::clone(&park), Arc::clone(&items));
            move || {
                let mut rx = End::<_, MpmcRx>::new(Arc::clone(&items), &region, &park);
                let got = wait::wait(&mut rx, Duration::MAX, |items| {
                    if take(items) {
                        Ok(())
                    } else {
                        Err(PopError::Empty)
                    }
                });
                assert_eq!(got, Ok(()));
            }
        };
        let a = thread::spawn(sleeper.clone());
        let b = thread::spawn(sleeper);
        for _ in 0..2 {
            // Release: pairs with the consumers' Acquire loads.
            items.fetch_add(1, Ordering::Release);
            Line::MPMC_DATA.notify(&region, &*park);
        }
        a.join().unwrap();
        b.join().unwrap();
    });
}

// The models below remove one barrier and must fail (loom reports the
// sleeper blocked for ever as a deadlock, and aborts the process while
// unwinding, so `#[should_panic]` cannot catch it). They are `#[ignore]`d
// and run by `removing_a_fence_is_caught` in a child process each.

/// Without the publisher's barrier the consumer can sleep through the message.
#[test]
#[ignore = "must fail; run by removing_a_fence_is_caught"]
fn broken_data_without_publisher_fence() {
    data_model(false, true);
}

/// Without the sleeper's barrier, likewise.
#[test]
#[ignore = "must fail; run by removing_a_fence_is_caught"]
fn broken_data_without_sleeper_fence() {
    data_model(true, false);
}

/// The room direction without the sleeper's (producer's) barrier.
#[test]
#[ignore = "must fail; run by removing_a_fence_is_caught"]
fn broken_room_without_sleeper_fence() {
    room_model(true, false);
}

/// The room direction without the publisher's (consumer's) barrier.
#[test]
#[ignore = "must fail; run by removing_a_fence_is_caught"]
fn broken_room_without_publisher_fence() {
    room_model(false, true);
}

/// Each broken model, run in a child process, must fail with a deadlock.
#[test]
fn removing_a_fence_is_caught() {
    let exe = std::env::current_exe().unwrap();
    for name in [
        "broken_data_without_publisher_fence",
        "broken_data_without_sleeper_fence",
        "broken_room_without_sleeper_fence",
        "broken_room_without_publisher_fence",
    ] {
        let out = std::process::Command::new(&exe)
            .args(["--exact", name, "--ignored", "--test-threads=1"])
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{name}: the model passed without the fence"
        );
        assert!(
            text.contains("deadlock"),
            "{name}: failed, but not with a deadlock:\n{text}"
        );
        println!("{name}: loom found the lost wakeup (deadlock)");
    }
}
