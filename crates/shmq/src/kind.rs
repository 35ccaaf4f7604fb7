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

/// A queue kind: [`Spsc`](crate::spsc::Spsc), [`Mpmc`](crate::mpmc::Mpmc),
/// [`Bytes`](crate::bytes::Bytes) or [`Dense`](crate::dense::Dense).
///
/// Sealed: the methods are the crate's own (hidden from the docs).
pub trait Kind: private::Sealed + Debug + Send + Sync + Sized + 'static {
    /// The geometry of a new queue of this kind ([`crate::spsc::Config`],
    /// [`crate::mpmc::Config`]).
    type Config: Clone + Copy + Debug + Default + PartialEq + Eq + Send + Sync + private::Fields;
    /// A snapshot of the queue's counters ([`crate::spsc::Stats`],
    /// [`crate::mpmc::Stats`]).
    type Stats: Clone + Copy + Debug + PartialEq + Send + Sync;
}

pub(crate) mod private {
    use super::*;

    /// The two geometry fields every configuration has (under its kind's
    /// names), for [`Builder::capacity`](crate::Builder::capacity) and
    /// [`Builder::slot_size`](crate::Builder::slot_size).
    pub trait Fields {
        /// The capacity field.
        fn capacity_mut(&mut self) -> &mut u32;
        /// The largest-message field.
        fn slot_size_mut(&mut self) -> &mut u32;
    }

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
        #[doc = concat!("Options for creating or opening a queue of kind ", $what, "; see [`crate::Builder`].")]
        pub type Builder = crate::Builder<$kind>;
        #[doc = concat!("The producer end of a queue of kind ", $what, " (", $sender, "); see [`crate::Sender`].")]
        pub type Sender = crate::Sender<$kind>;
        #[doc = concat!("The consumer end of a queue of kind ", $what, " (", $receiver, "); see [`crate::Receiver`].")]
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

/// Implements the private `Fields` of a configuration type.
macro_rules! config_fields {
    ($config:ty, $capacity:ident, $slot_size:ident) => {
        impl $crate::kind::private::Fields for $config {
            fn capacity_mut(&mut self) -> &mut u32 {
                &mut self.$capacity
            }
            fn slot_size_mut(&mut self) -> &mut u32 {
                &mut self.$slot_size
            }
        }
    };
}
pub(crate) use config_fields;

/// Whether a single-role peer whose state word reads `state` is gone.
/// `due`: whether a lock check is allowed now; `alive`: performs it.
///
/// The state word is a hint, the lock is the truth: `Closed` may be stale (a
/// new peer took the role, and its "attached" store or its first message is
/// not visible to us yet), so it is confirmed with the lock, without rate
/// limit (a clean close is rare and ends in `Disconnected` at once).
pub(crate) fn peer_gone(
    state: shmq_core::layout::EndpointState,
    due: bool,
    alive: impl FnOnce() -> bool,
) -> bool {
    use shmq_core::layout::EndpointState;
    match state {
        EndpointState::Never => false,
        EndpointState::Closed => !alive(),
        EndpointState::Attached | EndpointState::Invalid(_) => due && !alive(),
    }
}

/// The `Sealed` items of a kind with one sender role and one receiver role
/// (SPSC, bytes, dense): role locks, the SPSC wait lines, and the state-word rule
/// of [`peer_gone`]. `$producer`/`$consumer` have an unsafe
/// `attach(Region) -> Result<Self, Violation>` whose contract is "the only
/// producer/consumer of the region in this process", and
/// `consumer_state()`/`producer_state()`.
macro_rules! role_locked_ends {
    ($producer:ty, $consumer:ty) => {
        type Producer = $producer;
        type Consumer = $consumer;
        type Guard = $crate::region::RoleGuard;
        const SENDER_LINES: shmq_core::wait::Lines = shmq_core::wait::Lines::SPSC_SENDER;
        const RECEIVER_LINES: shmq_core::wait::Lines = shmq_core::wait::Lines::SPSC_RECEIVER;

        fn attach_sender(
            mapping: &std::sync::Arc<$crate::region::Mapping>,
        ) -> Result<($producer, $crate::region::RoleGuard), $crate::Error> {
            let guard = mapping.take_role($crate::Role::Sender)?;
            // SAFETY: the role guard taken just above is this process's only producer of the region (its role lock, taken on a description of its own, so the kernel excludes every other endpoint of any process, a forked child's included), so no other producer uses these bytes concurrently.
            let producer = unsafe { <$producer>::attach(guard.mapping().region()) }
                .map_err(|v| $crate::Error::Violation(v.into()))?;
            Ok((producer, guard))
        }

        fn attach_receiver(
            mapping: &std::sync::Arc<$crate::region::Mapping>,
        ) -> Result<($consumer, $crate::region::RoleGuard), $crate::Error> {
            let guard = mapping.take_role($crate::Role::Receiver)?;
            // SAFETY: as for the sender: the receiver role lock taken just above excludes every other consumer of the region, in any process.
            let consumer = unsafe { <$consumer>::attach(guard.mapping().region()) }
                .map_err(|v| $crate::Error::Violation(v.into()))?;
            Ok((consumer, guard))
        }

        fn release(guard: &mut $crate::region::RoleGuard) {
            guard.release();
        }

        fn alive(mapping: &std::sync::Arc<$crate::region::Mapping>, sender: bool) -> bool {
            let role = if sender {
                $crate::Role::Sender
            } else {
                $crate::Role::Receiver
            };
            mapping.role_alive(role)
        }

        /// The receiver is gone ([`peer_gone`](crate::kind::peer_gone)); it
        /// may have released slots just before, which the retry sees.
        fn receivers_gone(core: &$producer, guard: &$crate::region::RoleGuard, due: bool) -> bool {
            $crate::kind::peer_gone(core.consumer_state(), due, || guard.peer_alive())
        }

        /// The sender is gone. A message it committed just before closing
        /// (or dying) is visible to the retry: the state load is an Acquire
        /// that pairs with its Release store of "closed", and a lock release
        /// by the kernel orders like one.
        fn senders_gone(core: &$consumer, guard: &$crate::region::RoleGuard, due: bool) -> bool {
            $crate::kind::peer_gone(core.producer_state(), due, || guard.peer_alive())
        }
    };
}
pub(crate) use role_locked_ends;
