//! [`Sender`] and [`Receiver`]: the endpoints of every queue kind, written
//! once. Each wraps the core's end of its kind, the lock that holds its role
//! (or table entry) and its waiting state; the waiting loop is the core's
//! ([`shmq_core::wait::wait`]), driven with this crate's futex.

use crate::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError, Violation};
use crate::kind::Kind;
use crate::park::Futex;
use bytemuck::{NoUninit, Pod};
use shmq_core::endpoint::{RecvEnd, SendEnd};
use shmq_core::region::Region;
use shmq_core::spsc::{PopError, PushError};
use shmq_core::wait::{self, Endpoint, Failure, Lines, Stall, WaitMode};
use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::time::Duration;

/// One direction of an endpoint: its core end, error, lines and the rule
/// that decides its peers are gone.
pub(crate) trait Direction<K: Kind> {
    type Core: fmt::Debug + Send + Sync;
    type Error: Stall;
    const LINES: Lines;
    fn region(core: &Self::Core) -> &Region;
    fn poisoned(core: &Self::Core) -> Option<Violation>;
    fn peers_gone(core: &Self::Core, guard: &K::Guard, due: bool) -> bool;
    fn exact(core: &mut Self::Core);
}

/// The sending direction.
#[derive(Debug)]
pub(crate) struct Tx;
/// The receiving direction.
#[derive(Debug)]
pub(crate) struct Rx;

impl<K: Kind> Direction<K> for Tx {
    type Core = K::Producer;
    type Error = PushError;
    const LINES: Lines = K::SENDER_LINES;
    fn region(core: &K::Producer) -> &Region {
        core.region()
    }
    fn poisoned(core: &K::Producer) -> Option<Violation> {
        core.poisoned().map(Violation::from)
    }
    fn peers_gone(core: &K::Producer, guard: &K::Guard, due: bool) -> bool {
        K::receivers_gone(core, guard, due)
    }
    #[inline]
    fn exact(core: &mut K::Producer) {
        core.exact();
    }
}

impl<K: Kind> Direction<K> for Rx {
    type Core = K::Consumer;
    type Error = PopError;
    const LINES: Lines = K::RECEIVER_LINES;
    fn region(core: &K::Consumer) -> &Region {
        core.region()
    }
    fn poisoned(core: &K::Consumer) -> Option<Violation> {
        core.poisoned().map(Violation::from)
    }
    fn peers_gone(core: &K::Consumer, guard: &K::Guard, due: bool) -> bool {
        K::senders_gone(core, guard, due)
    }
    #[inline]
    fn exact(core: &mut K::Consumer) {
        core.exact();
    }
}

/// The state of one endpoint, either direction.
pub(crate) struct End<K: Kind, D: Direction<K>> {
    /// Dropped by hand in `Drop`: detach, release the lock, then wake.
    core: ManuallyDrop<D::Core>,
    guard: K::Guard,
    /// Failed polls of `try_*` calls (wrapping; every 64th runs the liveness check).
    polls: u32,
    park: Futex,
    mode: WaitMode,
}

impl<K: Kind, D: Direction<K>> fmt::Debug for End<K, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("End")
            .field("core", &*self.core)
            .field("guard", &self.guard)
            .field("mode", &self.mode)
            .finish()
    }
}

impl<K: Kind, D: Direction<K>> End<K, D> {
    fn new(core: D::Core, guard: K::Guard) -> Self {
        let end = End {
            core: ManuallyDrop::new(core),
            guard,
            polls: 0,
            park: Futex::new(),
            mode: WaitMode::default(),
        };
        // A predecessor killed while parked may have left its registration.
        D::LINES.attached(end.region());
        end
    }

    /// The core end (kind-specific methods use it).
    pub(crate) fn core(&self) -> &D::Core {
        &self.core
    }

    /// The core end, mutably (kind-specific settings).
    pub(crate) fn core_mut(&mut self) -> &mut D::Core {
        &mut self.core
    }

