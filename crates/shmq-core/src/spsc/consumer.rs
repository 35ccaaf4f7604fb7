//! The reading end of the SPSC ring.

use super::{
    bump, empty_stamp, full_stamp, record_poison, stream_batch, Pacing, PopError, Violation,
};
use crate::layout::{offset, EndpointState};
use crate::region::Region;
use crate::sync::{Index, Ordering};
use bytemuck::Pod;
use core::mem::size_of;

/// The single consumer of an SPSC ring.
///
/// Holds its cursor privately; the `head` cell in the region is published for
/// the producer (free-space checks) and for a successor after a crash.
#[derive(Debug)]
pub struct Consumer {
    region: Region,
    /// Next position to read. Private.
    head: Index,
    /// Positions from `head` on that a probe found published (the run
    /// `head..head + ahead`, `0..=max_probe`). A prediction only: each slot
    /// is still validated when taken.
    ahead: Index,
    /// Adaptive probe distance, `1..=max_probe` (always 1 for [`Pacing::Latency`]).
    probe: Index,
    /// The distance after a message found at distance 1: 2, or 1 for
    /// [`Pacing::Latency`] (so the latency path stores without a branch).
    ramp: Index,
    /// Largest probe distance: 1, or [`stream_batch`] for [`Pacing::Throughput`].
    max_probe: Index,
    pacing: Pacing,
    capacity: u32,
    mask: usize,
    slot_size: usize,
    poisoned: Option<Violation>,
}

impl Consumer {
    /// Takes the consumer side of `region`, resuming at the published head.
    ///
    /// A predecessor that died after copying a message out but before
    /// publishing its head leaves that message to be delivered again: this is
    /// the one redelivery window (see `docs/guarantees.md`).
    ///
    /// # Errors
    /// [`Violation::Cursors`] if the stamp at the published head is neither
    /// full nor empty for that position; the violation is also counted in the
    /// region (sticky `poisoned` word, consumer poison counter).
    ///
    /// # Safety
    /// While the returned consumer is used, no other `Consumer` attached to
    /// the same bytes may be used concurrently by another thread of this
    /// process (both would publish heads and copy from the same slots; the
    /// producer would then overwrite a slot one of them is still copying, a
    /// data race). The platform crate guarantees it with the consumer role
    /// lock and a per-handle flag.
    pub unsafe fn attach(region: Region) -> Result<Self, Violation> {
        let capacity = region.geometry().capacity();
        let mask = capacity as usize - 1;
        let head = region.index(offset::HEAD).load(Ordering::Relaxed);
        // Acquire: pairs with the producer's Release store of the stamp.
        let stamp = region.stamp(head as usize & mask).load(Ordering::Acquire);
        if stamp != full_stamp(head) && stamp != empty_stamp(head, capacity) {
            record_poison(&region, offset::CONSUMER_POISON);
            let tail = region.index(offset::TAIL).load(Ordering::Relaxed);
            return Err(Violation::Cursors { head, tail });
        }
        region
            .word(offset::CONSUMER_STATE)
            .store(EndpointState::ATTACHED, Ordering::Relaxed);
        let slot_size = region.geometry().slot_size() as usize;
        Ok(Consumer {
            region,
            head,
            ahead: 0,
            probe: 1,
            ramp: 1,
            max_probe: 1,
            pacing: Pacing::Latency,
            capacity,
            mask,
            slot_size,
            poisoned: None,
        })
    }

    /// The region this consumer reads.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// The violation that poisoned this consumer, if any.
    pub fn poisoned(&self) -> Option<Violation> {
        self.poisoned
    }

    /// How this consumer paces itself (default [`Pacing::Latency`]).
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// Sets how this consumer paces itself (see the [module docs](super)).
    /// Private to this endpoint: the peer is unaffected.
    ///
    /// ```
    /// # use shmq_core::{layout::{Geometry, QueueKind}, testing::HeapRegion, spsc::{Consumer, Pacing, PopError, Producer}};
    /// let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, 64, 8).unwrap());
    /// // SAFETY: one producer and one consumer of this region (this test's).
    /// let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// rx.set_pacing(Pacing::Throughput);
    /// for i in 0..8u64 { tx.try_push_value(&i).unwrap(); }
    /// // The probe distance has grown past what is queued after a first batch:
    /// let mut got = Vec::new();
    /// while got.len() < 8 {
    ///     match rx.try_pop_value::<u64>() {
    ///         Ok(v) => got.push(v),
    ///         Err(PopError::Empty) => {} // soft: fewer than a batch queued
    ///         Err(e) => panic!("{e}"),
    ///     }
    /// }
    /// assert_eq!(got, (0..8).collect::<Vec<_>>());
    /// rx.exact(); // the next call is exact
    /// assert_eq!(rx.try_pop_value::<u64>(), Err(PopError::Empty));
    /// ```
    pub fn set_pacing(&mut self, pacing: Pacing) {
        self.pacing = pacing;
        self.max_probe = match pacing {
            Pacing::Latency => 1,
            Pacing::Throughput => stream_batch(self.region.geometry()),
        };
        self.ramp = self.max_probe.min(2);
        self.probe = self.probe.min(self.max_probe);
    }

