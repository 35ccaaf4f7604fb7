//! Named byte-record queues between processes: variable-length messages
//! and zero-copy loans (single producer, single consumer).
//!
//! A [`Queue`] of this kind is a ring of `capacity_bytes` bytes (a power of
//! two) in which each message takes only its own length, rounded up to 8,
//! plus an 8-byte header: a 40-byte event and a 200 KiB frame share one
//! queue without every slot being sized for the largest. Messages are
//! `0..=max_message` bytes; `max_message` (at most `capacity_bytes / 2 -
//! 16`) is fixed at creation, so that an empty ring always has room for the
//! largest message.
//!
//! Besides the generic calls of every kind (`try_send`, `recv`, …, which
//! copy in and out), the byte ring offers **loans** (no staging copy):
//! - [`Sender::try_loan`] (and [`Sender::loan`], [`Sender::loan_blocking`])
//!   reserves room for a record and returns a [`Loan`] that the caller
//!   fills in place ([`Loan::write_at`], [`Loan::write_value`],
//!   `std::io::Write`, so a serializer can write straight into shared
//!   memory), then publishes with [`Loan::commit`] or [`Loan::commit_len`];
//!   a loan dropped uncommitted publishes nothing;
//! - [`Receiver::try_recv_with`] (and [`Receiver::recv_with`],
//!   [`Receiver::recv_with_blocking`]) hands a [`Message`] view of the
//!   record, in place, to a closure, and releases the record when the
//!   closure returns; [`Receiver::recv_vec`] copies it into a `Vec`.
//!
//! The views never hand out `&[u8]` or `&mut [u8]` into the shared region:
//! every access is an atomic copy, so a peer that scribbles over a record
//! gives garbage bytes, never undefined behaviour (rust-vmm's `vm-memory`
//! `VolatileSlice` is the model).
//!
//! Roles, crash takeover, disconnection and the untrusted-peer rules are
//! those of [`crate::spsc`]: a new sender resumes after the last record its
//! predecessor committed (an uncommitted loan of a killed sender is simply
//! absent); a receiver killed inside `recv_with` before the closure
//! returned leaves that record to its successor.
//!
//! For the generic methods, [`crate::Sender::capacity`] is the ring's size
//! in bytes and [`crate::Sender::slot_size`] is `max_message`; `len()` counts
//! messages, so `is_full()` (messages ≥ bytes) says little here: use
//! [`crate::Sender::stats`] for the bytes in use.
//!
//! ```
//! use std::io::{Read, Write};
//! use shmq::bytes::{Config, Queue};
//!
//! # let name = format!("shmq-doc-bytes-{}", std::process::id());
//! let q = Queue::create(&name, Config { capacity_bytes: 1 << 16, max_message: 4096 })?;
//! let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
//!
//! tx.try_send(b"a short event").unwrap(); // a copy, like every kind
//! let mut loan = tx.try_loan(1000).unwrap(); // a record, filled in place
//! write!(loan, "frame of {} bytes", 1000)?;
//! loan.commit_written().unwrap();
//!
//! assert_eq!(rx.try_recv_vec().unwrap(), b"a short event");
//! let text = rx
//!     .try_recv_with(|mut msg| {
//!         let mut s = String::new();
//!         msg.read_to_string(&mut s).map(|_| s)
//!     })
//!     .unwrap()?;
//! assert_eq!(text, "frame of 1000 bytes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::{Error, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::kind::{private::Sealed, Kind};
use bytemuck::{NoUninit, Pod};
use shmq_core::bytes::{Consumer, OutOfRange, Producer, Reservation, View};
use shmq_core::layout::{Geometry, LayoutError, QueueKind};
use shmq_core::region::Region;
use std::fmt;
use std::io;
use std::time::Duration;

pub use shmq_core::bytes::Stats;

/// The byte-record kind (a marker type): `shmq::Queue<Bytes>` is
/// [`Queue`].
///
/// ```
/// # let name = format!("shmq-doc-byteskind-{}", std::process::id());
/// let q: shmq::Queue<shmq::bytes::Bytes> = shmq::Queue::create(&name, Default::default())?;
/// assert_eq!(q.capacity(), 1 << 20); // bytes
/// # Ok::<(), shmq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes;

