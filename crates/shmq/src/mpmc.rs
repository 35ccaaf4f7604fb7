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
//! [`TryRecvError::Disconnected`] once some sender has ever attached, none is
//! attached and alive now, and a second look finds the queue still empty.
//! The liveness check is a system call per sender entry, so `try_*` makes it
//! on every 64th consecutive empty poll and `recv` about once per
//! millisecond. A [`Sender`] applies the same rule to receivers, reporting
//! `Disconnected` instead of `Full`.
//! The check is a snapshot: a sender that has taken its entry's lock but not
//! yet stored its role in the table is not seen, so `Disconnected` can be
//! reported just before a newly attaching sender's first message arrives.
//!
//! # Blocking
//! `send`/`recv` (and the `_blocking` variants) wait as [`WaitMode`] says:
//! spin, yield, then park on the region's wait line (shared futexes, one per
//! direction, shared by all endpoints). A publication wakes every parked
//! endpoint of the other direction; an endpoint that detaches wakes them
//! after releasing its entry, so the last sender's drop ends parked
//! receivers' waits at once; a peer that dies is noticed within
//! [`PARK_SLICE`](crate::PARK_SLICE). Nobody parked: a publication costs a compiler fence and
//! one load (see `shmq_core::wait`).

use crate::error::{Error, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::region::{Lock, Mapping};
use crate::wait::{Futex, WaitMode};
use crate::waiter::{self, Check, Endpoint};
use bytemuck::{NoUninit, Pod};
use shmq_core::layout::{Geometry, QueueKind};
pub use shmq_core::mpmc::Stats;
#[cfg(feature = "crash-points")]
use shmq_core::mpmc::Step;
use shmq_core::mpmc::{AttachError, Consumer, Peers, PopError, Producer, PushError};
use shmq_core::region::Region;
use shmq_core::wait::Line;
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::Duration;

/// Default bound for [`Queue::open`] to wait for a creator to finish.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Geometry of a new MPMC queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of slots: a power of two in `2..=2^24`.
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

/// Options for creating or opening a [`Queue`].
#[derive(Clone, Debug)]
pub struct Builder {
    name: String,
    config: Config,
    persist: bool,
    ready_timeout: Duration,
}

impl Builder {
    /// Options for the queue called `name`, with [`Config::default`].
    pub fn new(name: &str) -> Self {
        Builder {
            name: name.to_owned(),
            config: Config::default(),
            persist: false,
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }
    /// Sets the whole geometry.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// Whether the created region outlives its creator's handles (as for SPSC).
    pub fn persist(mut self, persist: bool) -> Self {
        self.persist = persist;
        self
    }
    /// How long [`Builder::open`] waits for a creator to finish initialising.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Creates the queue: `/dev/shm/<name>`, exclusively, mode 0600.
    ///
    /// # Errors
    /// As [`crate::spsc::Builder::create`]; [`Error::Layout`] also for an
    /// endpoint limit outside `1..=1024`.
    pub fn create(self) -> Result<Queue, Error> {
        let c = self.config;
        let geometry = Geometry::new_mpmc(c.capacity, c.slot_size, c.max_endpoints)?;
        Ok(Queue::new(Mapping::create(
            &self.name,
            geometry,
            self.persist,
        )?))
    }

    /// Opens the existing MPMC queue and validates its header.
    ///
    /// # Errors
    /// As [`crate::spsc::Builder::open`] (an SPSC region is `Layout(Kind)`).
    pub fn open(self) -> Result<Queue, Error> {
        let mapping = Mapping::open_kind(&self.name, self.ready_timeout, QueueKind::Mpmc)?;
        Ok(Queue::new(mapping))
    }
}

/// The mapping, shared by the handle and its endpoints. Each endpoint locks
/// its entry through an open file description of its own ([`Lock`]); none is
/// ever taken on the handle's description, so a liveness check through it
/// sees every endpoint's lock, in any process (after `fork()` too).
#[derive(Debug)]
struct Shared {
    mapping: Arc<Mapping>,
}

impl Shared {
    fn entry_byte(&self, e: usize) -> usize {
        self.mapping.geometry().entry_offset(e)
    }
}

/// A handle to a named MPMC queue; endpoints are attached from it.
#[derive(Debug, Clone)]
pub struct Queue {
    shared: Arc<Shared>,
}

/// The liveness oracle given to the core: an entry is dead when no open file
/// description holds its lock.
#[derive(Debug)]
pub struct Liveness {
    shared: Arc<Shared>,
    #[cfg(feature = "crash-points")]
    crash: Option<(Step, u64)>,
    #[cfg(feature = "crash-points")]
    done: std::cell::Cell<u64>,
}

impl Liveness {
    fn new(shared: Arc<Shared>) -> Self {
        Liveness {
            shared,
            #[cfg(feature = "crash-points")]
            crash: crash_plan(),
            #[cfg(feature = "crash-points")]
            done: std::cell::Cell::new(0),
        }
    }
}

#[cfg(feature = "crash-points")]
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
// holds its OFD lock (the check goes through the handle's description, which
// never holds one, so endpoints of this process count too), and the kernel
// releases a lock only when its holder unlocked it, closed its description
// or exited; an error counts as alive.
unsafe impl Peers for Liveness {
    fn is_dead(&self, entry: usize) -> bool {
        if entry >= self.shared.mapping.geometry().endpoints() as usize {
            return false;
        }
        // An error of the check counts as alive: never a wrong repair.
        !self
            .shared
            .mapping
            .byte_locked(self.shared.entry_byte(entry))
            .unwrap_or(true)
    }

    #[cfg(feature = "crash-points")]
    fn halt(&self, step: Step) -> bool {
        if let Some((at, after)) = self.crash {
            if at == step && self.done.get() == after {
                std::process::abort();
            }
        }
        if step == Step::Published {
            self.done.set(self.done.get() + 1);
        }
        false
    }
}

/// An endpoint-table entry held by this endpoint (its lock, on a description
/// of its own); released on drop.
#[derive(Debug)]
struct EntryGuard {
    /// Keeps the mapping alive until the guard drops.
    _shared: Arc<Shared>,
    lock: Lock,
}

impl EntryGuard {
    /// Releases the entry's lock now (idempotent; dropping the lock does it
    /// too). The mapping stays alive until the guard drops, so an endpoint
    /// can unlock first and then wake sleeping peers, which then find it gone.
    fn release(&mut self) {
        self.lock.release();
    }
}

impl Queue {
    pub(crate) fn new(mapping: Arc<Mapping>) -> Self {
        Queue {
            shared: Arc::new(Shared { mapping }),
        }
    }

    pub(crate) fn mapping(&self) -> &Arc<Mapping> {
        &self.shared.mapping
    }

    /// Creates the queue `name` with `config` (see [`Builder::create`]).
    ///
    /// # Errors
    /// As [`Builder::create`].
    pub fn create(name: &str, config: Config) -> Result<Self, Error> {
        Builder::new(name).config(config).create()
    }

    /// Opens the existing queue `name` (see [`Builder::open`]).
    ///
    /// # Errors
    /// As [`Builder::open`].
    pub fn open(name: &str) -> Result<Self, Error> {
        Builder::new(name).open()
    }

    /// Options for creating or opening the queue `name`.
    pub fn builder(name: &str) -> Builder {
        Builder::new(name)
    }

    /// Takes a free table entry (its lock first) and runs `attach` on it.
    fn take_entry<T>(
        &self,
        attach: impl Fn(usize, Liveness) -> Result<T, AttachError>,
    ) -> Result<(T, EntryGuard), Error> {
        let s = &self.shared;
        let n = s.mapping.geometry().endpoints() as usize;
        let mut attached = None;
        // Entries in order, on one new description; the kernel refuses an
        // entry another endpoint (of any process, this one included) holds.
        let lock = Lock::take_first(&s.mapping, (0..n).map(|e| s.entry_byte(e)), |e, _| {
            match attach(e, Liveness::new(Arc::clone(s))) {
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
                    _shared: Arc::clone(s),
                    lock,
                },
            )),
            _ => Err(Error::TableFull { max: n as u32 }),
        }
    }

    /// Attaches a sender.
    ///
    /// # Errors
    /// [`Error::TableFull`] if every entry is taken; [`Error::Io`].
    pub fn sender(&self) -> Result<Sender, Error> {
        let region = self.shared.mapping.region();
        let (producer, guard) = self.take_entry(|e, l| Producer::attach(region.clone(), e, l))?;
        Ok(Sender {
            producer: ManuallyDrop::new(producer),
            guard,
            full_polls: 0,
            park: Futex::new(),
            mode: WaitMode::default(),
        })
    }

    /// Attaches a receiver.
    ///
    /// # Errors
    /// As [`Queue::sender`].
    pub fn receiver(&self) -> Result<Receiver, Error> {
        let region = self.shared.mapping.region();
        let (consumer, guard) = self.take_entry(|e, l| Consumer::attach(region.clone(), e, l))?;
        Ok(Receiver {
            consumer: ManuallyDrop::new(consumer),
            guard,
            empty_polls: 0,
            park: Futex::new(),
            mode: WaitMode::default(),
        })
    }

    /// A snapshot of the queue's counters (informative: peers write them).
    pub fn stats(&self) -> Stats {
        Stats::read(&self.shared.mapping.region())
    }
    /// The queue's name.
    pub fn name(&self) -> &str {
        self.shared.mapping.name()
    }
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.shared.mapping.geometry().capacity() as usize
    }
    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.shared.mapping.geometry().slot_size() as usize
    }
    /// Most endpoints attached at once.
    pub fn max_endpoints(&self) -> usize {
        self.shared.mapping.geometry().endpoints() as usize
    }
}

