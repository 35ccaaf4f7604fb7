//! Named single-producer single-consumer queues between processes.
//!
//! A [`Queue`] is a handle to a region in `/dev/shm`; from it a process takes
//! the producer role ([`Queue::sender`]) or the consumer role
//! ([`Queue::receiver`]), each at most once at a time across all processes.
//! Messages are byte strings of `0..=slot_size` bytes (or plain-data values);
//! they are delivered exactly once and in order while both ends live. A send
//! to a full queue never overwrites anything: it fails (`try_send`) or waits
//! (`send`, bounded by its timeout).
//!
//! # Roles and crashes
//! Each role is an open-file-description lock (`F_OFD_SETLK`) on one byte of
//! the backing file (byte 128 for the producer, 256 for the consumer). The
//! kernel releases it when the holder exits, however it exits, so a role
//! whose holder died can be taken again, by any process; the new endpoint
//! resumes where the ring stands:
//! - a new producer continues after the last message its predecessor
//!   committed (the per-slot stamps decide, not the published tail), so
//!   nothing committed is lost or overwritten; a message the predecessor was
//!   writing when it died was never committed and is simply absent;
//! - a new consumer starts at the head its predecessor last released. A
//!   message that [`Receiver::try_recv`] returned to a consumer that then
//!   died before acting on it is **not** delivered again (the head is
//!   released inside `try_recv`, after the copy), and a consumer killed
//!   inside `try_recv` between the copy and the release hands that one
//!   message to its successor, which the dead consumer never returned to its
//!   caller ([`Receiver::recv_slice`]: up to the whole batch). Applications that need at-least-once delivery acknowledge
//!   messages themselves.
//!
//! A process that forks while holding an endpoint shares the lock with the
//! child (the lock belongs to the open file description, which `fork`
//! duplicates): the role is freed only when both have exited. Descriptors
//! are opened `O_CLOEXEC`, so `exec` does not leak them.
//!
//! # `fork()`
//! Every endpoint takes its role lock through an open file description of
//! its own (the region file opened again), never through the [`Queue`]
//! handle's. So a handle may be shared with a forked child: an endpoint taken
//! from it in the child and one in the parent exclude each other
//! ([`Error::RoleTaken`]) and see each other's liveness, as between
//! unrelated processes. An *endpoint* inherited across `fork` is a copy that
//! shares its lock: only one of the two processes may use it (the other
//! should forget it without dropping it, e.g. `_exit` or exec), and the role
//! stays held until both have closed their copy.
//!
//! # Disconnection
//! The state word each endpoint writes ([`EndpointState`]) says whether the
//! peer detached cleanly; the peer's role lock says whether it is still alive.
//! A [`Receiver`] that finds the queue empty decides as follows:
//! - producer state `Never` (no producer has attached yet): `Empty`;
//! - `Closed` (the last producer dropped its `Sender`): it tries once more
//!   (a message pushed just before closing becomes visible with the state)
//!   and reports `Disconnected` if still empty;
//! - `Attached` (or any invalid value): it asks the kernel whether the
//!   producer lock is held (`F_OFD_GETLK`, a system call, hence rate
//!   limited: [`Receiver::try_recv`] asks on every 64th consecutive empty
//!   poll, [`Receiver::recv`] about once per millisecond of waiting and once
//!   more when its timeout expires). If nobody holds it the producer died:
//!   one more try, then `Disconnected`. Otherwise `Empty`.
//!
//! A [`Sender`] that finds the queue full applies the same rule to the
//! consumer and reports `Disconnected` instead of `Full`. `Disconnected` is
//! not sticky: a new peer may take the role and traffic resumes.
//!
//! # Untrusted peers
//! Everything in the region may be written by a hostile peer at any time.
//! The worst it can do is make this queue's calls fail (`Poisoned`, spurious
//! `Disconnected`, `Empty`/`Full`, garbage payload bytes): no undefined
//! behaviour, no panic, no wait beyond the timeout given. One exception is
//! outside this crate's control: a peer with write access to the file can
//! **truncate** it, after which touching the mapping raises `SIGBUS` and
//! kills this process. Only processes of the same user can do that (the
//! file is created `0600` and checked on open); sealed memfds, which cannot
//! shrink, are the planned remedy.

use crate::error::{Error, RecvTimeoutError, Role, SendTimeoutError, TryRecvError, TrySendError};
use crate::os;
use crate::region::{Mapping, RoleGuard};
use crate::wait::{Futex, WaitMode};
use crate::waiter::{self, Check, Endpoint};
use bytemuck::{NoUninit, Pod};
use shmq_core::layout::{EndpointState, Geometry, QueueKind};
use shmq_core::region::Region;
use shmq_core::spsc::{Consumer, PopError, Producer, PushError, Stats, Violation};
use shmq_core::wait::Line;
use std::sync::Arc;
use std::time::Duration;