    #[inline(always)]
    fn try_once<R>(
        &mut self,
        op: impl FnMut(&mut D::Core) -> Result<R, D::Error>,
    ) -> Result<R, Failure<D::Error>> {
        wait::try_once(self, op)
    }

    fn wait<R>(
        &mut self,
        timeout: Duration,
        op: impl FnMut(&mut D::Core) -> Result<R, D::Error>,
    ) -> Result<R, Failure<D::Error>> {
        wait::wait(self, timeout, op)
    }
}

impl<K: Kind, D: Direction<K>> Endpoint for End<K, D> {
    type Core = D::Core;
    type Error = D::Error;
    type Park = Futex;
    const LINES: Lines = D::LINES;

    #[inline]
    fn core(&mut self) -> &mut D::Core {
        &mut self.core
    }
    #[inline]
    fn region(&self) -> &Region {
        D::region(&self.core)
    }
    #[inline]
    fn park(&self) -> &Futex {
        &self.park
    }
    #[inline]
    fn polls(&mut self) -> &mut u32 {
        &mut self.polls
    }
    #[inline]
    fn mode(&self) -> WaitMode {
        self.mode
    }
    /// See each kind's `receivers_gone`/`senders_gone`: progress the peers
    /// made before leaving is visible to the retry that follows.
    #[inline]
    fn peer_gone(&self, due: bool) -> bool {
        D::peers_gone(&self.core, &self.guard, due)
    }
    #[inline]
    fn exact(&mut self) {
        D::exact(&mut self.core);
    }
}

impl<K: Kind, D: Direction<K>> Drop for End<K, D> {
    fn drop(&mut self) {
        let region = D::region(&self.core).clone();
        // SAFETY: `core` is dropped exactly once, here, and never used after.
        // Its own drop says "closed" (SPSC) or frees its table entry (MPMC).
        unsafe { ManuallyDrop::drop(&mut self.core) };
        // Release the role (or entry) *then* wake the peers parked on the
        // other side: woken, they find this endpoint gone at once. The
        // mapping stays alive until `guard` drops, after this function.
        K::release(&mut self.guard);
        D::LINES.closed(&region, &self.park);
    }
}

/// Maps a core failure of a send to the public error (exhaustive: a new
/// core variant fails to compile here instead of degrading to `Full`).
fn send_error(f: Failure<PushError>) -> TrySendError {
    match f {
        Failure::Stalled | Failure::Failed(PushError::Full) => TrySendError::Full,
        Failure::Gone => TrySendError::Disconnected,
        Failure::Failed(PushError::TooLarge { len, max }) => TrySendError::TooLarge { len, max },
        Failure::Failed(PushError::WrongSize { len, size }) => {
            TrySendError::WrongSize { len, size }
        }
        Failure::Failed(PushError::Poisoned(v)) => TrySendError::Poisoned(v.into()),
    }
}

/// Maps a core failure of a receive to the public error (exhaustive).
fn recv_error(f: Failure<PopError>) -> TryRecvError {
    match f {
        Failure::Stalled | Failure::Failed(PopError::Empty) => TryRecvError::Empty,
        Failure::Gone => TryRecvError::Disconnected,
        Failure::Failed(PopError::Size { len, capacity }) => TryRecvError::Size { len, capacity },
        Failure::Failed(PopError::Poisoned(v)) => TryRecvError::Poisoned(v.into()),
    }
}