/// A producer end of a [`Queue`] (one of many).
#[derive(Debug)]
pub struct Sender {
    // Dropped by hand in `Drop`: detach, unlock, then wake.
    producer: ManuallyDrop<Producer<Liveness>>,
    guard: EntryGuard,
    full_polls: u32,
    park: Futex,
    mode: WaitMode,
}

impl Drop for Sender {
    fn drop(&mut self) {
        let region = self.producer.region().clone();
        // SAFETY: `producer` is dropped exactly once, here, and not used after.
        unsafe { ManuallyDrop::drop(&mut self.producer) };
        // Detached and unlocked: receivers parked for data, woken now, find
        // this sender gone (and, if it was the last, report `Disconnected`).
        // The mapping lives until `guard` drops.
        self.guard.release();
        Line::MPMC_DATA.wake_on_close(&region, &self.park);
    }
}

impl Sender {
    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.producer.slot_size()
    }
    /// The endpoint-table entry this sender holds.
    pub fn entry(&self) -> usize {
        self.producer.entry()
    }
    /// The violation that poisoned this sender, if any.
    pub fn poisoned(&self) -> Option<shmq_core::spsc::Violation> {
        self.producer.poisoned()
    }
    /// How [`Sender::send`] waits for room (default [`WaitMode::default`]).
    pub fn wait_mode(&self) -> WaitMode {
        self.mode
    }
    /// Sets how [`Sender::send`] waits for room.
    pub fn set_wait_mode(&mut self, mode: WaitMode) {
        self.mode = mode;
    }
    /// Enqueues `msg`, waiting as long as it takes: until a slot is free or
    /// every receiver is gone. Same as [`Sender::send`] with `Duration::MAX`.
    ///
    /// # Errors
    /// As [`Sender::send`], never `Timeout`.
    pub fn send_blocking(&mut self, msg: &[u8]) -> Result<(), SendTimeoutError> {
        waiter::wait(self, Duration::MAX, |p| p.try_push(msg))
    }
    /// Enqueues the bytes of `value`, waiting as long as it takes.
    ///
    /// # Errors
    /// As [`Sender::send_blocking`].
    pub fn send_value_blocking<T: NoUninit>(&mut self, value: &T) -> Result<(), SendTimeoutError> {
        waiter::wait(self, Duration::MAX, |p| p.try_push_value(value))
    }

    /// Enqueues `msg` if a slot is free.
    ///
    /// # Errors
    /// [`TrySendError::Full`]; `Disconnected` if full and every receiver is
    /// gone; `TooLarge`; `Poisoned`. Nothing is enqueued in each case.
    #[inline]
    pub fn try_send(&mut self, msg: &[u8]) -> Result<(), TrySendError> {
        waiter::attempt(self, Check::Polls, |p| p.try_push(msg))
    }
    /// Enqueues the bytes of `value` as one message.
    ///
    /// # Errors
    /// As [`Sender::try_send`].
    #[inline]
    pub fn try_send_value<T: NoUninit>(&mut self, value: &T) -> Result<(), TrySendError> {
        waiter::attempt(self, Check::Polls, |p| p.try_push_value(value))
    }
    /// Enqueues a prefix of `items` with one claim; returns how many.
    ///
    /// # Errors
    /// As [`Sender::try_send`] when none fits (`Ok(0)` for an empty slice).
    pub fn send_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, TrySendError> {
        waiter::attempt(self, Check::Polls, |p| p.push_slice(items))
    }
    /// Enqueues `msg`, waiting up to `timeout` (spinning, yielding, then
    /// parking, as [`WaitMode`] says; a `timeout` too large for the clock
    /// means no bound). A parked sender is woken by a receiver that frees a
    /// slot or detaches; a receiver that died is noticed within about
    /// [`PARK_SLICE`](crate::PARK_SLICE).
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`]; `Disconnected`; `TooLarge`; `Poisoned`.
    pub fn send(&mut self, msg: &[u8], timeout: Duration) -> Result<(), SendTimeoutError> {
        waiter::wait(self, timeout, |p| p.try_push(msg))
    }
    /// Enqueues the bytes of `value`, waiting up to `timeout`.
    ///
    /// # Errors
    /// As [`Sender::send`].
    pub fn send_value<T: NoUninit>(
        &mut self,
        value: &T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError> {
        waiter::wait(self, timeout, |p| p.try_push_value(value))
    }
}

impl Endpoint for Sender {
    type Core = Producer<Liveness>;
    type Error = PushError;
    const NOTIFY: Line = Line::MPMC_DATA;
    const PARK: Line = Line::MPMC_ROOM;
    const RESET_ON_RETRY: bool = false;
    const FAST_PATH: bool = false;
    const UNREGISTER_ON_RECHECK: bool = false;
    const WAKE_CHECKS: bool = true;

    fn core(&mut self) -> &mut Producer<Liveness> {
        &mut self.producer
    }
    fn region(&self) -> &Region {
        self.producer.region()
    }
    fn park(&self) -> &Futex {
        &self.park
    }
    fn polls(&mut self) -> &mut u32 {
        &mut self.full_polls
    }
    fn mode(&self) -> WaitMode {
        self.mode
    }
    /// Every receiver is gone (a lock check, only when `due`).
    fn peer_gone(&self, due: bool) -> bool {
        let p = &self.producer;
        due && p.consumer_ever() && !p.consumer_alive()
    }
}

/// A consumer end of a [`Queue`] (one of many, competing).
#[derive(Debug)]
pub struct Receiver {
    // Dropped by hand in `Drop`, as in `Sender`.
    consumer: ManuallyDrop<Consumer<Liveness>>,
    guard: EntryGuard,
    empty_polls: u32,
    park: Futex,
    mode: WaitMode,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let region = self.consumer.region().clone();
        // SAFETY: `consumer` is dropped exactly once, here, and not used after.
        unsafe { ManuallyDrop::drop(&mut self.consumer) };
        self.guard.release();
        Line::MPMC_ROOM.wake_on_close(&region, &self.park);
    }
}

impl Receiver {
    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.consumer.slot_size()
    }
    /// The endpoint-table entry this receiver holds.
    pub fn entry(&self) -> usize {
        self.consumer.entry()
    }
    /// The violation that poisoned this receiver, if any.
    pub fn poisoned(&self) -> Option<shmq_core::spsc::Violation> {
        self.consumer.poisoned()
    }
    /// How [`Receiver::recv`] waits for a message (default [`WaitMode::default`]).
    pub fn wait_mode(&self) -> WaitMode {
        self.mode
    }
    /// Sets how [`Receiver::recv`] waits for a message.
    pub fn set_wait_mode(&mut self, mode: WaitMode) {
        self.mode = mode;
    }
    /// Dequeues one message into `buf`, waiting as long as it takes: until
    /// one arrives or every sender is gone and the queue drained.
    ///
    /// # Errors
    /// As [`Receiver::recv`], never `Timeout`.
    pub fn recv_blocking(&mut self, buf: &mut [u8]) -> Result<usize, RecvTimeoutError> {
        waiter::wait(self, Duration::MAX, |c| c.try_pop(buf))
    }
    /// Dequeues one `T`, waiting as long as it takes.
    ///
    /// # Errors
    /// As [`Receiver::recv_blocking`].
    pub fn recv_value_blocking<T: Pod>(&mut self) -> Result<T, RecvTimeoutError> {
        waiter::wait(self, Duration::MAX, |c| c.try_pop_value::<T>())
    }

    /// Dequeues one message into `buf`, returning its length.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`]; `Disconnected` once drained with no sender
    /// left; `Size` (the message stays queued); `Poisoned`.
    #[inline]
    pub fn try_recv(&mut self, buf: &mut [u8]) -> Result<usize, TryRecvError> {
        waiter::attempt(self, Check::Polls, |c| c.try_pop(buf))
    }
    /// Dequeues one message of exactly `size_of::<T>()` bytes.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`].
    #[inline]
    pub fn try_recv_value<T: Pod>(&mut self) -> Result<T, TryRecvError> {
        waiter::attempt(self, Check::Polls, |c| c.try_pop_value::<T>())
    }
    /// Dequeues up to `out.len()` messages with one claim; returns how many.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`] when none is taken (`Ok(0)` for empty `out`).
    pub fn recv_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, TryRecvError> {
        waiter::attempt(self, Check::Polls, |c| c.pop_slice(out))
    }
    /// Dequeues one message, waiting up to `timeout` (spinning, yielding,
    /// then parking, as [`WaitMode`] says). A parked receiver is woken by a
    /// send or by a sender detaching; a sender that died is noticed within
    /// about [`PARK_SLICE`](crate::PARK_SLICE).
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`]; `Disconnected`; `Size`; `Poisoned`.
    pub fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, RecvTimeoutError> {
        waiter::wait(self, timeout, |c| c.try_pop(buf))
    }
    /// Dequeues one `T`, waiting up to `timeout`.
    ///
    /// # Errors
    /// As [`Receiver::recv`].
    pub fn recv_value<T: Pod>(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        waiter::wait(self, timeout, |c| c.try_pop_value::<T>())
    }
}

impl Endpoint for Receiver {
    type Core = Consumer<Liveness>;
    type Error = PopError;
    const NOTIFY: Line = Line::MPMC_ROOM;
    const PARK: Line = Line::MPMC_DATA;
    const RESET_ON_RETRY: bool = false;
    const FAST_PATH: bool = false;
    const UNREGISTER_ON_RECHECK: bool = false;
    const WAKE_CHECKS: bool = true;

    fn core(&mut self) -> &mut Consumer<Liveness> {
        &mut self.consumer
    }
    fn region(&self) -> &Region {
        self.consumer.region()
    }
    fn park(&self) -> &Futex {
        &self.park
    }
    fn polls(&mut self) -> &mut u32 {
        &mut self.empty_polls
    }
    fn mode(&self) -> WaitMode {
        self.mode
    }
    /// Every sender is gone (a lock check, only when `due`). What they
    /// committed is visible to the retry: the Acquire load of each entry's
    /// role pairs with its Release store on detach; a kernel lock release
    /// orders like one. Repairs of dead producers' claims happen inside `op`.
    fn peer_gone(&self, due: bool) -> bool {
        let c = &self.consumer;
        due && c.producer_ever() && !c.producer_alive()
    }
}