/// Default bound for [`Queue::open`] to wait for a creator to finish.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(1);

/// Geometry of a new queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of slots: a power of two in `2..=2^24`.
    pub capacity: u32,
    /// Largest message in bytes, up to `2^24`.
    pub slot_size: u32,
}

impl Default for Config {
    /// 1024 slots of 64 bytes.
    fn default() -> Self {
        Config {
            capacity: 1024,
            slot_size: 64,
        }
    }
}

/// Options for creating or opening a [`Queue`].
///
/// ```
/// # let name = format!("shmq-doc-builder-{}", std::process::id());
/// use std::time::Duration;
/// let q = shmq::spsc::Queue::builder(&name).capacity(256).slot_size(32).create()?;
/// let same = shmq::spsc::Queue::builder(&name)
///     .ready_timeout(Duration::from_millis(100))
///     .open()?;
/// assert_eq!(same.capacity(), 256);
/// # Ok::<(), shmq::Error>(())
/// ```
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

    /// Sets the number of slots (a power of two in `2..=2^24`).
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.config.capacity = capacity;
        self
    }

    /// Sets the largest message size in bytes.
    pub fn slot_size(mut self, slot_size: u32) -> Self {
        self.config.slot_size = slot_size;
        self
    }

    /// Whether the created region outlives its creator's handles. By default
    /// the name is removed when the creator's queue and all its endpoints are
    /// dropped (processes that opened it keep their mapping); with `true` it
    /// stays until [`remove`] (or a reboot).
    pub fn persist(mut self, persist: bool) -> Self {
        self.persist = persist;
        self
    }

    /// How long [`Builder::open`] waits for a creator that has created the
    /// file but not yet initialised it (default [`DEFAULT_READY_TIMEOUT`]).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Creates the queue: `/dev/shm/<name>`, exclusively, mode 0600.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::Layout`] for an invalid geometry;
    /// [`Error::Io`] (`AlreadyExists` if the name is taken).
    pub fn create(self) -> Result<Queue, Error> {
        os::validate_name(&self.name)?;
        let geometry = Geometry::new(QueueKind::Spsc, self.config.capacity, self.config.slot_size)?;
        let mapping = Mapping::create(&self.name, geometry, self.persist)?;
        Ok(Queue { mapping })
    }

    /// Opens the existing queue and validates its header.
    ///
    /// # Errors
    /// [`Error::InvalidName`]; [`Error::Io`] (`NotFound` if there is no such
    /// queue); [`Error::NotRegularFile`], [`Error::Permissions`];
    /// [`Error::NotReady`] if it is not initialised within the ready timeout;
    /// [`Error::Layout`] naming the first invalid header field.
    pub fn open(self) -> Result<Queue, Error> {
        let mapping = Mapping::open(&self.name, self.ready_timeout)?;
        Ok(Queue { mapping })
    }
}

/// A handle to a named SPSC queue; endpoints are taken from it.
///
/// The handle itself holds no role. Dropping it does not affect endpoints
/// taken from it; the creator's region name is removed when the handle and
/// all its endpoints are gone (unless [`Builder::persist`]).
#[derive(Debug)]
pub struct Queue {
    pub(crate) mapping: Arc<Mapping>,
}

impl Queue {
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

    /// Takes the producer role.
    ///
    /// # Errors
    /// [`Error::RoleTaken`] if a live sender exists (in any process, or
    /// through this handle); [`Error::Violation`] if the ring's state is
    /// impossible; [`Error::Io`].
    pub fn sender(&self) -> Result<Sender, Error> {
        let guard = self.mapping.take_role(Role::Producer)?;
        // SAFETY: the role guard taken just above is this process's only producer of the region (its role lock, taken on a description of its own, so the kernel excludes every other endpoint of any process, a forked child's included), so no other producer uses these bytes concurrently.
        let producer =
            unsafe { Producer::attach(guard.mapping().region()) }.map_err(Error::Violation)?;
        // A predecessor killed while parked left its registration: clear it,
        // or every publication of the consumer would take the slow wake path.
        Line::ROOM.unregister(producer.region());
        Ok(Sender {
            producer,
            guard,
            full_polls: 0,
            park: Futex::new(),
            mode: WaitMode::default(),
        })
    }

