//! Named queues of fixed-size records between processes: the dense batch path.
//!
//! A dense queue carries messages of exactly `record_size` bytes — typically
//! one plain-data type, `size_of::<T>()` — laid out back to back in the ring
//! with no per-message header (a `u64` takes 8 bytes), and publishes a whole
//! batch ([`Sender::try_send_slice`], [`Receiver::try_recv_slice`] and their
//! waiting forms) with one store of its tail. It is the kind for streams of
//! small values sent in batches: sensor readings, samples, ticks.
//!
//! Everything else is as for [`crate::spsc`] (read its module docs: roles,
//! crashes, `fork`, disconnection, untrusted peers), with these differences:
//! - A message of any other length is refused:
//!   [`TrySendError::WrongSize`]
//!   ([`SendTimeoutError::WrongSize`]).
//!   [`Sender::slot_size`] is the record size.
//! - A batch becomes visible at once (a receiver sees all of it or none).
//! - A sender killed while writing a batch leaves it unpublished: not
//!   committed, absent for its successor, which resumes at the published
//!   tail. A receiver killed between copying a batch and releasing it hands
//!   that batch to its successor again (the one redelivery window, as for
//!   SPSC).
//! - No [`Pacing`](crate::spsc::Pacing): every call is exact. Per message
//!   the protocol is rtrb's (a shared tail and head, each read only when the
//!   cached view runs out); the batch calls are what this kind is for.
//!
//! # The generic methods on records
//! The endpoint methods are the generic ones ([`crate::Sender`],
//! [`crate::Receiver`]); on records they mean:
//! - Every send checks the length first: a message, value or slice element
//!   that is not `record_size` bytes is refused with `WrongSize` (where the
//!   generic docs say `TooLarge`), before anything else, even for an empty
//!   slice or a full queue. Nothing is enqueued.
//! - Every receive needs room for a whole record: a buffer shorter than
//!   `record_size` bytes, or a type or slice element of another size, is
//!   refused with `Size { len: record_size, .. }`, the record staying
//!   queued. A longer buffer receives one record (the length returned is
//!   `record_size`).
//! - [`Sender::try_send_slice`] and the other slice sends publish the prefix
//!   that fits with **one** store: a receiver sees that prefix whole or not
//!   at all. A slice longer than the free room is split across calls, so a
//!   sender that needs a batch to appear whole sends it when
//!   `capacity() - len()` records are free (room only grows until it sends).
//! - [`io::Write`](std::io::Write): each `write` sends one record, the first
//!   `record_size` bytes of the buffer, and returns `record_size` (a short
//!   write), so `write_all` of whole records sends them all. A `write` of
//!   fewer bytes (but at least one) is refused with `InvalidInput`,
//!   nothing sent: a partial record is never padded or buffered. So
//!   `write_all` of a buffer that ends in a partial record sends the whole
//!   records and then fails, and `write!` (which writes its pieces
//!   separately) fails unless every piece is a whole record. Wrap the
//!   sender in nothing that splits writes (a `BufWriter` flushes any length).
//! - [`io::Read`](std::io::Read): each `read` receives one record into a
//!   buffer of at least `record_size` bytes and returns `record_size`
//!   (`Ok(0)` at the end of the stream); a shorter buffer is `InvalidInput`,
//!   the record staying queued. `read_exact` into a whole number of records
//!   works; `read_to_end`, which offers buffers of its own sizes, may fail.
//! - [`Sender::try_send_records`] / [`Receiver::try_recv_records`] (and
//!   their waiting forms) are the slice calls for a record size known only
//!   at run time: whole records back to back in a byte buffer.
//! - The iterators ([`Receiver::try_iter`], [`Receiver::drain`],
//!   [`Receiver::iter`]) yield each record as a `Vec<u8>` of `record_size`
//!   bytes.
//! - [`Sender::stats`]: `enqueued` and `dequeued` are the published tail and
//!   head (records); `full` and `empty` count the attempts that found no room
//!   and those that found no record (every poll of a waiting call counts).
//!
//! ```
//! # let name = format!("shmq-doc-dense-{}", std::process::id());
//! use shmq::dense::{Config, Queue};
//! use std::time::Duration;
//! let q = Queue::create(&name, Config { capacity: 1024, record_size: 8 })?;
//! let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
//! assert_eq!(tx.try_send_slice(&[1u64, 2, 3]), Ok(3));
//! let mut out = [0u64; 16];
//! assert_eq!(rx.recv_slice(&mut out, Duration::from_secs(1)), Ok(3));
//! assert_eq!(out[..3], [1, 2, 3]);
//! assert!(tx.try_send(b"short").is_err()); // not 8 bytes
//! # Ok::<(), shmq::Error>(())
//! ```

use crate::kind::{self, private::Sealed, Kind};
use crate::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use shmq_core::dense::{Consumer, Producer};
use shmq_core::layout::{Geometry, LayoutError, QueueKind};
use shmq_core::region::Region;
use std::time::Duration;

