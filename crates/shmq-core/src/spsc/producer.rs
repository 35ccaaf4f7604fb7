//! The writing end of the SPSC ring.

use super::{
    bump, empty_stamp, full_stamp, record_poison, stream_batch, Pacing, PushError, Violation,
};
use crate::layout::{offset, EndpointState};
use crate::region::Region;
use crate::sync::{Index, Ordering};
use bytemuck::NoUninit;
use core::mem::size_of;

/// The single producer of an SPSC ring.
///
/// Holds its cursor privately: the `tail` cell in the region is written for
/// observers and for a successor after a crash, never read back except by
/// [`Producer::attach`].
#[derive(Debug)]
pub struct Producer {
    region: Region,
    /// Next position to write. Private; `tail - cached_head <= capacity`.
    tail: Index,
    /// Last validated consumer head, in `[previous cached_head, tail]`.
    cached_head: Index,
    /// Adaptive batch of free slots a single push waits for once its cached
    /// view is full, `1..=max_batch` (always 1 for [`Pacing::Latency`]).
    batch: Index,
    /// 1, or [`stream_batch`] for [`Pacing::Throughput`].
    max_batch: Index,
    pacing: Pacing,
    capacity: Index,
    mask: usize,
    slot_size: usize,
    poisoned: Option<Violation>,
}

impl Producer {
    /// Takes the producer side of `region`, resuming where the ring stands.
    ///
    /// A predecessor that died between publishing a slot (its stamp) and
    /// publishing its tail is recovered from: the stamps, not the tail cell,
    /// decide where writing resumes, so nothing committed is overwritten.
    /// # Errors
    /// [`Violation::Cursors`] if the published head, tail and stamps describe
    /// no state an honest ring can be in; the violation is also counted in the
    /// region (sticky `poisoned` word, producer poison counter).
    ///
    /// # Safety
    /// While the returned producer is used, no other `Producer` attached to
    /// the same bytes may be used concurrently by another thread of this
    /// process: the two would copy into the same payload bytes at once, a data
    /// race. (Another *process* doing so garbles traffic but is outside this
    /// process's memory model: see `docs/guarantees.md`.) The platform crate
    /// guarantees it with the producer role lock and a per-handle flag.
    pub unsafe fn attach(region: Region) -> Result<Self, Violation> {
        let capacity = Index::from(region.geometry().capacity());
        let mask = capacity as usize - 1;
        // Acquire: pairs with the consumer's Release store of HEAD in `advance`.
        let head = region.index(offset::HEAD).load(Ordering::Acquire);
        let published = region.index(offset::TAIL).load(Ordering::Relaxed);
        let bad = Violation::Cursors {
            head,
            tail: published,
        };
        // A consumer may have taken a message whose tail was never published.
        let ahead = head.wrapping_sub(published);
        let mut tail = if ahead != 0 && ahead <= capacity {
            head
        } else {
            published
        };
        if tail.wrapping_sub(head) > capacity {
            record_poison(&region, offset::PRODUCER_POISON);
            return Err(bad);
        }
        // Bounded: every step moves `tail` one further from `head`, at most `capacity`.
        while tail.wrapping_sub(head) < capacity {
            let slot = tail as usize & mask;
            // Acquire: pairs with the predecessor's Release store of the stamp.
            let stamp = region.stamp(slot).load(Ordering::Acquire);
            if stamp == full_stamp(tail) {
                tail = tail.wrapping_add(1);
            } else if stamp == empty_stamp(tail, capacity as u32) {
                break;
            } else {
                record_poison(&region, offset::PRODUCER_POISON);
                return Err(bad);
            }
        }
        region.index(offset::TAIL).store(tail, Ordering::Relaxed);
        region
            .word(offset::PRODUCER_STATE)
            .store(EndpointState::ATTACHED, Ordering::Relaxed);
        let slot_size = region.geometry().slot_size() as usize;
        Ok(Producer {
            region,
            tail,
            cached_head: head,
            batch: 1,
            max_batch: 1,
            pacing: Pacing::Latency,
            capacity,
            mask,
            slot_size,
            poisoned: None,
        })
    }

    /// The region this producer writes.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Largest message, in bytes.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The violation that poisoned this producer, if any.
    pub fn poisoned(&self) -> Option<Violation> {
        self.poisoned
    }