/// A handle to a named byte-record queue; see [`crate::Queue`].
///
/// ```
/// # let name = format!("shmq-doc-bytesqueue-{}", std::process::id());
/// use shmq::bytes::{Config, Queue};
/// let q = Queue::create(&name, Config { capacity_bytes: 4096, max_message: 100 })?;
/// assert_eq!((q.capacity(), q.slot_size()), (4096, 100));
/// # Ok::<(), shmq::Error>(())
/// ```
pub type Queue = crate::Queue<Bytes>;
/// Options for creating or opening a byte-record queue; see
/// [`crate::Builder`] (`capacity` sets `capacity_bytes`, `slot_size` sets
/// `max_message`).
///
/// ```
/// # let name = format!("shmq-doc-bytesbuilder-{}", std::process::id());
/// let q = shmq::bytes::Builder::new(&name).capacity(1 << 16).slot_size(1000).create()?;
/// assert_eq!(q.slot_size(), 1000);
/// # Ok::<(), shmq::Error>(())
/// ```
pub type Builder = crate::Builder<Bytes>;
/// The producer end of a byte-record queue; see [`crate::Sender`] and the
/// loans below.
///
/// ```
/// # let name = format!("shmq-doc-bytessender-{}", std::process::id());
/// let q = shmq::bytes::Queue::create(&name, Default::default())?;
/// let mut tx: shmq::bytes::Sender = q.sender()?;
/// tx.try_send(&[0u8; 3000]).unwrap();
/// # Ok::<(), shmq::Error>(())
/// ```
pub type Sender = crate::Sender<Bytes>;
/// The consumer end of a byte-record queue; see [`crate::Receiver`] and
/// the in-place reads below.
///
/// ```
/// # let name = format!("shmq-doc-bytesreceiver-{}", std::process::id());
/// let q = shmq::bytes::Queue::create(&name, Default::default())?;
/// let (mut tx, mut rx): (_, shmq::bytes::Receiver) = (q.sender()?, q.receiver()?);
/// tx.try_send(b"x").unwrap();
/// assert_eq!(rx.try_recv_vec().unwrap(), b"x");
/// # Ok::<(), shmq::Error>(())
/// ```
pub type Receiver = crate::Receiver<Bytes>;

/// Geometry of a new byte-record queue.
///
/// ```
/// let c = shmq::bytes::Config::default();
/// assert_eq!((c.capacity_bytes, c.max_message), (1 << 20, 64 << 10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Size of the ring in bytes: a power of two in `64..=2^30`.
    pub capacity_bytes: u32,
    /// Largest message in bytes, at most `capacity_bytes / 2 - 16`.
    pub max_message: u32,
}

impl Default for Config {
    /// A 1 MiB ring, messages up to 64 KiB.
    fn default() -> Self {
        Config {
            capacity_bytes: 1 << 20,
            max_message: 64 << 10,
        }
    }
}

/// Removes the queue `name` from `/dev/shm` (a region of any kind; see
/// [`crate::Queue::remove`]).
///
/// # Errors
/// [`Error::InvalidName`]; [`Error::Io`] (`NotFound` if there is no such queue).
///
/// ```
/// # let name = format!("shmq-doc-bytes-remove-{}", std::process::id());
/// let q = shmq::bytes::Queue::builder(&name).persist(true).create()?;
/// shmq::bytes::remove(&name)?;
/// # Ok::<(), shmq::Error>(())
/// ```
pub fn remove(name: &str) -> Result<(), Error> {
    Queue::remove(name)
}

crate::kind::config_fields!(Config, capacity_bytes, max_message);

impl Kind for Bytes {
    type Config = Config;
    type Stats = Stats;
}

#[allow(private_interfaces)]
impl Sealed for Bytes {
    crate::kind::role_locked_ends!(Producer, Consumer);
    const KIND: QueueKind = QueueKind::Bytes;

