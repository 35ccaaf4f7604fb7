//! What distinguishes one queue kind from another, as the generic
//! [`Queue`](crate::Queue), [`Sender`](crate::Sender) and
//! [`Receiver`](crate::Receiver) see it.
//!
//! Everything else — creating and opening regions, the role locks, the
//! waiting loop, the close path, the errors — is written once for all kinds.
//! A new kind implements [`Kind`] (sealed: only this crate can) for a marker
//! type and gets the whole endpoint API by construction.

use crate::error::Error;
use crate::region::Mapping;
use shmq_core::endpoint::{RecvEnd, SendEnd};
use shmq_core::layout::{Geometry, LayoutError, QueueKind};
use shmq_core::region::Region;
use shmq_core::wait::Lines;
use std::fmt::Debug;
use std::sync::Arc;

/// A queue kind: [`Spsc`](crate::spsc::Spsc) or [`Mpmc`](crate::mpmc::Mpmc).
///
/// Sealed: the methods are the crate's own (hidden from the docs).
pub trait Kind: private::Sealed + Debug + Send + Sync + Sized + 'static {
    /// The geometry of a new queue of this kind ([`crate::spsc::Config`],
    /// [`crate::mpmc::Config`]).
    type Config: Clone + Copy + Debug + Default + PartialEq + Eq + Send + Sync;
    /// A snapshot of the queue's counters ([`crate::spsc::Stats`],
    /// [`crate::mpmc::Stats`]).
    type Stats: Clone + Copy + Debug + PartialEq + Send + Sync;
}

pub(crate) mod private {
    use super::*;

    /// The crate-internal half of [`Kind`].
    #[allow(private_interfaces)]
    pub trait Sealed {
        /// The core's sending end.
        type Producer: SendEnd + Debug + Send + Sync;
        /// The core's receiving end.
        type Consumer: RecvEnd + Debug + Send + Sync;
        /// What an endpoint holds to keep its role or table entry.
        type Guard: Debug + Send + Sync;
        /// The kind recorded in the header.
        const KIND: QueueKind;
        /// The sender's lines (what it notifies, where it parks).
        const SENDER_LINES: Lines;
        /// The receiver's lines.
        const RECEIVER_LINES: Lines;

        /// The geometry of a new queue.
        fn geometry(config: &<Self as Kind>::Config) -> Result<Geometry, LayoutError>
        where
            Self: Kind;
        /// Sets the capacity of a configuration.
        fn set_capacity(config: &mut <Self as Kind>::Config, capacity: u32)
        where
            Self: Kind;
        /// Sets the slot size of a configuration.
        fn set_slot_size(config: &mut <Self as Kind>::Config, slot_size: u32)
        where
            Self: Kind;
        /// Reads the counters.
        fn stats(region: &Region) -> <Self as Kind>::Stats
        where
            Self: Kind;
        /// Messages queued (or claimed), a snapshot clamped to the capacity.
        fn len(region: &Region) -> usize;
        /// Takes the sending role (or a table entry) and attaches.
        fn attach_sender(mapping: &Arc<Mapping>) -> Result<(Self::Producer, Self::Guard), Error>;
        /// Takes the receiving role (or a table entry) and attaches.
        fn attach_receiver(mapping: &Arc<Mapping>) -> Result<(Self::Consumer, Self::Guard), Error>;
        /// Releases the role or entry now (idempotent; the guard's drop does
        /// it too, and keeps the mapping alive until then).
        fn release(guard: &mut Self::Guard);
        /// Whether a live sender (`sender`) or receiver (`!sender`) is
        /// attached now: lock checks, a snapshot.
        fn alive(mapping: &Arc<Mapping>, sender: bool) -> bool;
        /// Whether every receiver is gone, seen from a sender; `due`: whether
        /// lock checks (system calls) are allowed now.
        fn receivers_gone(core: &Self::Producer, guard: &Self::Guard, due: bool) -> bool;
        /// Whether every sender is gone, seen from a receiver.
        fn senders_gone(core: &Self::Consumer, guard: &Self::Guard, due: bool) -> bool;
    }
}

/// Messages between `head` and `tail`, clamped to `0..=capacity` (peers
/// write both words: a snapshot, never used for a decision).
pub(crate) fn queued(tail: shmq_core::Index, head: shmq_core::Index, capacity: u32) -> usize {
    let n = tail.wrapping_sub(head);
    n.min(capacity as shmq_core::Index) as usize
}

/// The per-kind names: `Queue`, `Builder`, `Sender`, `Receiver` aliases of
/// the generic types, and `remove`.
macro_rules! kind_aliases {
    ($kind:ident, $mod:literal, $what:literal, $sender:literal, $receiver:literal) => {
        #[doc = concat!("A handle to a named ", $what, " queue; see [`crate::Queue`].")]
        pub type Queue = crate::Queue<$kind>;
        #[doc = concat!("Options for creating or opening an ", $what, " queue; see [`crate::Builder`].")]
        pub type Builder = crate::Builder<$kind>;
        #[doc = concat!("The producer end of an ", $what, " queue (", $sender, "); see [`crate::Sender`].")]
        pub type Sender = crate::Sender<$kind>;
        #[doc = concat!("The consumer end of an ", $what, " queue (", $receiver, "); see [`crate::Receiver`].")]
        pub type Receiver = crate::Receiver<$kind>;

        /// Removes the queue `name` from `/dev/shm` (a region of any kind;
        /// see [`crate::Queue::remove`]).
        ///
        /// # Errors
        /// [`Error::InvalidName`](crate::Error::InvalidName);
        /// [`Error::Io`](crate::Error::Io) (`NotFound` if there is no such queue).
        ///
        /// ```
        /// # let name = format!("shmq-doc-kind-remove-{}", std::process::id());
        #[doc = concat!("let q = shmq::", $mod, "::Queue::builder(&name).persist(true).create()?;")]
        #[doc = concat!("shmq::", $mod, "::remove(&name)?;")]
        /// # Ok::<(), shmq::Error>(())
        /// ```
        pub fn remove(name: &str) -> Result<(), crate::Error> {
            Queue::remove(name)
        }
    };
}
pub(crate) use kind_aliases;
