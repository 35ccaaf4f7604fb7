//! Error types: one for setting a queue up ([`Error`]) and one per operation.

use shmq_core::layout::LayoutError;
use std::fmt;
use std::io;
use std::time::Duration;

/// An endpoint role of a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The sending role (SPSC: the single [`Sender`](crate::Sender)).
    Sender,
    /// The receiving role (SPSC: the single [`Receiver`](crate::Receiver)).
    Receiver,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Sender => "sender",
            Role::Receiver => "receiver",
        })
    }
}

/// A state of the shared region that an honest peer cannot produce.
///
/// Detecting one poisons the endpoint: every later call returns the same
/// violation, and nothing is read from or written to a slot after that.
/// Positions are the endpoint's own (private) message counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A slot's stamp (or MPMC sequence word) held a value no honest peer
    /// writes at that position.
    #[error("impossible stamp {found:#x} at position {position}")]
    Stamp {
        /// The position of the slot.
        position: u64,
        /// The stamp found.
        found: u32,
    },
    /// A slot's length word exceeded the slot size.
    #[error("length {found} exceeds the slot size at position {position}")]
    Length {
        /// The position of the slot.
        position: u64,
        /// The length found.
        found: u32,
    },
    /// Single-receiver kinds (SPSC, bytes, dense): the receiver's published
    /// position is outside the ring, seen by the sender. (A sender's
    /// position outside the ring, seen by a dense receiver, is [`Violation::Tail`].)
    #[error("receiver position {found} is outside the ring (sender at {limit})")]
    Cursor {
        /// The position found.
        found: u64,
        /// This sender's position.
        limit: u64,
    },
    /// Dense rings: the sender's published position is outside the ring.
    #[error("sender position {found} is outside the ring (receiver at {limit})")]
    Tail {
        /// The position found.
        found: u64,
        /// This receiver's position.
        limit: u64,
    },
    /// On attach, the published positions describe no possible ring state.
    #[error("inconsistent positions on attach (head {head}, tail {tail})")]
    Cursors {
        /// Published receive position.
        head: u64,
        /// Published (or recovered) send position.
        tail: u64,
    },
}

impl From<shmq_core::spsc::Violation> for Violation {
    /// Exhaustive: a new core variant fails to compile here.
    // The core's index is `u32` on targets without 64-bit atomics.
    #[allow(clippy::useless_conversion)]
    fn from(v: shmq_core::spsc::Violation) -> Self {
        use shmq_core::spsc::Violation as V;
        match v {
            V::Stamp { position, found } => Violation::Stamp {
                position: position.into(),
                found,
            },
            V::Length { position, found } => Violation::Length {
                position: position.into(),
                found,
            },
            V::Head { found, tail } => Violation::Cursor {
                found: found.into(),
                limit: tail.into(),
            },
            V::Tail { found, head } => Violation::Tail {
                found: found.into(),
                limit: head.into(),
            },
            V::Cursors { head, tail } => Violation::Cursors {
                head: head.into(),
                tail: tail.into(),
            },
        }
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

/// Why [`Sender::try_send`](crate::Sender::try_send) enqueued nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrySendError {
    /// No free slot, and a receiver is attached, or none ever attached.
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
    /// Dense queues: the message is not exactly one record long.
    #[error("{len} bytes are not whole records of {size} bytes (a dense queue carries records of exactly that size)")]
    WrongSize {
        /// Length of the message.
        len: usize,
        /// The record size.
        size: usize,
    },
    /// No free slot, and every receiver closed its end or died.
    #[error("queue is full and every receiver is gone")]
    Disconnected,
    /// The queue is poisoned: the peer wrote an impossible state.
    #[error("queue is poisoned: {0}")]
    Poisoned(Violation),
}

/// Why [`Sender::send`](crate::Sender::send) enqueued nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendTimeoutError {
    /// The queue stayed full (with a live receiver) until the timeout.
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
    /// Dense queues: the message is not exactly one record long.
    #[error("{len} bytes are not whole records of {size} bytes (a dense queue carries records of exactly that size)")]
    WrongSize {
        /// Length of the message.
        len: usize,
        /// The record size.
        size: usize,
    },
    /// The queue is full and every receiver closed its end or died.
    #[error("queue is full and every receiver is gone")]
    Disconnected,
    /// The queue is poisoned.
    #[error("queue is poisoned: {0}")]
    Poisoned(Violation),
}

/// Why [`Receiver::try_recv`](crate::Receiver::try_recv) returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No committed message, and a sender is attached, or none ever attached.
    #[error("queue is empty")]
    Empty,
    /// The queue is drained and every sender closed its end or died.
    #[error("queue is empty and every sender is gone")]
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

/// Why [`Receiver::recv`](crate::Receiver::recv) returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// No message arrived (with a live sender) before the timeout.
    #[error("timed out waiting for a message")]
    Timeout,
    /// The queue is drained and every sender closed its end or died.
    #[error("queue is empty and every sender is gone")]
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
            TrySendError::WrongSize { len, size } => SendTimeoutError::WrongSize { len, size },
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

impl From<SendTimeoutError> for io::Error {
    /// `Timeout` is `TimedOut`, `Disconnected` `BrokenPipe`, `TooLarge` and
    /// `WrongSize` `InvalidInput`, `Poisoned` `InvalidData`.
    fn from(e: SendTimeoutError) -> Self {
        let kind = match e {
            SendTimeoutError::Timeout => io::ErrorKind::TimedOut,
            SendTimeoutError::Disconnected => io::ErrorKind::BrokenPipe,
            SendTimeoutError::TooLarge { .. } | SendTimeoutError::WrongSize { .. } => {
                io::ErrorKind::InvalidInput
            }
            SendTimeoutError::Poisoned(_) => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

impl From<RecvTimeoutError> for io::Error {
    /// `Timeout` is `TimedOut`, `Disconnected` `UnexpectedEof`, `Size`
    /// `InvalidInput`, `Poisoned` `InvalidData`.
    fn from(e: RecvTimeoutError) -> Self {
        let kind = match e {
            RecvTimeoutError::Timeout => io::ErrorKind::TimedOut,
            RecvTimeoutError::Disconnected => io::ErrorKind::UnexpectedEof,
            RecvTimeoutError::Size { .. } => io::ErrorKind::InvalidInput,
            RecvTimeoutError::Poisoned(_) => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}