/// The methods every endpoint has, with examples for the type they are on.
macro_rules! common_methods {
    ($ty:ident, $take:ident, $dir:ty) => {
        impl<K: Kind> $ty<K> {
            fn geometry(&self) -> &shmq_core::layout::Geometry {
                <$dir as Direction<K>>::region(&self.end.core).geometry()
            }

            #[doc = concat!("Number of slots.\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::builder(&name).capacity(8).create()?;\nlet ep = q.", stringify!($take), "()?;\nassert_eq!(ep.capacity(), 8);\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn capacity(&self) -> usize {
                self.geometry().capacity() as usize
            }

            #[doc = concat!("Largest message, in bytes.\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::mpmc::Queue::builder(&name).slot_size(48).create()?;\nlet ep = q.", stringify!($take), "()?;\nassert_eq!(ep.slot_size(), 48);\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn slot_size(&self) -> usize {
                self.geometry().slot_size() as usize
            }

            #[doc = concat!("Messages queued now: a snapshot, clamped to `0..=capacity()` (see [`Queue::len`](crate::Queue::len)).\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::create(&name, Default::default())?;\nlet ep = q.", stringify!($take), "()?;\nassert_eq!(ep.len(), 0);\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn len(&self) -> usize {
                K::len(<$dir as Direction<K>>::region(&self.end.core))
            }

            #[doc = concat!("Whether no message is queued (a snapshot).\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::create(&name, Default::default())?;\nlet ep = q.", stringify!($take), "()?;\nassert!(ep.is_empty());\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            #[doc = concat!("Whether every slot is taken (a snapshot).\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::create(&name, Default::default())?;\nlet ep = q.", stringify!($take), "()?;\nassert!(!ep.is_full());\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn is_full(&self) -> bool {
                self.len() >= self.capacity()
            }

            #[doc = concat!("A snapshot of the queue's counters (informative: peers write them).\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::mpmc::Queue::create(&name, Default::default())?;\nlet ep = q.", stringify!($take), "()?;\nassert!(!ep.stats().poisoned);\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn stats(&self) -> K::Stats {
                K::stats(<$dir as Direction<K>>::region(&self.end.core))
            }

            #[doc = concat!("Whether the other side is gone: some endpoint of the other direction attached once, and none is attached and alive now (a lock check per role or entry; a snapshot: a new one may attach at any time).\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::create(&name, Default::default())?;\nlet ep = q.", stringify!($take), "()?;\nassert!(!ep.is_abandoned()); // the other side never attached\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn is_abandoned(&self) -> bool {
                self.end.peer_gone(true)
            }

            #[doc = concat!("The violation that poisoned this endpoint, if any: once poisoned, every call fails with it.\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::create(&name, Default::default())?;\nlet ep = q.", stringify!($take), "()?;\nassert_eq!(ep.poisoned(), None);\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn poisoned(&self) -> Option<Violation> {
                <$dir as Direction<K>>::poisoned(&self.end.core)
            }

            #[doc = concat!("How the waiting calls wait (default [`WaitMode::default`]).\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::create(&name, Default::default())?;\nlet ep = q.", stringify!($take), "()?;\nassert_eq!(ep.wait_mode(), shmq::WaitMode::default());\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn wait_mode(&self) -> WaitMode {
                self.end.mode
            }

            #[doc = concat!("Sets how the waiting calls wait.\n\n```\n# let name = format!(\"shmq-doc-{}\", std::process::id());\nlet q = shmq::spsc::Queue::create(&name, Default::default())?;\nlet mut ep = q.", stringify!($take), "()?;\nep.set_wait_mode(shmq::WaitMode::Park); // sleep at once, never burn a core\n# Ok::<(), shmq::Error>(())\n```")]
            pub fn set_wait_mode(&mut self, mode: WaitMode) {
                self.end.mode = mode;
            }
        }

        impl<K: Kind> fmt::Debug for $ty<K> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("end", &self.end).finish()
            }
        }
    };
}

/// The sending end of a [`Queue`](crate::Queue) of kind `K`.
///
/// SPSC: at most one exists per queue at a time, across all processes.
/// MPMC: one of many, each holding an endpoint-table entry. Dropping it
/// closes it: receivers drain what it sent, then learn that it is gone.
///
/// `Sender` is `Send` and `Sync` for every kind; its methods that send take
/// `&mut self`.
pub struct Sender<K: Kind> {
    end: End<K, Tx>,
}

/// The receiving end of a [`Queue`](crate::Queue) of kind `K`.
///
/// SPSC: at most one at a time. MPMC: one of many, competing: each message
/// goes to exactly one receiver. `Send` and `Sync` for every kind.
pub struct Receiver<K: Kind> {
    end: End<K, Rx>,
}

common_methods!(Sender, sender, Tx);
common_methods!(Receiver, receiver, Rx);