    /// Makes the next call exact: it looks at this consumer's own position,
    /// so `Empty` then means no message was published there. The waiting
    /// loop calls it before parking and before the disconnection retry.
    #[inline]
    pub fn exact(&mut self) {
        self.probe = 1;
    }

    #[cold]
    #[inline(never)]
    fn poison(&mut self, v: Violation) -> PopError {
        self.poisoned = Some(v);
        record_poison(&self.region, offset::CONSUMER_POISON);
        PopError::Poisoned(v)
    }

    /// Checks position `pos` and returns its slot and validated length.
    /// Reads the stamp once and the length once; uses only those locals.
    #[inline(always)]
    fn peek(&mut self, pos: Index) -> Result<(usize, usize), PopError> {
        if let Some(v) = self.poisoned {
            return Err(PopError::Poisoned(v));
        }
        let slot = pos as usize & self.mask;
        // Acquire: pairs with the producer's Release store of the stamp.
        let stamp = self.region.stamp(slot).load(Ordering::Acquire);
        if stamp == full_stamp(pos) {
            let len = self.region.len(slot).load(Ordering::Relaxed);
            if len as usize > self.slot_size {
                return Err(self.poison(Violation::Length {
                    position: pos,
                    found: len,
                }));
            }
            Ok((slot, len as usize))
        } else if stamp == empty_stamp(pos, self.capacity) {
            Err(PopError::Empty)
        } else {
            Err(self.poison(Violation::Stamp {
                position: pos,
                found: stamp,
            }))
        }
    }

    /// The slot and validated length of the message at `head`, or `Empty`
    /// (exact when the probe distance is 1, soft otherwise).
    #[inline(always)]
    fn front(&mut self) -> Result<(usize, usize), PopError> {
        let head = self.head;
        if self.ahead == 0 {
            if self.probe == 1 {
                let r = self.peek(head);
                if r.is_ok() {
                    // Found at distance 1: probe a batch again next time
                    // (`ramp` is 1 with latency pacing).
                    self.probe = self.ramp;
                }
                return r;
            }
            // A poisoned consumer probes nothing: the `peek` below reports it.
            if self.poisoned.is_none() && !self.probe_ahead() {
                return Err(PopError::Empty);
            }
        }
        // Inside a probed run: the stamp must be full. "Empty" here is a
        // later stamp published before an earlier one: impossible.
        match self.peek(head) {
            Err(PopError::Empty) => Err(self.poison(Violation::Stamp {
                position: head,
                found: empty_stamp(head, self.capacity),
            })),
            other => other,
        }
    }

    /// Probes the stamp `probe - 1` positions ahead of `head` (`probe > 1`).
    /// Full: `head..head + probe` is predicted published, the distance
    /// doubles. Otherwise it halves. The probe is one load, used once; it
    /// decides nothing about safety (the run's slots are validated one by
    /// one when taken), so any stamp but "full" just means "not yet".
    #[inline(never)]
    fn probe_ahead(&mut self) -> bool {
        let d = self.probe;
        let pos = self.head.wrapping_add(d - 1);
        // Acquire: pairs with the producer's Release store of this stamp, so
        // the stamps (and payloads) of every earlier position, stored before
        // it, are visible to our loads of them.
        let stamp = self
            .region
            .stamp(pos as usize & self.mask)
            .load(Ordering::Acquire);
        if stamp == full_stamp(pos) {
            self.ahead = d;
            self.probe = (d * 2).min(self.max_probe);
            true
        } else {
            self.probe = d / 2;
            false
        }
    }

    /// Releases `n` slots to the producer.
    #[inline]
    fn advance(&mut self, n: usize) {
        self.head = self.head.wrapping_add(n as Index);
        self.ahead = self.ahead.saturating_sub(n as Index);
        // Release: pairs with the producer's Acquire load of HEAD in `free`, so
        // our payload copies happen before it overwrites these slots.
        self.region
            .index(offset::HEAD)
            .store(self.head, Ordering::Release);
    }