    fn geometry(c: &Config) -> Result<Geometry, LayoutError> {
        Geometry::new_bytes(c.capacity_bytes, c.max_message)
    }
    fn stats(region: &Region) -> Stats {
        Stats::read(region)
    }
    /// Messages queued, clamped to the most records the ring can hold.
    fn len(region: &Region) -> usize {
        let s = Stats::read(region);
        crate::kind::queued(s.enqueued, s.dequeued, region.geometry().capacity() / 8)
    }
}

impl crate::Sender<Bytes> {
    /// Reserves room for a message of `len` bytes (`0..=max_message`) and
    /// returns a [`Loan`] to fill in place, if the ring has room now.
    ///
    /// # Errors
    /// As [`crate::Sender::try_send`]: `Full`, `Disconnected` (full and the
    /// receiver gone), `TooLarge`, `Poisoned`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-tryloan-{}", std::process::id());
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// let mut loan = tx.try_loan(8).unwrap();
    /// loan.write_value(0, &42u64).unwrap();
    /// loan.commit().unwrap();
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn try_loan(&mut self, len: usize) -> Result<Loan<'_>, TrySendError> {
        let reservation = self.try_op_quiet(|c| c.reserve(len))?;
        Ok(Loan::new(self, reservation))
    }

    /// As [`Sender::try_loan`], waiting up to `timeout` for room (as
    /// [`crate::Sender::send`] waits).
    ///
    /// # Errors
    /// As [`crate::Sender::send`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-loan-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// let mut loan = tx.loan(3, Duration::from_secs(1)).unwrap();
    /// loan.copy_from_slice(b"abc");
    /// loan.commit().unwrap();
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn loan(&mut self, len: usize, timeout: Duration) -> Result<Loan<'_>, SendTimeoutError> {
        // Reserving publishes nothing: no wake for the receiver unless the
        // wait loop ran (its success path announces, harmlessly).
        let reservation = match self.try_op_quiet(|c| c.reserve(len)) {
            Ok(r) => r,
            Err(TrySendError::Full) => self.wait_op(timeout, |c| c.reserve(len))?,
            Err(e) => return Err(e.into()),
        };
        Ok(Loan::new(self, reservation))
    }

    /// As [`Sender::loan`] with no time bound (until there is room or the
    /// receiver is gone).
    ///
    /// # Errors
    /// As [`crate::Sender::send_blocking`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-loanblocking-{}", std::process::id());
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// tx.loan_blocking(0).unwrap().commit().unwrap(); // an empty message
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn loan_blocking(&mut self, len: usize) -> Result<Loan<'_>, SendTimeoutError> {
        self.loan(len, Duration::MAX)
    }
}

/// A record reserved in the ring by [`Sender::try_loan`] (or `loan`,
/// `loan_blocking`), filled in place and published by [`Loan::commit`] /
/// [`Loan::commit_len`] / [`Loan::commit_written`]. Dropped uncommitted, it
/// publishes nothing.
///
/// Every write is an atomic copy into the shared region; no `&mut [u8]`
/// into it exists. Bytes of the reservation that are not written hold
/// whatever the ring held before (older messages of this queue).
///
/// `std::io::Write` appends at a cursor ([`Loan::written`]) and accepts at
/// most [`Loan::len`] bytes in all (then `Ok(0)`, which `write_all`
/// reports as `WriteZero`).
///
/// ```
/// # let name = format!("shmq-doc-loanty-{}", std::process::id());
/// use std::io::Write;
/// let q = shmq::bytes::Queue::create(&name, Default::default())?;
/// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
/// let mut loan = tx.try_loan(64).unwrap();
/// loan.write_all(b"serialized ")?;
/// loan.write_all(b"in place")?;
/// loan.commit_written().unwrap();
/// assert_eq!(rx.try_recv_vec().unwrap(), b"serialized in place");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Loan<'a> {
    tx: &'a mut crate::Sender<Bytes>,
    reservation: Reservation,
    /// The `io::Write` cursor.
    written: usize,
}

impl fmt::Debug for Loan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loan")
            .field("len", &self.reservation.len())
            .field("written", &self.written)
            .finish()
    }
}

