//! Errors of the SPSC endpoints.

use crate::sync::Index;
use core::fmt;

/// A state of the shared region that an honest peer cannot produce.
///
/// Exhaustive on purpose (as [`PushError`] and [`PopError`]): the platform
/// crate maps every variant, so a new one must fail to compile there.
///
/// Detecting one poisons the endpoint: every later call returns the same
/// violation. Nothing is read from or written to a slot after that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The stamp at the consumer's position was neither "full" nor "empty".
    Stamp {
        /// Our position.
        position: Index,
        /// The stamp found.
        found: u32,
    },
    /// A slot's length word exceeded the slot size.
    Length {
        /// Our position.
        position: Index,
        /// The length found.
        found: u32,
    },
    /// The consumer's published head is outside `[last seen head, our tail]`.
    Head {
        /// The head found.
        found: Index,
        /// Our tail.
        tail: Index,
    },
    /// Dense ring: the producer's published tail is outside
    /// `[last seen tail, our head + capacity]`.
    Tail {
        /// The tail found.
        found: Index,
        /// Our head.
        head: Index,
    },
    /// On attach, the published cursors do not describe a possible ring state.
    Cursors {
        /// Published head.
        head: Index,
        /// Published (or recovered) tail.
        tail: Index,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::Stamp { position, found } => {
                write!(f, "impossible stamp {found:#x} at position {position}")
            }
            Violation::Length { position, found } => {
                write!(
                    f,
                    "length {found} exceeds the slot size at position {position}"
                )
            }
            Violation::Head { found, tail } => {
                write!(f, "consumer head {found} is outside the ring (tail {tail})")
            }
            Violation::Tail { found, head } => {
                write!(f, "producer tail {found} is outside the ring (head {head})")
            }
            Violation::Cursors { head, tail } => {
                write!(
                    f,
                    "inconsistent cursors on attach (head {head}, tail {tail})"
                )
            }
        }
    }
}

impl core::error::Error for Violation {}

/// Why a push did not enqueue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// No free slot; nothing was written.
    Full,
    /// The message is longer than the slot size; nothing was written.
    TooLarge {
        /// Length of the message.
        len: usize,
        /// The slot size.
        max: usize,
    },
    /// Dense ring: the message is not exactly one record long; nothing
    /// was written.
    WrongSize {
        /// Length of the message.
        len: usize,
        /// The record size.
        size: usize,
    },
    /// The queue is poisoned.
    Poisoned(Violation),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full => f.write_str("queue is full"),
            PushError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the slot size of {max}")
            }
            PushError::WrongSize { len, size } => {
                write!(f, "{len} bytes are not whole records of {size} bytes")
            }
            PushError::Poisoned(v) => write!(f, "queue is poisoned: {v}"),
        }
    }
}

impl core::error::Error for PushError {}

/// Why a pop returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopError {
    /// No committed message; nothing was consumed.
    Empty,
    /// The next message does not fit the buffer (or is not the size of the
    /// requested type); it stays in the queue.
    Size {
        /// Length of the message.
        len: usize,
        /// Bytes the caller offered (or the size of the requested type).
        capacity: usize,
    },
    /// The queue is poisoned.
    Poisoned(Violation),
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopError::Empty => f.write_str("queue is empty"),
            PopError::Size { len, capacity } => {
                write!(f, "message of {len} bytes does not fit {capacity} bytes")
            }
            PopError::Poisoned(v) => write!(f, "queue is poisoned: {v}"),
        }
    }
}

impl core::error::Error for PopError {}
