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
//!   [`TrySendError::WrongSize`](crate::TrySendError::WrongSize)
//!   ([`SendTimeoutError::WrongSize`](crate::SendTimeoutError::WrongSize)).
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
use shmq_core::dense::{Consumer, Producer};
use shmq_core::layout::{Geometry, LayoutError, QueueKind};
use shmq_core::region::Region;

pub use shmq_core::dense::Stats;

/// The dense fixed-size-record kind (a marker type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense;

crate::kind::kind_aliases!(Dense, "dense", "dense", "the only one", "the only one");

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
