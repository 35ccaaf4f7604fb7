//! The two endpoint traits every queue kind implements: one [`SendEnd`] and
//! one [`RecvEnd`] per kind, so the platform crate writes its `Sender` and
//! `Receiver` (and their waiting loop, [`crate::wait::wait`]) once for all
//! kinds.
//!
//! The methods delegate to each kind's inherent methods, which document the
//! exact semantics (what a full/empty ring, a too-long message or a
//! poisoned region gives).

use crate::bytes;
use crate::dense;
use crate::mpmc::{self, Peers};
use crate::region::Region;
use crate::spsc::{self, PopError, PushError, Violation};
use bytemuck::{NoUninit, Pod};

/// The sending end of a queue kind.
pub trait SendEnd {
    /// The shared region.
    fn region(&self) -> &Region;
    /// The violation that poisoned this end, if any.
    fn poisoned(&self) -> Option<Violation>;
    /// Enqueues `msg` (`0..=slot_size` bytes) if there is room.
    ///
    /// # Errors
    /// `Full`, `TooLarge`, `Poisoned`; nothing is enqueued.
    fn try_push(&mut self, msg: &[u8]) -> Result<(), PushError>;
    /// Enqueues the bytes of `value` as one message.
    ///
    /// # Errors
    /// As [`SendEnd::try_push`].
    fn try_push_value<T: NoUninit>(&mut self, value: &T) -> Result<(), PushError>;
    /// Enqueues a prefix of `items`, one message each, published together;
    /// returns how many (`Ok(0)` only for an empty slice).
    ///
    /// # Errors
    /// As [`SendEnd::try_push`] when not one item fits.
    fn push_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, PushError>;
    /// Makes the next operation exact: `Full` then means no slot was free
    /// (an end with adaptive batching, [`spsc::Pacing::Throughput`], may
    /// otherwise report `Full` while fewer than a batch are free). The
    /// waiting loop calls it before concluding anything from `Full`. By
    /// default nothing: every operation is exact.
    #[inline]
    fn exact(&mut self) {}
}

/// The receiving end of a queue kind.
pub trait RecvEnd {
    /// The shared region.
    fn region(&self) -> &Region;
    /// The violation that poisoned this end, if any.
    fn poisoned(&self) -> Option<Violation>;
    /// Dequeues one message into `buf`, returning its length.
    ///
    /// # Errors
    /// `Empty`, `Size` (the message stays queued), `Poisoned`.
    fn try_pop(&mut self, buf: &mut [u8]) -> Result<usize, PopError>;
    /// Dequeues one message of exactly `size_of::<T>()` bytes as a `T`.
    ///
    /// # Errors
    /// As [`RecvEnd::try_pop`]; `Size` for another length.
    fn try_pop_value<T: Pod>(&mut self) -> Result<T, PopError>;
    /// Dequeues up to `out.len()` messages of `size_of::<T>()` bytes each;
    /// returns how many (`Ok(0)` only for an empty `out`).
    ///
    /// # Errors
    /// As [`RecvEnd::try_pop`] when none could be taken.
    fn pop_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, PopError>;
    /// Makes the next operation exact: `Empty` then means no message was
    /// published at this end's position (see [`SendEnd::exact`]). By
    /// default nothing: every operation is exact.
    #[inline]
    fn exact(&mut self) {}
}

/// Implements [`SendEnd`] by delegating to the kind's inherent methods.
macro_rules! send_end {
    ($ty:ty $(, $p:ident)? $(; $($extra:item)*)?) => {
        impl$(<$p: Peers>)? SendEnd for $ty {
            #[inline]
            fn region(&self) -> &Region {
                <$ty>::region(self)
            }
            #[inline]
            fn poisoned(&self) -> Option<Violation> {
                <$ty>::poisoned(self)
            }
            #[inline]
            fn try_push(&mut self, msg: &[u8]) -> Result<(), PushError> {
                <$ty>::try_push(self, msg)
            }
            #[inline]
            fn try_push_value<T: NoUninit>(&mut self, value: &T) -> Result<(), PushError> {
                <$ty>::try_push_value(self, value)
            }
            #[inline]
            fn push_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, PushError> {
                <$ty>::push_slice(self, items)
            }
            $($($extra)*)?
        }
    };
}

/// Implements [`RecvEnd`] by delegating to the kind's inherent methods.
macro_rules! recv_end {
    ($ty:ty $(, $p:ident)? $(; $($extra:item)*)?) => {
        impl$(<$p: Peers>)? RecvEnd for $ty {
            #[inline]
            fn region(&self) -> &Region {
                <$ty>::region(self)
            }
            #[inline]
            fn poisoned(&self) -> Option<Violation> {
                <$ty>::poisoned(self)
            }
            #[inline]
            fn try_pop(&mut self, buf: &mut [u8]) -> Result<usize, PopError> {
                <$ty>::try_pop(self, buf)
            }
            #[inline]
            fn try_pop_value<T: Pod>(&mut self) -> Result<T, PopError> {
                <$ty>::try_pop_value(self)
            }
            #[inline]
            fn pop_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, PopError> {
                <$ty>::pop_slice(self, out)
            }
            $($($extra)*)?
        }
    };
}

send_end!(spsc::Producer;
    #[inline]
    fn exact(&mut self) {
        spsc::Producer::exact(self)
    }
);
recv_end!(spsc::Consumer;
    #[inline]
    fn exact(&mut self) {
        spsc::Consumer::exact(self)
    }
);
send_end!(mpmc::Producer<P>, P);
recv_end!(mpmc::Consumer<P>, P);
send_end!(bytes::Producer);
send_end!(dense::Producer);
recv_end!(dense::Consumer);
recv_end!(bytes::Consumer);
