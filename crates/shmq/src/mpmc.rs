//! Named multi-producer multi-consumer queues between processes that may crash.
//!
//! A [`Queue`] is a handle to a region in `/dev/shm` (same naming,
//! permission and lifetime rules as [`crate::spsc`]: created `0600`
//! exclusively, checked with `fstat` on open, the creator's name removed when
//! its handle and endpoints are gone unless persisted). Any number of
//! processes attach [`Sender`]s and [`Receiver`]s, up to the endpoint limit
//! fixed at creation. Each message is delivered to exactly one receiver
//! (competing consumers); messages of one sender are received in the order
//! sent (by any one receiver; across receivers there is no global order).
//! A send to a full queue fails or waits, never overwrites.
//!
//! # Crashes
//! Each endpoint holds an entry of the region's endpoint table through an
//! open-file-description lock (`F_OFD_SETLK`) on the entry's first byte, and
//! records there which positions it is about to claim. A process killed at
//! any instruction cannot wedge the survivors: a receiver that meets a
//! position claimed by a dead sender skips it, a sender that meets a slot
//! claimed by a dead receiver frees it, each only after the kernel lock
//! shows every possible owner dead (`F_OFD_GETLK`), never on a timeout. A
//! live but slow owner is waited for (within the caller's timeout).
//!
//! What a crash can lose (see `docs/guarantees.md`): a sender killed inside
//! a send loses that one message (or batch), which was never committed
//! ([`Stats::skipped`] counts the positions); a receiver killed inside a
//! receive after claiming loses the message(s) it claimed and had not
//! returned ([`Stats::lost`]): unlike SPSC, MPMC never redelivers.
//!
//! # `fork()`
//! Each endpoint locks its entry through an open file description of its own
//! (the region file opened again, checked to be the same file); liveness is
//! asked through the handle's description, which holds no lock. So a
//! [`Queue`] handle may be shared with a forked child: endpoints attached in
//! parent and child take distinct entries and see each other alive or dead
//! exactly as unrelated processes do (a stopped child's claim is waited for,
//! never repaired). An *endpoint* inherited across `fork` is a copy holding
//! the same lock: only one process may use it (the other must not, and should
//! not drop it either: `_exit` or exec), and its entry counts as alive until
//! every copy of its description is closed.
//!
//! # Disconnection
//! A [`Receiver`] that finds the queue empty reports
//! [`TryRecvError::Disconnected`](crate::TryRecvError::Disconnected) once some sender has ever attached, none is
//! attached and alive now, and a second look finds the queue still empty.
//! The liveness check is a system call per sender entry, so `try_*` makes it
//! on every 64th empty poll (at least once in 64 consecutive ones) and `recv` about once per
//! millisecond. A [`Sender`] applies the same rule to receivers, reporting
//! `Disconnected` instead of `Full`.
//! The check is a snapshot: a sender that has taken its entry's lock but not
//! yet stored its role in the table is not seen, so `Disconnected` can be
//! reported just before a newly attaching sender's first message arrives.
//!
//! # Blocking
//! `send`/`recv` (and the `_blocking` variants) wait as [`WaitMode`](crate::WaitMode) says:
//! spin, yield, then park on the region's wait line (shared futexes, one per
//! direction, shared by all endpoints). A publication wakes every parked
//! endpoint of the other direction; an endpoint that detaches wakes them
//! after releasing its entry, so the last sender's drop ends parked
//! receivers' waits at once; a peer that dies is noticed within
//! [`PARK_SLICE`](crate::PARK_SLICE). Nobody parked: a publication costs a compiler fence and
//! one load (see `shmq_core::wait`).

use crate::error::Error;
use crate::kind::{self, private::Sealed, Kind};
use crate::region::{Lock, Mapping};
use shmq_core::layout::{Geometry, LayoutError, QueueKind};
#[cfg(feature = "__crash-points")]
use shmq_core::mpmc::Step;
use shmq_core::mpmc::{AttachError, Consumer, Peers, Producer};
use shmq_core::region::Region;
use shmq_core::unstable::{any_live, role};
use shmq_core::wait::Lines;
use std::sync::Arc;

pub use shmq_core::mpmc::Stats;

/// The multi-producer multi-consumer kind (a marker type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mpmc;