    /// How this producer paces itself (default [`Pacing::Latency`]).
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// Sets how this producer paces itself (see the [module docs](super)):
    /// with [`Pacing::Throughput`], a push that finds its cached view full
    /// waits (reports `Full`) until a batch of slots is free, the batch
    /// adapting between 1 and [`stream_batch`]. Private to this endpoint.
    ///
    /// ```
    /// # use shmq_core::{layout::{Geometry, QueueKind}, testing::HeapRegion, spsc::{Consumer, Pacing, Producer, PushError}};
    /// let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, 8, 8).unwrap());
    /// // SAFETY: one producer and one consumer of this region (this test's).
    /// let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.set_pacing(Pacing::Throughput);
    /// for i in 0..8u64 { tx.try_push_value(&i).unwrap(); }
    /// assert_eq!(rx.try_pop_value::<u64>(), Ok(0));
    /// // One slot is free; exact() makes the next push take it at once.
    /// tx.exact();
    /// assert_eq!(tx.try_push_value(&8u64), Ok(()));
    /// ```
    pub fn set_pacing(&mut self, pacing: Pacing) {
        self.pacing = pacing;
        self.max_batch = match pacing {
            Pacing::Latency => 1,
            Pacing::Throughput => stream_batch(self.region.geometry()),
        };
        self.batch = self.batch.min(self.max_batch);
    }

    /// Makes the next push exact: `Full` then means no slot was free. The
    /// waiting loop calls it before parking and before the disconnection
    /// check's retry.
    #[inline]
    pub fn exact(&mut self) {
        self.batch = 1;
    }

    /// Free slots, re-reading the consumer's head only if fewer than `want`
    /// are known to be free.
    #[inline]
    fn free(&mut self, want: Index) -> Result<Index, PushError> {
        if let Some(v) = self.poisoned {
            return Err(PushError::Poisoned(v));
        }
        let known = self.capacity - self.tail.wrapping_sub(self.cached_head);
        if known >= want {
            return Ok(known);
        }
        self.refresh_head()
    }

    /// Free slots for one push: as [`Producer::free`], but once the cached
    /// view is full, a fresh head counts only if it frees at least `batch`
    /// slots (B-Queue's producer side; `batch` is 1 with [`Pacing::Latency`]).
    #[inline]
    fn free_one(&mut self) -> Result<Index, PushError> {
        if let Some(v) = self.poisoned {
            return Err(PushError::Poisoned(v));
        }
        let known = self.capacity - self.tail.wrapping_sub(self.cached_head);
        if known >= 1 {
            return Ok(known);
        }
        self.refill()
    }

    /// The slow path of [`Producer::free_one`].
    #[inline(never)]
    fn refill(&mut self) -> Result<Index, PushError> {
        let cached = self.cached_head;
        let free = self.refresh_head()?;
        if free >= self.batch {
            self.batch = (self.batch * 2).min(self.max_batch);
            Ok(free)
        } else {
            // Too few: forget the fresh head (validated, so the next check
            // re-reads it and clamps against the same lower bound) and ask
            // for half as many next time.
            self.cached_head = cached;
            self.batch = (self.batch / 2).max(1);
            Ok(0)
        }
    }

    /// Re-reads the consumer's head (the slow path of `free`).
    #[inline(never)]
    fn refresh_head(&mut self) -> Result<Index, PushError> {
        let head = match crate::spsc::load_head(&self.region, self.cached_head, self.tail) {
            Ok(head) => head,
            Err(v) => {
                self.poisoned = Some(v);
                return Err(PushError::Poisoned(v));
            }
        };
        self.cached_head = head;
        Ok(self.capacity - self.tail.wrapping_sub(head))
    }

    #[cold]
    fn full(&self) -> PushError {
        bump(&self.region, offset::FULL_COUNT);
        PushError::Full
    }

    /// Writes length and payload of position `pos` (not yet published).
    #[inline]
    fn write(&self, pos: Index, msg: &[u8]) {
        let slot = pos as usize & self.mask;
        self.region
            .len(slot)
            .store(msg.len() as u32, Ordering::Relaxed);
        // SAFETY: msg.len() <= slot_size (checked by every caller), slot masked,
        // and the slot is free: `free` saw the consumer release it.
        unsafe { self.region.write_payload(slot, msg) };
    }