impl<K: Kind> Sender<K> {
    pub(crate) fn new(core: K::Producer, guard: K::Guard) -> Self {
        Sender {
            end: End::new(core, guard),
        }
    }

    /// The core end (kind-specific methods use it).
    pub(crate) fn core(&self) -> &K::Producer {
        self.end.core()
    }

    /// The core end, mutably (kind-specific settings).
    pub(crate) fn core_mut(&mut self) -> &mut K::Producer {
        self.end.core_mut()
    }

    /// Enqueues `msg` (`0..=slot_size()` bytes) if a slot is free.
    ///
    /// # Errors
    /// [`TrySendError::Full`]; [`TrySendError::Disconnected`] if full and
    /// every receiver is gone (checked on every 64th `Full`, so at least once in 64 in a row, a
    /// system call); [`TrySendError::TooLarge`]; [`TrySendError::Poisoned`].
    /// Nothing is enqueued in each case.
    ///
    /// ```
    /// # let name = format!("shmq-doc-trysend-{}", std::process::id());
    /// let q = shmq::spsc::Queue::builder(&name).capacity(2).create()?;
    /// let mut tx = q.sender()?;
    /// tx.try_send(b"one").unwrap();
    /// tx.try_send(b"two").unwrap();
    /// assert_eq!(tx.try_send(b"three"), Err(shmq::TrySendError::Full));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn try_send(&mut self, msg: &[u8]) -> Result<(), TrySendError> {
        self.end.try_once(|c| c.try_push(msg)).map_err(send_error)
    }

    /// Enqueues the bytes of `value` as one message.
    ///
    /// # Errors
    /// As [`Sender::try_send`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-trysendvalue-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_value(&[1.5f32, 2.5]).unwrap();
    /// assert_eq!(rx.try_recv_value::<[f32; 2]>(), Ok([1.5, 2.5]));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn try_send_value<T: NoUninit>(&mut self, value: &T) -> Result<(), TrySendError> {
        self.end
            .try_once(|c| c.try_push_value(value))
            .map_err(send_error)
    }

    /// Enqueues as many of `items` as fit, one message each, published
    /// together; returns how many (a prefix of `items`; `Ok(0)` only for an
    /// empty slice).
    ///
    /// # Errors
    /// As [`Sender::try_send`] when not one item fits;
    /// [`TrySendError::TooLarge`] if `T` is larger than a slot.
    ///
    /// ```
    /// # let name = format!("shmq-doc-trysendslice-{}", std::process::id());
    /// let q = shmq::spsc::Queue::builder(&name).capacity(4).create()?;
    /// let mut tx = q.sender()?;
    /// assert_eq!(tx.try_send_slice(&[1u64, 2, 3, 4, 5, 6]), Ok(4));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn try_send_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, TrySendError> {
        self.end
            .try_once(|c| c.push_slice(items))
            .map_err(send_error)
    }

    /// Enqueues `msg`, waiting up to `timeout` for a free slot (spinning,
    /// yielding, then parking, as [`WaitMode`] says). A `timeout` of zero
    /// tries once (and checks liveness once); one too large to add to the
    /// monotonic clock (e.g. `Duration::MAX`) means no bound.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`]; [`SendTimeoutError::Disconnected`] as
    /// soon as the queue is full and every receiver is found gone (a clean
    /// close wakes a parked sender at once; a dead receiver is noticed within
    /// about a millisecond while polling and [`PARK_SLICE`](crate::PARK_SLICE)
    /// while parked); `TooLarge`; `Poisoned`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-send-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::spsc::Queue::builder(&name).capacity(2).create()?;
    /// let (mut tx, _rx) = (q.sender()?, q.receiver()?);
    /// tx.send(b"a", Duration::from_millis(10)).unwrap();
    /// tx.send(b"b", Duration::from_millis(10)).unwrap();
    /// let full = tx.send(b"c", Duration::from_millis(10));
    /// assert_eq!(full, Err(shmq::SendTimeoutError::Timeout));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn send(&mut self, msg: &[u8], timeout: Duration) -> Result<(), SendTimeoutError> {
        let r = self.end.wait(timeout, |c| c.try_push(msg));
        r.map_err(|f| send_error(f).into())
    }

    /// Enqueues the bytes of `value`, waiting up to `timeout`.
    ///
    /// # Errors
    /// As [`Sender::send`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-sendvalue-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// tx.send_value(&7u32, Duration::from_secs(1)).unwrap();
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn send_value<T: NoUninit>(
        &mut self,
        value: &T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError> {
        let r = self.end.wait(timeout, |c| c.try_push_value(value));
        r.map_err(|f| send_error(f).into())
    }

    /// Enqueues a prefix of `items` (at least one item unless `items` is
    /// empty), waiting up to `timeout` for room; returns how many.
    ///
    /// # Errors
    /// As [`Sender::send`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-sendslice-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// let mut rest: &[u64] = &[1, 2, 3];
    /// while !rest.is_empty() {
    ///     let n = tx.send_slice(rest, Duration::from_secs(1)).unwrap();
    ///     rest = &rest[n..];
    /// }
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn send_slice<T: NoUninit>(
        &mut self,
        items: &[T],
        timeout: Duration,
    ) -> Result<usize, SendTimeoutError> {
        let r = self.end.wait(timeout, |c| c.push_slice(items));
        r.map_err(|f| send_error(f).into())
    }

    /// Enqueues `msg`, waiting as long as it takes: until a slot is free or
    /// every receiver is gone. Same as [`Sender::send`] with `Duration::MAX`.
    ///
    /// # Errors
    /// As [`Sender::send`], never `Timeout`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-sendblocking-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// tx.send_blocking(b"hello").unwrap();
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn send_blocking(&mut self, msg: &[u8]) -> Result<(), SendTimeoutError> {
        self.send(msg, Duration::MAX)
    }

    /// Enqueues the bytes of `value`, waiting as long as it takes.
    ///
    /// # Errors
    /// As [`Sender::send_blocking`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-sendvalueblocking-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// tx.send_value_blocking(&42u64).unwrap();
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn send_value_blocking<T: NoUninit>(&mut self, value: &T) -> Result<(), SendTimeoutError> {
        self.send_value(value, Duration::MAX)
    }

    /// Enqueues a prefix of `items`, waiting as long as it takes.
    ///
    /// # Errors
    /// As [`Sender::send_blocking`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-sendsliceblocking-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// assert_eq!(tx.send_slice_blocking(&[1u16, 2]), Ok(2));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn send_slice_blocking<T: NoUninit>(
        &mut self,
        items: &[T],
    ) -> Result<usize, SendTimeoutError> {
        self.send_slice(items, Duration::MAX)
    }
}