    /// Takes the consumer role.
    ///
    /// # Errors
    /// As [`Queue::sender`], for the consumer role.
    pub fn receiver(&self) -> Result<Receiver, Error> {
        let guard = self.mapping.take_role(Role::Consumer)?;
        // SAFETY: the role guard taken just above is this process's only consumer of the region (its role lock, taken on a description of its own, so the kernel excludes every other endpoint of any process, a forked child's included), so no other consumer uses these bytes concurrently.
        let consumer =
            unsafe { Consumer::attach(guard.mapping().region()) }.map_err(Error::Violation)?;
        // As in `Queue::sender`: clear a dead predecessor's registration.
        Line::DATA.unregister(consumer.region());
        Ok(Receiver {
            consumer,
            guard,
            empty_polls: 0,
            park: Futex::new(),
            mode: WaitMode::default(),
        })
    }

    /// A snapshot of the queue's counters (informative: peers write them).
    pub fn stats(&self) -> Stats {
        Stats::read(&self.mapping.region())
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        self.mapping.name()
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.mapping.geometry().capacity() as usize
    }

    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.mapping.geometry().slot_size() as usize
    }
}

/// Removes the queue `name` from `/dev/shm`. Processes that have it open keep
/// using their mapping; the name can be created anew.
///
/// # Errors
/// [`Error::InvalidName`]; [`Error::Io`] (`NotFound` if there is no such queue).
pub fn remove(name: &str) -> Result<(), Error> {
    os::validate_name(name)?;
    Ok(os::unlink(name)?)
}

/// Whether a peer whose state word reads `state` is gone. `due`: whether a
/// lock check is allowed now; `alive`: performs it.
///
/// The state word is a hint, the lock is the truth: `Closed` may be stale (a
/// new peer took the role, and its "attached" store or its first message is
/// not visible to us yet), so it is confirmed with the lock, without rate
/// limit (a clean close is rare and ends in `Disconnected` at once).
fn peer_gone(state: EndpointState, due: bool, alive: impl FnOnce() -> bool) -> bool {
    match state {
        EndpointState::Never => false,
        EndpointState::Closed => !alive(),
        EndpointState::Attached | EndpointState::Invalid(_) => due && !alive(),
    }
}

/// The producer end of a [`Queue`]. At most one exists per queue at a time.
#[derive(Debug)]
pub struct Sender {
    // Field order matters: `producer` drops first (writing "closed"), then
    // `guard` releases the role lock and, last, the mapping.
    producer: Producer,
    guard: RoleGuard,
    /// Consecutive `Full` results of `try_*` calls.
    full_polls: u32,
    park: Futex,
    mode: WaitMode,
}

impl Drop for Sender {
    fn drop(&mut self) {
        // Say "closed" and release the role lock first, then wake a consumer
        // parked for data: it re-checks, sees "closed", confirms it with the
        // lock (already free) and reports `Disconnected` at once. Waking it
        // before the unlock would let it find the lock still held, report
        // `Empty` and sleep a whole slice. The mapping stays alive until
        // `guard` drops. `producer`'s own drop stores "closed" again.
        self.producer.close();
        self.guard.release();
        Line::DATA.wake_on_close(self.producer.region(), &self.park);
    }
}

impl Sender {
    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.producer.slot_size()
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.producer.capacity()
    }

    /// The violation that poisoned this sender, if any.
    pub fn poisoned(&self) -> Option<Violation> {
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

    /// Enqueues `msg` if a slot is free.
    ///
    /// # Errors
    /// [`TrySendError::Full`]; [`TrySendError::Disconnected`] if full and the
    /// consumer is gone (see the module docs for when that is checked);
    /// [`TrySendError::TooLarge`]; [`TrySendError::Poisoned`]. Nothing is
    /// enqueued in each case.
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

    /// Enqueues as many of `items` as fit, one message each, published
    /// together; returns how many (a prefix of `items`).
    ///
    /// # Errors
    /// As [`Sender::try_send`] when not one item fits (`Ok(0)` for an empty
    /// slice); [`TrySendError::TooLarge`] if `T` is larger than a slot.
    pub fn send_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, TrySendError> {
        waiter::attempt(self, Check::Polls, |p| p.push_slice(items))
    }

    /// Enqueues `msg`, waiting up to `timeout` for a free slot
    /// (spinning, yielding, then parking, as [`WaitMode`] says). A `timeout`
    /// of zero tries once (and checks the peer's liveness once); one too
    /// large to add to the current instant (e.g. `Duration::MAX`) means no
    /// bound. The deadline is on the monotonic clock.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`]; [`SendTimeoutError::Disconnected`] as
    /// soon as the queue is full and the consumer is found gone (a clean close
    /// wakes a parked sender at once; a dead consumer is noticed within about
    /// a millisecond while polling and [`PARK_SLICE`](crate::PARK_SLICE)
    /// while parked, and at the timeout); `TooLarge`; `Poisoned`.
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

    /// Enqueues `msg`, waiting as long as it takes: until a slot is free or
    /// the consumer is gone. Same as [`Sender::send`] with `Duration::MAX`.
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
}