crate::kind::kind_aliases!(
    Mpmc,
    "mpmc",
    "MPMC",
    "one of many",
    "one of many, competing"
);

/// Geometry of a new MPMC queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of slots: a power of two in `2..=2^22`.
    pub capacity: u32,
    /// Largest message in bytes, up to `2^24`.
    pub slot_size: u32,
    /// Most endpoints (senders plus receivers) attached at once, `1..=1024`.
    pub max_endpoints: u32,
}

impl Default for Config {
    /// 1024 slots of 64 bytes, 16 endpoints.
    fn default() -> Self {
        Config {
            capacity: 1024,
            slot_size: 64,
            max_endpoints: 16,
        }
    }
}

impl Builder {
    /// Sets the most endpoints attached at once (`1..=1024`, default 16).
    ///
    /// ```
    /// # let name = format!("shmq-doc-maxep-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::builder(&name).max_endpoints(2).create()?;
    /// let (_a, _b) = (q.sender()?, q.receiver()?);
    /// assert!(matches!(q.sender(), Err(shmq::Error::TableFull { max: 2 })));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn max_endpoints(self, max_endpoints: u32) -> Self {
        let config = Config {
            max_endpoints,
            ..self.config_ref()
        };
        self.config(config)
    }
}

impl Queue {
    /// Most endpoints attached at once.
    ///
    /// ```
    /// # let name = format!("shmq-doc-qmaxep-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// assert_eq!(q.max_endpoints(), 16);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn max_endpoints(&self) -> usize {
        self.mapping().geometry().endpoints() as usize
    }
}

impl Sender {
    /// The endpoint-table entry this sender holds.
    ///
    /// ```
    /// # let name = format!("shmq-doc-sentry-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// assert_eq!(q.sender()?.entry(), 0);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn entry(&self) -> usize {
        self.core().entry()
    }
}

impl Receiver {
    /// The endpoint-table entry this receiver holds.
    ///
    /// ```
    /// # let name = format!("shmq-doc-rentry-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let tx = q.sender()?;
    /// assert_eq!(q.receiver()?.entry(), 1);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn entry(&self) -> usize {
        self.core().entry()
    }
}

crate::kind::config_fields!(Config, capacity, slot_size);

impl Kind for Mpmc {
    type Config = Config;
    type Stats = Stats;
}

/// The liveness oracle given to the core: an entry is dead when no open file
/// description holds its lock. The check goes through the mapping's own
/// description, which never holds a lock (endpoints lock through
/// descriptions of their own), so it sees every endpoint's lock, in any
/// process, after `fork()` too.
#[derive(Debug)]
pub struct Liveness {
    mapping: Arc<Mapping>,
    #[cfg(feature = "__crash-points")]
    crash: Option<(Step, u64)>,
    #[cfg(feature = "__crash-points")]
    done: std::sync::atomic::AtomicU64,
}