/// Each `write` sends one message of up to `slot_size()` bytes, waiting as
/// long as it takes for room ([`Sender::send_blocking`]); it returns how many
/// bytes it sent. A message boundary falls after every `write`, so pair it
/// with the [`Receiver`]'s `Read`, which returns one message per `read`.
///
/// Errors: every receiver gone is `BrokenPipe`, a poisoned queue
/// `InvalidData`.
///
/// ```
/// # let name = format!("shmq-doc-write-{}", std::process::id());
/// use std::io::{Read, Write};
/// let q = shmq::spsc::Queue::create(&name, Default::default())?;
/// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
/// write!(tx, "reading {}", 7)?;
/// let mut buf = [0u8; 64];
/// let n = rx.read(&mut buf)?;
/// assert_eq!(&buf[..n], b"reading 7");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<K: Kind> io::Write for Sender<K> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(self.slot_size());
        self.send_blocking(&buf[..n]).map_err(io::Error::from)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Every message is published when `write` returns.
        Ok(())
    }
}

impl<K: Kind> Receiver<K> {
    pub(crate) fn new(core: K::Consumer, guard: K::Guard) -> Self {
        Receiver {
            end: End::new(core, guard),
        }
    }

    /// The core end (kind-specific methods use it).
    pub(crate) fn core(&self) -> &K::Consumer {
        self.end.core()
    }