impl<'a> Loan<'a> {
    #[inline]
    fn new(tx: &'a mut crate::Sender<Bytes>, reservation: Reservation) -> Self {
        Loan {
            tx,
            reservation,
            written: 0,
        }
    }

    /// Bytes reserved.
    ///
    /// ```
    /// # let name = format!("shmq-doc-loanlen-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let mut tx = q.sender()?;
    /// assert_eq!(tx.try_loan(100).unwrap().len(), 100);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.reservation.len()
    }

    /// Whether zero bytes are reserved.
    ///
    /// ```
    /// # let name = format!("shmq-doc-loanempty-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let mut tx = q.sender()?;
    /// assert!(tx.try_loan(0).unwrap().is_empty());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.reservation.is_empty()
    }

    /// Copies `src` into the reservation at `offset`: `min(src.len(), len -
    /// offset)` bytes (0 if `offset >= len`); returns how many.
    ///
    /// ```
    /// # let name = format!("shmq-doc-loanwriteat-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let mut tx = q.sender()?;
    /// let mut loan = tx.try_loan(4).unwrap();
    /// assert_eq!(loan.write_at(2, b"xyz"), 2);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn write_at(&mut self, offset: usize, src: &[u8]) -> usize {
        self.tx
            .core()
            .reserved(&self.reservation)
            .write_at(offset, src)
    }

    /// Copies `src` to the start of the reservation; returns how many bytes
    /// fit.
    ///
    /// ```
    /// # let name = format!("shmq-doc-loancopy-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let mut tx = q.sender()?;
    /// let mut loan = tx.try_loan(5).unwrap();
    /// assert_eq!(loan.copy_from_slice(b"hello"), 5);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn copy_from_slice(&mut self, src: &[u8]) -> usize {
        self.write_at(0, src)
    }

    /// Writes the bytes of `value` at `offset` (any alignment).
    ///
    /// # Errors
    /// [`OutOfRange`] if they do not fit the reservation; nothing is written.
    ///
    /// ```
    /// # let name = format!("shmq-doc-loanvalue-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let mut tx = q.sender()?;
    /// let mut loan = tx.try_loan(12).unwrap();
    /// loan.write_value(0, &[1u32, 2, 3]).unwrap();
    /// assert!(loan.write_value(8, &0u64).is_err());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn write_value<T: NoUninit>(&mut self, offset: usize, value: &T) -> Result<(), OutOfRange> {
        self.tx
            .core()
            .reserved(&self.reservation)
            .write_value(offset, value)
    }

    /// Bytes appended so far through `std::io::Write`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-loanwritten-{}", std::process::id());
    /// use std::io::Write;
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let mut tx = q.sender()?;
    /// let mut loan = tx.try_loan(16).unwrap();
    /// write!(loan, "{}", 12345)?;
    /// assert_eq!(loan.written(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn written(&self) -> usize {
        self.written
    }

    /// Publishes the whole reservation ([`Loan::len`] bytes) as one message.
    ///
    /// # Errors
    /// [`TrySendError::Poisoned`] only if the queue was poisoned meanwhile
    /// (it cannot be by this sender: the loan holds it); nothing is published then.
    ///
    /// ```
    /// # let name = format!("shmq-doc-commit-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// let mut loan = tx.try_loan(2).unwrap();
    /// loan.copy_from_slice(b"ok");
    /// loan.commit().unwrap();
    /// assert_eq!(rx.try_recv_vec().unwrap(), b"ok");
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn commit(self) -> Result<(), TrySendError> {
        let n = self.len();
        self.commit_len(n)
    }

    /// Publishes the first `n` bytes of the reservation as one message.
    ///
    /// # Errors
    /// [`TrySendError::TooLarge`] if `n > len()`; nothing is published.
    ///
    /// ```
    /// # let name = format!("shmq-doc-commitlen-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// let mut loan = tx.try_loan(100).unwrap();
    /// let n = loan.copy_from_slice(b"only this");
    /// loan.commit_len(n).unwrap();
    /// assert_eq!(rx.try_recv_vec().unwrap(), b"only this");
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn commit_len(self, n: usize) -> Result<(), TrySendError> {
        let reservation = self.reservation;
        self.tx.try_op(|c| c.commit(reservation, n))
    }

    /// Publishes the bytes appended through `std::io::Write`
    /// ([`Loan::written`]).
    ///
    /// # Errors
    /// As [`Loan::commit`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-commitwritten-{}", std::process::id());
    /// use std::io::Write;
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// let mut loan = tx.try_loan(100).unwrap();
    /// loan.write_all(b"abc")?;
    /// loan.commit_written().unwrap();
    /// assert_eq!(rx.try_recv_vec().unwrap(), b"abc");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn commit_written(self) -> Result<(), TrySendError> {
        let n = self.written;
        self.commit_len(n)
    }
}