pub use shmq_core::dense::Stats;

/// The dense fixed-size-record kind (a marker type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense;

crate::kind::kind_aliases!(Dense, "dense", "dense", "the only one", "the only one");

impl Sender {
    /// Enqueues a prefix of the whole records in `records` (its length a
    /// multiple of the record size: records back to back) if there is room,
    /// published with one store; returns how many **records**. For a record
    /// size known only at run time; with a type, [`Sender::try_send_slice`]
    /// is the same call.
    ///
    /// # Errors
    /// [`TrySendError::WrongSize`] if `records.len()` is not a multiple of
    /// the record size (nothing is enqueued); `Full` if not one record fits;
    /// `Disconnected`; `Poisoned`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-dense-records-{}", std::process::id());
    /// use shmq::dense::{Config, Queue};
    /// let q = Queue::create(&name, Config { capacity: 4, record_size: 3 })?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// assert_eq!(tx.try_send_records(b"abcdef"), Ok(2));
    /// assert!(tx.try_send_records(b"abcd").is_err()); // not whole records
    /// let mut buf = [0u8; 7];
    /// assert_eq!(rx.try_recv_records(&mut buf), Ok(2)); // room for two
    /// assert_eq!(&buf[..6], b"abcdef");
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn try_send_records(&mut self, records: &[u8]) -> Result<usize, TrySendError> {
        self.try_op(|c| c.push_records(records))
    }

    /// As [`Sender::try_send_records`], waiting up to `timeout` for room for
    /// at least one record ([`crate::Sender::send`]'s rules).
    ///
    /// # Errors
    /// As [`crate::Sender::send`]; `WrongSize` as above.
    ///
    /// ```
    /// # let name = format!("shmq-doc-dense-sendrecords-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::dense::Queue::create(&name, shmq::dense::Config { capacity: 4, record_size: 2 })?;
    /// let mut tx = q.sender()?;
    /// assert_eq!(tx.send_records(b"aabbcc", Duration::from_secs(1)), Ok(3));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn send_records(
        &mut self,
        records: &[u8],
        timeout: Duration,
    ) -> Result<usize, SendTimeoutError> {
        self.wait_op(timeout, |c| c.push_records(records))
    }
}

impl Receiver {
    /// Dequeues as many records as `buf` holds whole (`buf.len() /
    /// record_size`), back to back from its start, if any is queued; returns
    /// how many **records**. Bytes past them are untouched.
    ///
    /// # Errors
    /// [`TryRecvError::Size`] if `buf` is non-empty and shorter than a
    /// record; `Empty`; `Disconnected`; `Poisoned`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-dense-tryrecvrecords-{}", std::process::id());
    /// let q = shmq::dense::Queue::create(&name, shmq::dense::Config { capacity: 4, record_size: 2 })?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_records(b"xy")?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(rx.try_recv_records(&mut buf), Ok(1));
    /// assert_eq!(&buf[..2], b"xy");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_recv_records(&mut self, buf: &mut [u8]) -> Result<usize, TryRecvError> {
        self.try_op(|c| c.pop_records(buf))
    }

    /// As [`Receiver::try_recv_records`], waiting up to `timeout` for a
    /// record ([`crate::Receiver::recv`]'s rules).
    ///
    /// # Errors
    /// As [`crate::Receiver::recv`]; `Size` as above.
    ///
    /// ```
    /// # let name = format!("shmq-doc-dense-recvrecords-{}", std::process::id());
    /// use std::time::Duration;
    /// let q = shmq::dense::Queue::create(&name, shmq::dense::Config { capacity: 4, record_size: 2 })?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// tx.try_send_records(b"xyzw")?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(rx.recv_records(&mut buf, Duration::from_secs(1)), Ok(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_records(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, RecvTimeoutError> {
        self.wait_op(timeout, |c| c.pop_records(buf))
    }
}

/// Geometry of a new dense queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of records: a power of two in `2..=2^24`.
    pub capacity: u32,
    /// Size of every message in bytes, `1..=2^24` (each takes this rounded
    /// up to a multiple of 8 in the ring).
    pub record_size: u32,
}

impl Default for Config {
    /// 4096 records of 8 bytes (a `u64`).
    fn default() -> Self {
        Config {
            capacity: 4096,
            record_size: 8,
        }
    }
}

crate::kind::config_fields!(Config, capacity, record_size);

impl Kind for Dense {
    type Config = Config;
    type Stats = Stats;
}

#[allow(private_interfaces)]
impl Sealed for Dense {
    crate::kind::role_locked_ends!(Producer, Consumer);
    const KIND: QueueKind = QueueKind::Dense;

    fn geometry(c: &Config) -> Result<Geometry, LayoutError> {
        Geometry::new_dense(c.capacity, c.record_size)
    }
    fn stats(region: &Region) -> Stats {
        Stats::read(region)
    }
    fn len(region: &Region) -> usize {
        let s = Stats::read(region);
        kind::queued(s.enqueued, s.dequeued, region.geometry().capacity())
    }
}