    /// The core end, mutably (kind-specific settings).
    pub(crate) fn core_mut(&mut self) -> &mut K::Consumer {
        self.end.core_mut()
    }

    /// Dequeues one message into `buf`, returning its length.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`]; [`TryRecvError::Disconnected`] if drained
    /// and every sender is gone (checked on every 64th `Empty`, so at least once in 64 in a row, a
    /// system call); [`TryRecvError::Size`] if the message is longer than
    /// `buf` (it stays queued); [`TryRecvError::Poisoned`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-tryrecv-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// let mut buf = [0u8; 64];
    /// assert_eq!(rx.try_recv(&mut buf), Err(shmq::TryRecvError::Empty));
    /// tx.try_send(b"hi").unwrap();
    /// assert_eq!(rx.try_recv(&mut buf), Ok(2));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn try_recv(&mut self, buf: &mut [u8]) -> Result<usize, TryRecvError> {
        self.end.try_once(|c| c.try_pop(buf)).map_err(recv_error)
    }

    /// Dequeues one message of exactly `size_of::<T>()` bytes as a `T`.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`]; `Size` if the message has another length
    /// (it stays queued).
    ///
    /// ```
    /// # let name = format!("shmq-doc-tryrecvvalue-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_value(&9u64).unwrap();
    /// assert_eq!(rx.try_recv_value::<u64>(), Ok(9));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn try_recv_value<T: Pod>(&mut self) -> Result<T, TryRecvError> {
        self.end
            .try_once(|c| c.try_pop_value::<T>())
            .map_err(recv_error)
    }

    /// Dequeues up to `out.len()` messages of `size_of::<T>()` bytes each,
    /// released together; returns how many (`Ok(0)` only for an empty `out`).
    ///
    /// # Errors
    /// As [`Receiver::try_recv`] when no message could be taken.
    ///
    /// ```
    /// # let name = format!("shmq-doc-tryrecvslice-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_slice(&[1u32, 2, 3]).unwrap();
    /// let mut out = [0u32; 8];
    /// assert_eq!(rx.try_recv_slice(&mut out), Ok(3));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn try_recv_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, TryRecvError> {
        self.end.try_once(|c| c.pop_slice(out)).map_err(recv_error)
    }

    /// Dequeues one message into `buf`, waiting up to `timeout` (spinning,
    /// yielding, then parking, as [`WaitMode`] says). A `timeout` of zero
    /// tries once (and checks liveness once); one too large to add to the
    /// monotonic clock (e.g. `Duration::MAX`) means no bound.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`]; [`RecvTimeoutError::Disconnected`]
    /// once drained and every sender is found gone (a clean close wakes a
    /// parked receiver at once; a dead sender is noticed within about a
    /// millisecond while polling and [`PARK_SLICE`](crate::PARK_SLICE) while
    /// parked); `Size`; `Poisoned`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-recv-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (_tx, mut rx) = (q.sender()?, q.receiver()?);
    /// let mut buf = [0u8; 64];
    /// let r = rx.recv(&mut buf, Duration::from_millis(5));
    /// assert_eq!(r, Err(shmq::RecvTimeoutError::Timeout));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, RecvTimeoutError> {
        let r = self.end.wait(timeout, |c| c.try_pop(buf));
        r.map_err(|f| recv_error(f).into())
    }

    /// Dequeues one `T`, waiting up to `timeout`.
    ///
    /// # Errors
    /// As [`Receiver::recv`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvvalue-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_value(&3i32).unwrap();
    /// assert_eq!(rx.recv_value::<i32>(Duration::from_secs(1)), Ok(3));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_value<T: Pod>(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let r = self.end.wait(timeout, |c| c.try_pop_value::<T>());
        r.map_err(|f| recv_error(f).into())
    }

    /// Dequeues up to `out.len()` messages (at least one unless `out` is
    /// empty), waiting up to `timeout` for the first; returns how many.
    ///
    /// # Errors
    /// As [`Receiver::recv`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvslice-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_slice(&[5u8, 6]).unwrap();
    /// let mut out = [0u8; 4];
    /// assert_eq!(rx.recv_slice(&mut out, Duration::from_secs(1)), Ok(2));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_slice<T: Pod>(
        &mut self,
        out: &mut [T],
        timeout: Duration,
    ) -> Result<usize, RecvTimeoutError> {
        let r = self.end.wait(timeout, |c| c.pop_slice(out));
        r.map_err(|f| recv_error(f).into())
    }

    /// Dequeues one message into `buf`, waiting as long as it takes: until a
    /// message arrives or every sender is gone and the queue drained. Same as
    /// [`Receiver::recv`] with `Duration::MAX`.
    ///
    /// # Errors
    /// As [`Receiver::recv`], never `Timeout`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvblocking-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"x").unwrap();
    /// drop(tx);
    /// let mut buf = [0u8; 64];
    /// assert_eq!(rx.recv_blocking(&mut buf), Ok(1));
    /// assert_eq!(rx.recv_blocking(&mut buf), Err(shmq::RecvTimeoutError::Disconnected));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_blocking(&mut self, buf: &mut [u8]) -> Result<usize, RecvTimeoutError> {
        self.recv(buf, Duration::MAX)
    }

    /// Dequeues one `T`, waiting as long as it takes.
    ///
    /// # Errors
    /// As [`Receiver::recv_blocking`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvvalueblocking-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_value(&1u8).unwrap();
    /// assert_eq!(rx.recv_value_blocking::<u8>(), Ok(1));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_value_blocking<T: Pod>(&mut self) -> Result<T, RecvTimeoutError> {
        self.recv_value(Duration::MAX)
    }

    /// Dequeues up to `out.len()` messages, waiting as long as it takes for
    /// the first.
    ///
    /// # Errors
    /// As [`Receiver::recv_blocking`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvsliceblocking-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_slice(&[1u64, 2]).unwrap();
    /// let mut out = [0u64; 2];
    /// assert_eq!(rx.recv_slice_blocking(&mut out), Ok(2));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_slice_blocking<T: Pod>(
        &mut self,
        out: &mut [T],
    ) -> Result<usize, RecvTimeoutError> {
        self.recv_slice(out, Duration::MAX)
    }

    /// An iterator over the messages available now, without waiting: it
    /// ends at the first `Empty` (or any other error, which the next
    /// [`Receiver::try_recv`] reports). Each message is returned as a
    /// `Vec<u8>`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-tryiter-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"a").unwrap();
    /// tx.try_send(b"bc").unwrap();
    /// let got: Vec<Vec<u8>> = rx.try_iter().collect();
    /// assert_eq!(got, [b"a".to_vec(), b"bc".to_vec()]);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn try_iter(&mut self) -> TryIter<'_, K> {
        TryIter {
            buf: vec![0; self.slot_size()],
            rx: self,
            left: usize::MAX,
        }
    }

    /// Takes the messages queued at the time of the call: at most
    /// [`Receiver::len`] of them as it was then, so a sender that keeps
    /// sending cannot keep the iterator going. Ends early at the first error.
    ///
    /// ```
    /// # let name = format!("shmq-doc-drain-{}", std::process::id());
    /// let q = shmq::mpmc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// for i in 0..3u8 {
    ///     tx.try_send(&[i]).unwrap();
    /// }
    /// assert_eq!(rx.drain().count(), 3);
    /// assert!(rx.is_empty());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn drain(&mut self) -> TryIter<'_, K> {
        let left = self.len();
        TryIter {
            buf: vec![0; self.slot_size()],
            rx: self,
            left,
        }
    }

    /// A blocking iterator: each item waits as long as it takes for a
    /// message ([`Receiver::recv_blocking`]); it ends when every sender is
    /// gone and the queue is drained (or at any other error).
    ///
    /// ```
    /// # let name = format!("shmq-doc-iter-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"last").unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().count(), 1);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn iter(&mut self) -> Iter<'_, K> {
        Iter {
            buf: vec![0; self.slot_size()],
            rx: self,
        }
    }
}

