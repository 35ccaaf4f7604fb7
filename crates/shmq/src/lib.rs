//! Lock-free queues in shared memory between processes that do not trust each other.
//!
//! A queue lives in a region of shared memory: a named file in `/dev/shm`
//! (created mode `0600`, opened by others of the same user) or a sealed
//! anonymous memfd handed to a peer over a Unix socket ([`anonymous`], the
//! recommended mode between untrusted processes). Four kinds share one API:
//! - [`spsc`]: a bounded single-producer single-consumer ring;
//! - [`mpmc`]: a bounded multi-producer multi-consumer ring whose endpoints
//!   survive each other's crashes (each message goes to exactly one receiver);
//! - [`bytes`]: a single-producer single-consumer ring of variable-length byte
//!   records with zero-copy loans (write a message in place, read it in
//!   place);
//! - [`dense`]: a single-producer single-consumer ring of fixed-size records
//!   back to back, whose batch calls publish a whole batch at once: the
//!   fastest path for streams of small plain-data values.
//!
//! `docs/design.md` says when to use which.
//!
//! [`Queue<K>`](Queue) is the handle; [`Sender<K>`](Sender) and
//! [`Receiver<K>`](Receiver) the endpoints taken from it. A send to a full
//! queue fails or waits (never overwrites), a receive from an empty one fails
//! or waits ([`WaitMode`]: spin, yield, then park on a futex), every wait is
//! bounded by its timeout, and messages arrive exactly once and in order (per
//! sender) while the endpoints live. Roles are kernel locks, so a crashed
//! endpoint's role can be taken over and the survivors learn that their peers
//! are gone ([`TryRecvError::Disconnected`]); see [`spsc`] and [`mpmc`] for
//! the exact rules, including what a crash can redeliver or drop.
//!
//! The peer is untrusted: whatever it writes into the shared region, this
//! process sees only typed errors, never undefined behaviour, a panic or an
//! unbounded wait. The one exception is a peer of the same user truncating a
//! named region's file, which raises `SIGBUS`; sealed anonymous regions
//! cannot be truncated (see `docs/guarantees.md`).
//!
//! `Sender` and `Receiver` are `Send` and `Sync` for every kind.
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
//! drop(tx); // the sender closes: the receiver drains, then is told so
//! assert_eq!(rx.try_recv(&mut buf), Err(shmq::TryRecvError::Disconnected));
//! # Ok::<(), shmq::Error>(())
//! ```
//!
//! The same with many senders and receivers:
//!
//! ```
//! # let name = format!("shmq-doc-mpmc-{}", std::process::id());
//! use std::time::Duration;
//! let q = shmq::mpmc::Queue::create(&name, Default::default())?;
//! let (mut a, mut b) = (q.sender()?, q.sender()?);
//! let mut rx = q.receiver()?;
//! a.try_send(b"from a").unwrap();
//! b.try_send(b"from b").unwrap();
//! assert_eq!(rx.try_iter().count(), 2);
//! # Ok::<(), shmq::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod admin;
pub mod anonymous;
pub mod bytes;
pub mod dense;
mod endpoint;
mod error;
mod kind;
pub mod mpmc;
mod os;
mod park;
mod queue;
mod region;
pub mod spsc;

pub use endpoint::{Iter, Receiver, Sender, TryIter};
pub use error::{
    Error, RecvTimeoutError, Role, SendTimeoutError, TryRecvError, TrySendError, Violation,
};
pub use kind::Kind;
pub use queue::{Builder, Queue, DEFAULT_READY_TIMEOUT};
pub use shmq_core::layout::{EndpointState, LayoutError};
pub use shmq_core::wait::{WaitMode, WaitStats, DEFAULT_SPIN, PARK_SLICE};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Static checks: the endpoints are `Send + Sync` for every kind.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Sender<spsc::Spsc>>();
    send_sync::<Receiver<spsc::Spsc>>();
    send_sync::<Sender<mpmc::Mpmc>>();
    send_sync::<Receiver<mpmc::Mpmc>>();
    send_sync::<Queue<spsc::Spsc>>();
    send_sync::<Queue<mpmc::Mpmc>>();
};