impl Endpoint for Sender {
    type Core = Producer;
    type Error = PushError;
    const NOTIFY: Line = Line::DATA;
    const PARK: Line = Line::ROOM;
    const RESET_ON_RETRY: bool = true;
    const FAST_PATH: bool = true;
    const UNREGISTER_ON_RECHECK: bool = true;
    const WAKE_CHECKS: bool = false;

    fn core(&mut self) -> &mut Producer {
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
    /// The consumer is gone (module docs); it may have released slots just
    /// before, which the retry sees.
    fn peer_gone(&self, due: bool) -> bool {
        let guard = &self.guard;
        peer_gone(self.producer.consumer_state(), due, || guard.peer_alive())
    }
}

/// The consumer end of a [`Queue`]. At most one exists per queue at a time.
#[derive(Debug)]
pub struct Receiver {
    // Field order matters: see `Sender`.
    consumer: Consumer,
    guard: RoleGuard,
    /// Consecutive `Empty` results of `try_*` calls.
    empty_polls: u32,
    park: Futex,
    mode: WaitMode,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // As for `Sender`: "closed", unlock, then wake a producer parked for room.
        self.consumer.close();
        self.guard.release();
        Line::ROOM.wake_on_close(self.consumer.region(), &self.park);
    }
}

impl Receiver {
    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.consumer.slot_size()
    }

    /// The violation that poisoned this receiver, if any.
    pub fn poisoned(&self) -> Option<Violation> {
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

    /// Dequeues one message into `buf`, returning its length.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`]; [`TryRecvError::Disconnected`] if drained and
    /// the producer is gone (see the module docs for when that is checked);
    /// [`TryRecvError::Size`] if the message is longer than `buf` (it stays
    /// queued); [`TryRecvError::Poisoned`].
    #[inline]
    pub fn try_recv(&mut self, buf: &mut [u8]) -> Result<usize, TryRecvError> {
        waiter::attempt(self, Check::Polls, |c| c.try_pop(buf))
    }

    /// Dequeues one message of exactly `size_of::<T>()` bytes as a `T`.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`]; `Size` if the message has another length.
    #[inline]
    pub fn try_recv_value<T: Pod>(&mut self) -> Result<T, TryRecvError> {
        waiter::attempt(self, Check::Polls, |c| c.try_pop_value::<T>())
    }

    /// Dequeues up to `out.len()` messages of `size_of::<T>()` bytes each,
    /// releasing their slots together; returns how many.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`] when no message could be taken (`Ok(0)` for
    /// an empty `out`).
    pub fn recv_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, TryRecvError> {
        waiter::attempt(self, Check::Polls, |c| c.pop_slice(out))
    }

    /// Dequeues one message into `buf`, waiting up to `timeout`
    /// (spinning, yielding, then parking, as [`WaitMode`] says). A `timeout`
    /// of zero tries once (and checks the peer's liveness once); one too
    /// large to add to the current instant (e.g. `Duration::MAX`) means no
    /// bound. The deadline is on the monotonic clock.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`]; [`RecvTimeoutError::Disconnected`] once
    /// drained and the producer is found gone (a clean close wakes a parked
    /// receiver at once; a dead producer is noticed within about a
    /// millisecond while polling and [`PARK_SLICE`](crate::PARK_SLICE) while
    /// parked, and at the timeout); `Size`; `Poisoned`.
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

    /// Dequeues one message into `buf`, waiting as long as it takes: until a
    /// message arrives or the producer is gone and the queue drained. Same as
    /// [`Receiver::recv`] with `Duration::MAX`.
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
}

impl Endpoint for Receiver {
    type Core = Consumer;
    type Error = PopError;
    const NOTIFY: Line = Line::ROOM;
    const PARK: Line = Line::DATA;
    const RESET_ON_RETRY: bool = true;
    const FAST_PATH: bool = true;
    const UNREGISTER_ON_RECHECK: bool = true;
    const WAKE_CHECKS: bool = false;

    fn core(&mut self) -> &mut Consumer {
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
    /// The producer is gone (module docs). A message it committed just
    /// before closing (or dying) is visible to the retry: the state load
    /// here is an Acquire that pairs with its Release store of "closed", and
    /// a lock release by the kernel orders like one.
    fn peer_gone(&self, due: bool) -> bool {
        let guard = &self.guard;
        peer_gone(self.consumer.producer_state(), due, || guard.peer_alive())
    }
}
