//! Error types: one for setting a queue up ([`Error`]) and one per operation.

use shmq_core::layout::LayoutError;
use shmq_core::spsc::Violation;
use std::fmt;
use std::io;
use std::time::Duration;

/// An endpoint role of a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The single producer ([`crate::spsc::Sender`]).
    Producer,
    /// The single consumer ([`crate::spsc::Receiver`]).
    Consumer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Producer => "producer",
            Role::Consumer => "consumer",
        })
    }
}

/// Why a queue could not be created, opened or an endpoint taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed (e.g. `NotFound` when opening a name that does not
    /// exist, `AlreadyExists` when creating one that does).
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The name is not 1 to 200 characters of `[A-Za-z0-9._-]` not starting with `.`.
    #[error("invalid queue name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The region's header (or the requested geometry) is invalid.
    #[error("invalid region: {0}")]
    Layout(#[from] LayoutError),
    /// The creator did not finish initialising the region within the bound.
    #[error("region not initialised within {waited:?}")]
    NotReady {
        /// How long `open` waited.
        waited: Duration,
    },
    /// The backing file is not owned by this user, grants any permission to
    /// group or others, or has the setuid, setgid or sticky bit: a region file
    /// must be owner-only (created `0600`).
    #[error("region file has owner uid {owner} and mode {mode:#o}; expected uid {expected}, no group/other permission and no setuid/setgid/sticky bit")]
    Permissions {
        /// Owner uid of the file.
        owner: u32,
        /// Mode bits of the file.
        mode: u32,
        /// The effective uid of this process.
        expected: u32,
    },
    /// The name refers to a symbolic link, directory, FIFO, socket or other
    /// non-regular file (which is never opened for reading or writing).
    #[error("region is not a regular file")]
    NotRegularFile,
    /// Opening the backing file would block: another process holds a lease
    /// (`F_SETLEASE`) on it and did not give it up within the ready timeout.
    /// `open` never waits for a lease break (which the kernel lets last
    /// `/proc/sys/fs/lease-break-time`, 45 s by default).
    #[error("region file is leased by another process; gave up after {waited:?}")]
    Busy {
        /// How long `open` retried.
        waited: Duration,
    },
    /// A file descriptor handed over as a sealed region lacks a seal it must
    /// have: `F_SEAL_SHRINK`, `F_SEAL_GROW` and `F_SEAL_SEAL` (see
    /// [`crate::anonymous`]).
    #[error("region file descriptor is not sealed against resizing (seals {seals:#x})")]
    Unsealed {
        /// The seals it has (`F_GET_SEALS`; 0 if it cannot have any).
        seals: u32,
    },
    /// Another endpoint (in this or another process) holds the role.
    #[error("the {0} role is taken")]
    RoleTaken(Role),
    /// Every entry of an MPMC queue's endpoint table is in use (or holds the
    /// unrepaired claim of a dead endpoint).
    #[error("all {max} endpoint-table entries are in use")]
    TableFull {
        /// Entries in the table.
        max: u32,
    },
    /// The region's cursors and stamps describe no state an honest queue can be in.
    #[error("region state is inconsistent: {0}")]
    Violation(Violation),
}

/// Why [`crate::spsc::Sender::try_send`] enqueued nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrySendError {
    /// No free slot, and the consumer is attached, or has never attached.
    #[error("queue is full")]
    Full,
    /// The message is longer than a slot.
    #[error("message of {len} bytes exceeds the slot size of {max}")]
    TooLarge {
        /// Length of the message.
        len: usize,
        /// The slot size.
        max: usize,
    },
    /// No free slot, and the consumer closed its end or died.
    #[error("queue is full and the consumer is gone")]
    Disconnected,
    /// The queue is poisoned: the peer wrote an impossible state.
    #[error("queue is poisoned: {0}")]
    Poisoned(Violation),
}

/// Why [`crate::spsc::Sender::send`] enqueued nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendTimeoutError {
    /// The queue stayed full (with a live consumer) until the timeout.
    #[error("timed out waiting for a free slot")]
    Timeout,
    /// The message is longer than a slot.
    #[error("message of {len} bytes exceeds the slot size of {max}")]
    TooLarge {
        /// Length of the message.
        len: usize,
        /// The slot size.
        max: usize,
    },
    /// The queue is full and the consumer closed its end or died.
    #[error("queue is full and the consumer is gone")]
    Disconnected,
    /// The queue is poisoned.
    #[error("queue is poisoned: {0}")]
    Poisoned(Violation),
}

/// Why [`crate::spsc::Receiver::try_recv`] returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No committed message, and the producer is attached or has never attached.
    #[error("queue is empty")]
    Empty,
    /// The queue is drained and the producer closed its end or died.
    #[error("queue is empty and the producer is gone")]
    Disconnected,
    /// The next message does not fit the buffer (or is not the size of the
    /// requested type); it stays queued.
    #[error("message of {len} bytes does not fit {capacity} bytes")]
    Size {
        /// Length of the message.
        len: usize,
        /// Bytes offered (or the size of the requested type).
        capacity: usize,
    },
    /// The queue is poisoned.
    #[error("queue is poisoned: {0}")]
    Poisoned(Violation),
}

/// Why [`crate::spsc::Receiver::recv`] returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// No message arrived (from a live producer) before the timeout.
    #[error("timed out waiting for a message")]
    Timeout,
    /// The queue is drained and the producer closed its end or died.
    #[error("queue is empty and the producer is gone")]
    Disconnected,
    /// The next message does not fit the buffer; it stays queued.
    #[error("message of {len} bytes does not fit {capacity} bytes")]
    Size {
        /// Length of the message.
        len: usize,
        /// Bytes offered (or the size of the requested type).
        capacity: usize,
    },
    /// The queue is poisoned.
    #[error("queue is poisoned: {0}")]
    Poisoned(Violation),
}

impl From<TrySendError> for SendTimeoutError {
    fn from(e: TrySendError) -> Self {
        match e {
            TrySendError::Full => SendTimeoutError::Timeout,
            TrySendError::TooLarge { len, max } => SendTimeoutError::TooLarge { len, max },
            TrySendError::Disconnected => SendTimeoutError::Disconnected,
            TrySendError::Poisoned(v) => SendTimeoutError::Poisoned(v),
        }
    }
}

impl From<TryRecvError> for RecvTimeoutError {
    fn from(e: TryRecvError) -> Self {
        match e {
            TryRecvError::Empty => RecvTimeoutError::Timeout,
            TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            TryRecvError::Size { len, capacity } => RecvTimeoutError::Size { len, capacity },
            TryRecvError::Poisoned(v) => RecvTimeoutError::Poisoned(v),
        }
    }
}