impl io::Write for Loan<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.write_at(self.written, buf);
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Nothing is published before `commit`.
        Ok(())
    }
}

impl crate::Receiver<Bytes> {
    /// Dequeues one message by handing a [`Message`] view of it, in place,
    /// to `f`, if one is queued now; the record is released when `f`
    /// returns. Returns what `f` returns.
    ///
    /// # Errors
    /// As [`crate::Receiver::try_recv`] (never `Size`): `Empty`,
    /// `Disconnected`, `Poisoned`; `f` is not called then.
    ///
    /// ```
    /// # let name = format!("shmq-doc-tryrecvwith-{}", std::process::id());
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_value(&[3u16, 4]).unwrap();
    /// let second = rx.try_recv_with(|msg| msg.read_value::<u16>(2)).unwrap();
    /// assert_eq!(second, Ok(4));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn try_recv_with<R>(
        &mut self,
        f: impl FnOnce(Message<'_>) -> R,
    ) -> Result<R, TryRecvError> {
        let mut f = Some(f);
        let r = self.try_op(|c| c.try_recv_with(|v| f.take().map(|f| f(Message::new(v)))))?;
        Ok(called(r))
    }

    /// As [`Receiver::try_recv_with`], waiting up to `timeout` for a
    /// message (as [`crate::Receiver::recv`] waits).
    ///
    /// # Errors
    /// As [`crate::Receiver::recv`] (never `Size`).
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvwith-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"abc").unwrap();
    /// let len = rx.recv_with(|msg| msg.len(), Duration::from_secs(1)).unwrap();
    /// assert_eq!(len, 3);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_with<R>(
        &mut self,
        f: impl FnOnce(Message<'_>) -> R,
        timeout: Duration,
    ) -> Result<R, RecvTimeoutError> {
        let mut f = Some(f);
        let r = self.wait_op(timeout, |c| {
            c.try_recv_with(|v| f.take().map(|f| f(Message::new(v))))
        })?;
        Ok(called(r))
    }

    /// As [`Receiver::recv_with`] with no time bound (until a message
    /// arrives or the sender is gone and the queue drained).
    ///
    /// # Errors
    /// As [`crate::Receiver::recv_blocking`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvwithblocking-{}", std::process::id());
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"x").unwrap();
    /// assert_eq!(rx.recv_with_blocking(|msg| msg.to_vec()), Ok(b"x".to_vec()));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_with_blocking<R>(
        &mut self,
        f: impl FnOnce(Message<'_>) -> R,
    ) -> Result<R, RecvTimeoutError> {
        self.recv_with(f, Duration::MAX)
    }

    /// Dequeues one message into a new `Vec`, if one is queued now.
    ///
    /// # Errors
    /// As [`Receiver::try_recv_with`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-tryrecvvec-{}", std::process::id());
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(&[7; 300]).unwrap();
    /// assert_eq!(rx.try_recv_vec().unwrap(), vec![7; 300]);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn try_recv_vec(&mut self) -> Result<Vec<u8>, TryRecvError> {
        self.try_recv_with(|m| m.to_vec())
    }

    /// Dequeues one message into a new `Vec`, waiting up to `timeout`.
    ///
    /// # Errors
    /// As [`Receiver::recv_with`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-recvvec-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"hi").unwrap();
    /// assert_eq!(rx.recv_vec(Duration::from_secs(1)).unwrap(), b"hi");
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn recv_vec(&mut self, timeout: Duration) -> Result<Vec<u8>, RecvTimeoutError> {
        self.recv_with(|m| m.to_vec(), timeout)
    }
}