    #[cold]
    fn empty(&self) -> PopError {
        bump(&self.region, offset::EMPTY_COUNT);
        PopError::Empty
    }

    /// Dequeues one message into `buf`, returning its length.
    ///
    /// # Errors
    /// [`PopError::Empty`]; [`PopError::Size`] if the message is longer than
    /// `buf` (it stays queued); [`PopError::Poisoned`].
    #[inline]
    pub fn try_pop(&mut self, buf: &mut [u8]) -> Result<usize, PopError> {
        let (slot, len) = match self.front() {
            Err(PopError::Empty) => return Err(self.empty()),
            other => other?,
        };
        if len > buf.len() {
            return Err(PopError::Size {
                len,
                capacity: buf.len(),
            });
        }
        // SAFETY: len <= slot_size (validated in peek) and <= buf.len(); slot masked.
        unsafe { self.region.read_payload(slot, buf.as_mut_ptr(), len) };
        self.advance(1);
        Ok(len)
    }

    /// Dequeues one message of exactly `size_of::<T>()` bytes as a `T`.
    ///
    /// # Errors
    /// As [`Consumer::try_pop`]; [`PopError::Size`] if the message has another
    /// length (it stays queued).
    #[inline(always)]
    pub fn try_pop_value<T: Pod>(&mut self) -> Result<T, PopError> {
        let mut value = T::zeroed();
        let len = self.pop_exact(bytemuck::bytes_of_mut(&mut value))?;
        debug_assert_eq!(len, size_of::<T>());
        Ok(value)
    }

    #[inline(always)]
    fn pop_exact(&mut self, buf: &mut [u8]) -> Result<usize, PopError> {
        let (slot, len) = match self.front() {
            Err(PopError::Empty) => return Err(self.empty()),
            other => other?,
        };
        if len != buf.len() {
            return Err(PopError::Size {
                len,
                capacity: buf.len(),
            });
        }
        // SAFETY: len == buf.len() <= slot_size (validated in peek); slot masked.
        // Copying `buf.len()` (equal, and a constant for `try_pop_value`) lets
        // the compiler inline a fixed-size copy instead of calling memcpy.
        unsafe { self.region.read_payload(slot, buf.as_mut_ptr(), buf.len()) };
        self.advance(1);
        Ok(len)
    }

    /// Dequeues up to `out.len()` messages of `size_of::<T>()` bytes each and
    /// releases their slots with one store of the head. Stops early at an
    /// empty slot or a message of another size. Messages copied before a
    /// violation is met are returned (the violation is reported by the next call).
    ///
    /// # Errors
    /// [`PopError::Empty`] if `out` is non-empty and no message is ready;
    /// [`PopError::Size`] or [`PopError::Poisoned`] if the first message is
    /// unfit or impossible.
    pub fn pop_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, PopError> {
        // At most one lap: a forged run of "full" stamps cannot make us read a
        // slot twice or publish a head beyond the producer's tail.
        let max = out.len().min(self.capacity as usize);
        let mut n = 0;
        while n < max {
            let pos = self.head.wrapping_add(n as Index);
            let (slot, len) = match self.peek(pos) {
                Ok(ok) => ok,
                Err(_) if n > 0 => break,
                Err(PopError::Empty) => return Err(self.empty()),
                Err(e) => return Err(e),
            };
            if len != size_of::<T>() {
                if n > 0 {
                    break;
                }
                return Err(PopError::Size {
                    len,
                    capacity: size_of::<T>(),
                });
            }
            let dst = bytemuck::bytes_of_mut(&mut out[n]);
            // SAFETY: len == size_of::<T>() == dst.len() <= slot_size; slot masked.
            unsafe { self.region.read_payload(slot, dst.as_mut_ptr(), len) };
            n += 1;
        }
        if n > 0 {
            self.advance(n);
        }
        Ok(n)
    }

    /// The producer role's state word. A consumer that finds the ring empty and
    /// then sees [`EndpointState::Closed`] must pop once more before concluding
    /// that the queue is drained (the producer may have pushed just before
    /// closing; the Acquire here makes that push visible). A producer that died
    /// stays [`EndpointState::Attached`]: the platform crate confirms with the
    /// producer's role lock.
    pub fn producer_state(&self) -> EndpointState {
        crate::spsc::role_state(&self.region, offset::PRODUCER_STATE)
    }
}

impl Consumer {
    /// Marks the role closed (the state word the peer polls); idempotent, and
    /// done again on drop. A platform layer calls it before waking a
    /// sleeping peer so that the peer sees "closed" when it re-checks.
    pub fn close(&self) {
        crate::spsc::close_role(&self.region, offset::CONSUMER_STATE);
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.close();
    }
}