/// Each `read` returns one whole message (waiting as long as it takes, as
/// [`Receiver::recv_blocking`]), or `Ok(0)` once every sender is gone and
/// the queue is drained (end of stream). A message longer than the buffer
/// fails with `InvalidInput` and stays queued (offer `slot_size()` bytes to
/// be safe); a poisoned queue is `InvalidData`.
impl<K: Kind> io::Read for Receiver<K> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.recv_blocking(buf) {
            Ok(n) => Ok(n),
            Err(RecvTimeoutError::Disconnected) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// The iterator of [`Receiver::try_iter`] and [`Receiver::drain`].
pub struct TryIter<'a, K: Kind> {
    rx: &'a mut Receiver<K>,
    buf: Vec<u8>,
    /// Messages still allowed (`usize::MAX`: no limit).
    left: usize,
}

impl<K: Kind> Iterator for TryIter<'_, K> {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        if self.left == 0 {
            return None;
        }
        let n = self.rx.try_recv(&mut self.buf).ok()?;
        self.left = self.left.saturating_sub(1);
        Some(self.buf[..n].to_vec())
    }
}

impl<K: Kind> fmt::Debug for TryIter<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryIter").field("left", &self.left).finish()
    }
}

/// The iterator of [`Receiver::iter`].
pub struct Iter<'a, K: Kind> {
    rx: &'a mut Receiver<K>,
    buf: Vec<u8>,
}