/// The closure ran: the core operation returned `Ok` only after calling it
/// (once: `f` was `Some` until then).
#[inline]
fn called<R>(r: Option<R>) -> R {
    match r {
        Some(r) => r,
        // The wait loop stops at the first `Ok`, and `Ok` means the closure
        // that takes `f` ran: `f` was still there.
        None => unreachable!("recv_with: the view closure ran without its callback"),
    }
}

/// A message in the ring, seen in place by the closure of
/// [`Receiver::try_recv_with`] (and `recv_with`, `recv_with_blocking`).
///
/// Reads copy bytes out of the shared region (atomic loads; no `&[u8]`
/// into it exists). `std::io::Read` reads from a cursor that starts at 0.
///
/// ```
/// # let name = format!("shmq-doc-message-{}", std::process::id());
/// use std::io::Read;
/// let q = shmq::bytes::Queue::create(&name, Default::default())?;
/// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
/// tx.try_send(b"line one").unwrap();
/// let mut s = String::new();
/// rx.try_recv_with(|mut msg| msg.read_to_string(&mut s)).unwrap()?;
/// assert_eq!(s, "line one");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Message<'a> {
    view: View<'a>,
    /// The `io::Read` cursor.
    read: usize,
}

impl<'a> Message<'a> {
    #[inline]
    fn new(view: View<'a>) -> Self {
        Message { view, read: 0 }
    }

    /// Length of the message in bytes.
    ///
    /// ```
    /// # let name = format!("shmq-doc-msglen-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"12345").unwrap();
    /// assert_eq!(rx.try_recv_with(|m| m.len()), Ok(5));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.view.len()
    }

    /// Whether the message is empty.
    ///
    /// ```
    /// # let name = format!("shmq-doc-msgempty-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"").unwrap();
    /// assert_eq!(rx.try_recv_with(|m| m.is_empty()), Ok(true));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// Copies bytes from `offset` into `buf`: `min(buf.len(), len -
    /// offset)` of them; returns how many.
    ///
    /// ```
    /// # let name = format!("shmq-doc-msgreadat-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"key=value").unwrap();
    /// let mut v = [0u8; 5];
    /// assert_eq!(rx.try_recv_with(|m| m.read_at(4, &mut v)), Ok(5));
    /// assert_eq!(&v, b"value");
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> usize {
        self.view.read_at(offset, buf)
    }

    /// Copies the message into the start of `buf`: `min(len, buf.len())`
    /// bytes; returns how many.
    ///
    /// ```
    /// # let name = format!("shmq-doc-msgcopy-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"abc").unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(rx.try_recv_with(|m| m.copy_to_slice(&mut buf)), Ok(3));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn copy_to_slice(&self, buf: &mut [u8]) -> usize {
        self.view.copy_to_slice(buf)
    }

    /// Reads a plain-data value from the bytes at `offset` (any alignment).
    ///
    /// # Errors
    /// [`OutOfRange`] if they are not all inside the message.
    ///
    /// ```
    /// # let name = format!("shmq-doc-msgvalue-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_value(&9.5f64).unwrap();
    /// assert_eq!(rx.try_recv_with(|m| m.read_value::<f64>(0)), Ok(Ok(9.5)));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    #[inline]
    pub fn read_value<T: Pod>(&self, offset: usize) -> Result<T, OutOfRange> {
        self.view.read_value(offset)
    }

    /// Copies the whole message into a new `Vec`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-msgvec-{}", std::process::id());
    /// # let q = shmq::bytes::Queue::create(&name, Default::default())?;
    /// # let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send(b"all").unwrap();
    /// assert_eq!(rx.try_recv_with(|m| m.to_vec()), Ok(b"all".to_vec()));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.view.len()];
        self.view.copy_to_slice(&mut v);
        v
    }
}

impl io::Read for Message<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.view.read_at(self.read, buf);
        self.read += n;
        Ok(n)
    }
}