impl Liveness {
    fn new(mapping: Arc<Mapping>) -> Self {
        Liveness {
            mapping,
            #[cfg(feature = "__crash-points")]
            crash: crash_plan(),
            #[cfg(feature = "__crash-points")]
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn entry_byte(&self, e: usize) -> usize {
        self.mapping.geometry().entry_offset(e)
    }
}

#[cfg(feature = "__crash-points")]
fn crash_plan() -> Option<(Step, u64)> {
    let step = match std::env::var("SHMQ_CRASH").ok()?.as_str() {
        "recorded" => Step::Recorded,
        "claimed" => Step::Claimed,
        "written" => Step::Written,
        "published" => Step::Published,
        _ => return None,
    };
    let after = std::env::var("SHMQ_CRASH_AFTER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some((step, after))
}

// SAFETY: an entry is reported dead only when no open file description
// holds its OFD lock (the check goes through the mapping's description,
// which never holds one, so endpoints of this process count too), and the
// kernel releases a lock only when its holder unlocked it, closed its
// description or exited; an error counts as alive.
unsafe impl Peers for Liveness {
    fn is_dead(&self, entry: usize) -> bool {
        if entry >= self.mapping.geometry().endpoints() as usize {
            return false;
        }
        // An error of the check counts as alive: never a wrong repair.
        !self
            .mapping
            .byte_locked(self.entry_byte(entry))
            .unwrap_or(true)
    }

    /// Waiting for a live endpoint's in-flight position: give the
    /// processor away (it may be descheduled on this very CPU).
    fn snooze(&self) {
        std::thread::yield_now();
    }

    #[cfg(feature = "__crash-points")]
    fn halt(&self, step: Step) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some((at, after)) = self.crash {
            if at == step && self.done.load(Relaxed) == after {
                std::process::abort();
            }
        }
        if step == Step::Published {
            self.done.fetch_add(1, Relaxed);
        }
        false
    }
}

/// An endpoint-table entry held by this endpoint (its lock, on a description
/// of its own); released on drop.
#[derive(Debug)]
pub struct EntryGuard {
    /// Keeps the mapping alive until the guard drops.
    _mapping: Arc<Mapping>,
    lock: Lock,
}

/// Takes a free table entry (its lock first) and runs `attach` on it.
fn take_entry<T>(
    mapping: &Arc<Mapping>,
    attach: impl Fn(usize, Liveness) -> Result<T, AttachError>,
) -> Result<(T, EntryGuard), Error> {
    let n = mapping.geometry().endpoints() as usize;
    let byte = |e| mapping.geometry().entry_offset(e);
    let mut attached = None;
    // Entries in order, on one new description; the kernel refuses an entry
    // another endpoint (of any process, this one included) holds.
    let lock = Lock::take_first(mapping, (0..n).map(byte), |e, _| {
        match attach(e, Liveness::new(Arc::clone(mapping))) {
            Ok(t) => {
                attached = Some(t);
                true
            }
            // Unresolved evidence of a dead endpoint: leave it, try the next.
            Err(_) => false,
        }
    })?;
    match (lock, attached) {
        (Some(lock), Some(t)) => Ok((
            t,
            EntryGuard {
                _mapping: Arc::clone(mapping),
                lock,
            },
        )),
        _ => Err(Error::TableFull { max: n as u32 }),
    }
}

#[allow(private_interfaces)]
impl Sealed for Mpmc {
    type Producer = Producer<Liveness>;
    type Consumer = Consumer<Liveness>;
    type Guard = EntryGuard;
    const KIND: QueueKind = QueueKind::Mpmc;
    const SENDER_LINES: Lines = Lines::MPMC_SENDER;
    const RECEIVER_LINES: Lines = Lines::MPMC_RECEIVER;

    fn geometry(c: &Config) -> Result<Geometry, LayoutError> {
        Geometry::new_mpmc(c.capacity, c.slot_size, c.max_endpoints)
    }
    fn stats(region: &Region) -> Stats {
        Stats::read(region)
    }
    fn len(region: &Region) -> usize {
        let s = Stats::read(region);
        kind::queued(s.claimed, s.taken, region.geometry().capacity())
    }

    fn attach_sender(mapping: &Arc<Mapping>) -> Result<(Self::Producer, EntryGuard), Error> {
        let region = mapping.region();
        take_entry(mapping, |e, l| Producer::attach(region.clone(), e, l))
    }

    fn attach_receiver(mapping: &Arc<Mapping>) -> Result<(Self::Consumer, EntryGuard), Error> {
        let region = mapping.region();
        take_entry(mapping, |e, l| Consumer::attach(region.clone(), e, l))
    }

    fn release(guard: &mut EntryGuard) {
        guard.lock.release();
    }

    fn alive(mapping: &Arc<Mapping>, sender: bool) -> bool {
        let which = if sender {
            role::PRODUCER
        } else {
            role::CONSUMER
        };
        any_live(
            &mapping.region(),
            which,
            &Liveness::new(Arc::clone(mapping)),
        )
    }

    /// Every receiver is gone (a lock check per entry, only when `due`).
    fn receivers_gone(core: &Self::Producer, _guard: &EntryGuard, due: bool) -> bool {
        due && core.consumer_ever() && !core.consumer_alive()
    }

    /// Every sender is gone (a lock check per entry, only when `due`). What
    /// they committed is visible to the retry: the Acquire load of each
    /// entry's role pairs with its Release store on detach; a kernel lock
    /// release orders like one. Repairs of dead senders' claims happen
    /// inside the operation.
    fn senders_gone(core: &Self::Consumer, _guard: &EntryGuard, due: bool) -> bool {
        due && core.producer_ever() && !core.producer_alive()
    }
}
