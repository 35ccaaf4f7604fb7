//! Lock-free queues in shared memory between processes that do not trust each other.
//!
//! A queue lives in a named file in `/dev/shm`, created mode `0600` by one
//! process and opened by others of the same user. [`spsc::Queue`] is a
//! bounded single-producer single-consumer ring: a send to a full queue fails
//! or waits (never overwrites), a receive from an empty one fails or waits,
//! every wait is bounded by a timeout, and messages arrive exactly once and in
//! order while both ends live. Roles are kernel locks, so a crashed endpoint's
//! role can be taken over and the survivor learns that its peer is gone
//! ([`TryRecvError::Disconnected`]); see [`spsc`] for the exact rules,
//! including what a crash can redeliver or drop.
//!
//! The peer is untrusted: whatever it writes into the shared region, this
//! process sees only typed errors, never undefined behaviour, a panic or an
//! unbounded wait. The one exception is a peer of the same user truncating the
//! file, which raises `SIGBUS` (see [`spsc`]).
//!
//! ```
//! use std::time::Duration;
//! use shmq::spsc::{Config, Queue};
//!
//! # let name = format!("shmq-doc-{}", std::process::id());
//! // Process A creates the queue (its name is removed when `q` and its
//! // endpoints are dropped) ...
//! let q = Queue::create(&name, Config { capacity: 1024, slot_size: 64 })?;
//! let mut tx = q.sender()?;
//! // ... process B opens it by name.
//! let mut rx = Queue::open(&name)?.receiver()?;
//!
//! tx.try_send(b"hello").unwrap();
//! tx.send_value(&42u64, Duration::from_secs(1)).unwrap();
//!
//! let mut buf = [0u8; 64];
//! let n = rx.recv(&mut buf, Duration::from_secs(1)).unwrap();
//! assert_eq!(&buf[..n], b"hello");
//! assert_eq!(rx.try_recv_value::<u64>(), Ok(42));
//!
//! drop(tx); // the producer closes: the receiver drains, then is told so
//! assert_eq!(rx.try_recv(&mut buf), Err(shmq::TryRecvError::Disconnected));
//! # Ok::<(), shmq::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod admin;
mod error;
pub mod mpmc;
mod os;
mod region;
pub mod spsc;
mod wait;
mod waiter;

pub use error::{Error, RecvTimeoutError, Role, SendTimeoutError, TryRecvError, TrySendError};
pub use shmq_core::layout::{EndpointState, LayoutError};
pub use shmq_core::spsc::{Stats, Violation};
pub use shmq_core::wait::WaitStats;
pub use wait::{WaitMode, DEFAULT_SPIN, PARK_SLICE};