impl<K: Kind> Iterator for Iter<'_, K> {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        let n = self.rx.recv_blocking(&mut self.buf).ok()?;
        Some(self.buf[..n].to_vec())
    }
}

impl<K: Kind> fmt::Debug for Iter<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// Kind-specific operations (the byte ring's loans and in-place reads) run
/// through the same try/wait loop and error mapping as the generic calls.
impl<K: Kind> Sender<K> {
    /// Runs `op` once ([`Sender::try_send`]'s rules).
    pub(crate) fn try_op<R>(
        &mut self,
        op: impl FnMut(&mut K::Producer) -> Result<R, PushError>,
    ) -> Result<R, TrySendError> {
        self.end.try_once(op).map_err(send_error)
    }

    /// Runs `op` once, like [`Sender::try_op`], but announces nothing to
    /// the receivers when it succeeds at once: for operations that publish
    /// nothing (reserving a loan; its commit announces). A "no progress"
    /// result is retried through [`Sender::try_op`] (the disconnection rule).
    pub(crate) fn try_op_quiet<R>(
        &mut self,
        mut op: impl FnMut(&mut K::Producer) -> Result<R, PushError>,
    ) -> Result<R, TrySendError> {
        match op(Endpoint::core(&mut self.end)) {
            Ok(r) => Ok(r),
            Err(e) if e.is_stalled() => self.try_op(op),
            Err(e) => Err(send_error(Failure::Failed(e))),
        }
    }

    /// Runs `op` until it succeeds, waiting up to `timeout` ([`Sender::send`]'s rules).
    pub(crate) fn wait_op<R>(
        &mut self,
        timeout: Duration,
        op: impl FnMut(&mut K::Producer) -> Result<R, PushError>,
    ) -> Result<R, SendTimeoutError> {
        self.end.wait(timeout, op).map_err(|f| send_error(f).into())
    }
}

impl<K: Kind> Receiver<K> {
    /// Runs `op` once ([`Receiver::try_recv`]'s rules).
    pub(crate) fn try_op<R>(
        &mut self,
        op: impl FnMut(&mut K::Consumer) -> Result<R, PopError>,
    ) -> Result<R, TryRecvError> {
        self.end.try_once(op).map_err(recv_error)
    }

    /// Runs `op` until it succeeds, waiting up to `timeout` ([`Receiver::recv`]'s rules).
    pub(crate) fn wait_op<R>(
        &mut self,
        timeout: Duration,
        op: impl FnMut(&mut K::Consumer) -> Result<R, PopError>,
    ) -> Result<R, RecvTimeoutError> {
        self.end.wait(timeout, op).map_err(|f| recv_error(f).into())
    }
}