    /// Enqueues one message of `0..=slot_size` bytes.
    ///
    /// # Errors
    /// [`PushError::Full`], [`PushError::TooLarge`] or [`PushError::Poisoned`];
    /// nothing is enqueued in each case.
    ///
    /// # Example
    /// ```
    /// # use shmq_core::{layout::{Geometry, QueueKind}, testing::HeapRegion, spsc::{Consumer, Producer}};
    /// let heap = HeapRegion::new(Geometry::new(QueueKind::Spsc, 4, 16).unwrap());
    /// // SAFETY: no other producer of this region is used concurrently (one per role in this test).
    /// let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    /// // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
    /// let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    /// tx.try_push(b"hello").unwrap();
    /// let mut buf = [0u8; 16];
    /// let n = rx.try_pop(&mut buf).unwrap();
    /// assert_eq!(&buf[..n], b"hello");
    /// ```
    #[inline]
    pub fn try_push(&mut self, msg: &[u8]) -> Result<(), PushError> {
        if msg.len() > self.slot_size {
            return Err(PushError::TooLarge {
                len: msg.len(),
                max: self.slot_size,
            });
        }
        if self.free_one()? == 0 {
            return Err(self.full());
        }
        let pos = self.tail;
        self.write(pos, msg);
        let slot = pos as usize & self.mask;
        // Release: pairs with the consumer's Acquire load of this stamp in `peek`.
        self.region
            .stamp(slot)
            .store(full_stamp(pos), Ordering::Release);
        self.tail = pos.wrapping_add(1);
        self.region
            .index(offset::TAIL)
            .store(self.tail, Ordering::Relaxed);
        Ok(())
    }

    /// Enqueues one plain-data value as a message of `size_of::<T>()` bytes.
    ///
    /// # Errors
    /// As [`Producer::try_push`].
    #[inline]
    pub fn try_push_value<T: NoUninit>(&mut self, value: &T) -> Result<(), PushError> {
        self.try_push(bytemuck::bytes_of(value))
    }

    /// Enqueues as many of `items` as fit, one message each, and publishes
    /// them together: all payloads first, then the stamps, in position order.
    /// Returns how many were enqueued (a prefix of `items`).
    ///
    /// # Errors
    /// [`PushError::Full`] if `items` is non-empty and not one fits;
    /// [`PushError::TooLarge`] if `T` is larger than a slot; poisoned.
    pub fn push_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, PushError> {
        if size_of::<T>() > self.slot_size {
            return Err(PushError::TooLarge {
                len: size_of::<T>(),
                max: self.slot_size,
            });
        }
        let want = items.len().min(self.capacity as usize) as Index;
        let n = self.free(want)?.min(want) as usize;
        if n == 0 {
            return if items.is_empty() {
                Ok(0)
            } else {
                Err(self.full())
            };
        }
        let start = self.tail;
        for (i, item) in items[..n].iter().enumerate() {
            self.write(start.wrapping_add(i as Index), bytemuck::bytes_of(item));
        }
        for i in 0..n as Index {
            let pos = start.wrapping_add(i);
            // Release: pairs with the consumer's Acquire load of this stamp. Each
            // stamp is a Release store (free on x86) rather than Relaxed after
            // one fence, so stamps become visible in position order: a producer
            // killed inside this loop leaves a committed prefix, never a gap
            // that its successor's `attach` walk would stop in front of.
            self.region
                .stamp(pos as usize & self.mask)
                .store(full_stamp(pos), Ordering::Release);
        }
        self.tail = start.wrapping_add(n as Index);
        self.region
            .index(offset::TAIL)
            .store(self.tail, Ordering::Relaxed);
        Ok(n)
    }

    /// The consumer role's state word.
    ///
    /// A consumer that died stays [`EndpointState::Attached`]: the platform
    /// crate confirms with the consumer's role lock.
    pub fn consumer_state(&self) -> EndpointState {
        crate::spsc::role_state(&self.region, offset::CONSUMER_STATE)
    }
}

impl Producer {
    /// Marks the role closed (the state word the peer polls); idempotent, and
    /// done again on drop. A platform layer calls it before waking a
    /// sleeping peer so that the peer sees "closed" when it re-checks.
    pub fn close(&self) {
        crate::spsc::close_role(&self.region, offset::PRODUCER_STATE);
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.close();
    }
}
