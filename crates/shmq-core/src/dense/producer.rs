//! The writing end of the dense ring.

use super::{PushError, Violation};
use crate::layout::{offset, EndpointState};
use crate::region::Region;
use crate::spsc::{bump, record_poison};
use crate::sync::{Index, Ordering};
use bytemuck::NoUninit;
use core::mem::size_of;

/// The single producer of a dense ring.
///
/// Holds its cursor privately: the `tail` cell in the region is the
/// publication (the consumer reads it), never read back except by
/// [`Producer::attach`].
#[derive(Debug)]
pub struct Producer {
    region: Region,
    /// Next position to write. Private; `tail - cached_head <= capacity`.
    tail: Index,
    /// Last validated consumer head, in `[previous cached_head, tail]`.
    cached_head: Index,
    capacity: Index,
    mask: usize,
    record: usize,
    poisoned: Option<Violation>,
}

impl Producer {
    /// Takes the producer side of `region`, resuming at the published tail
    /// (records a predecessor wrote but never published are not committed
    /// and are overwritten).
    ///
    /// # Errors
    /// [`Violation::Cursors`] if the published head and tail describe no
    /// state an honest ring can be in (the tail behind the head or more than
    /// a lap ahead of it); the violation is also counted in the region.
    ///
    /// # Safety
    /// While the returned producer is used, no other `Producer` attached to
    /// the same bytes may be used concurrently by another thread of this
    /// process (both would copy into the same records at once, a data race).
    /// The platform crate guarantees it with the producer role lock.
    pub unsafe fn attach(region: Region) -> Result<Self, Violation> {
        let capacity = Index::from(region.geometry().capacity());
        // Acquire: pairs with the consumer's Release store of HEAD in `advance`.
        let head = region.index(offset::HEAD).load(Ordering::Acquire);
        let tail = region.index(offset::TAIL).load(Ordering::Relaxed);
        if tail.wrapping_sub(head) > capacity {
            record_poison(&region, offset::PRODUCER_POISON);
            return Err(Violation::Cursors { head, tail });
        }
        region
            .word(offset::PRODUCER_STATE)
            .store(EndpointState::ATTACHED, Ordering::Relaxed);
        let record = region.geometry().slot_size() as usize;
        Ok(Producer {
            region,
            tail,
            cached_head: head,
            capacity,
            mask: capacity as usize - 1,
            record,
            poisoned: None,
        })
    }

    /// The region this producer writes.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The size of every record, in bytes.
    pub fn record_size(&self) -> usize {
        self.record
    }

    /// Number of records the ring holds.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The violation that poisoned this producer, if any.
    pub fn poisoned(&self) -> Option<Violation> {
        self.poisoned
    }

    /// Free records, re-reading the consumer's head only if fewer than
    /// `want` are known to be free.
    #[inline(always)]
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

    #[cold]
    fn wrong_size(&self, len: usize) -> PushError {
        PushError::WrongSize {
            len,
            size: self.record,
        }
    }

    /// Publishes every record up to `tail`.
    #[inline(always)]
    fn publish(&mut self, tail: Index) {
        self.tail = tail;
        // Release: pairs with the consumer's Acquire load of TAIL in
        // `refresh_tail`, so the records written before are visible to it.
        self.region
            .index(offset::TAIL)
            .store(tail, Ordering::Release);
    }

    /// Enqueues one record of exactly [`record_size`](Self::record_size) bytes.
    ///
    /// # Errors
    /// [`PushError::Full`], [`PushError::WrongSize`] or
    /// [`PushError::Poisoned`]; nothing is enqueued in each case.
    ///
    /// ```
    /// # use shmq_core::{layout::Geometry, testing::HeapRegion, dense::{Consumer, Producer, PushError}};
    /// let heap = HeapRegion::new(Geometry::new_dense(4, 4).unwrap());
    /// // SAFETY: one producer and one consumer of this region (this test's).
    /// let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push(b"abcd").unwrap();
    /// assert_eq!(tx.try_push(b"abc"), Err(PushError::WrongSize { len: 3, size: 4 }));
    /// let mut buf = [0u8; 8];
    /// assert_eq!(rx.try_pop(&mut buf), Ok(4));
    /// assert_eq!(&buf[..4], b"abcd");
    /// ```
    #[inline(always)]
    pub fn try_push(&mut self, msg: &[u8]) -> Result<(), PushError> {
        if msg.len() != self.record {
            return Err(self.wrong_size(msg.len()));
        }
        if self.free(1)? == 0 {
            return Err(self.full());
        }
        let pos = self.tail;
        // SAFETY: msg.len() == record == slot_size; index masked; the record
        // is free (`free` saw the consumer release it) and ours until `publish`.
        unsafe { self.region.write_record(pos as usize & self.mask, msg) };
        self.publish(pos.wrapping_add(1));
        Ok(())
    }

    /// Enqueues one plain-data value of exactly `record_size` bytes.
    ///
    /// # Errors
    /// As [`Producer::try_push`].
    #[inline(always)]
    pub fn try_push_value<T: NoUninit>(&mut self, value: &T) -> Result<(), PushError> {
        self.try_push(bytemuck::bytes_of(value))
    }

    /// The batch path: finds room for up to `count` records (at least one
    /// unless `count` is 0), lets `write(region, start, n)` fill the `n`
    /// free records from position `start`, then publishes them with one store.
    #[inline(always)]
    fn push_batch(
        &mut self,
        count: usize,
        write: impl FnOnce(&Region, Index, usize),
    ) -> Result<usize, PushError> {
        let want = count.min(self.capacity as usize) as Index;
        let n = self.free(want)?.min(want) as usize;
        if n == 0 {
            return if count == 0 { Ok(0) } else { Err(self.full()) };
        }
        let start = self.tail;
        write(&self.region, start, n);
        self.publish(start.wrapping_add(n as Index));
        Ok(n)
    }

    /// Enqueues as many of `items` as fit and publishes them with one store
    /// of the tail. Returns how many were enqueued (a prefix of `items`).
    ///
    /// # Errors
    /// [`PushError::Full`] if `items` is non-empty and not one fits;
    /// [`PushError::WrongSize`] unless `size_of::<T>() == record_size`;
    /// poisoned.
    ///
    /// ```
    /// # use shmq_core::{layout::Geometry, testing::HeapRegion, dense::{Consumer, Producer}};
    /// let heap = HeapRegion::new(Geometry::new_dense(4, 8).unwrap());
    /// // SAFETY: one producer and one consumer of this region (this test's).
    /// let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// assert_eq!(tx.push_slice(&[1u64, 2, 3, 4, 5, 6]), Ok(4));
    /// let mut out = [0u64; 8];
    /// assert_eq!(rx.pop_slice(&mut out), Ok(4));
    /// assert_eq!(out[..4], [1, 2, 3, 4]);
    /// ```
    #[inline]
    pub fn push_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, PushError> {
        if size_of::<T>() != self.record {
            return Err(self.wrong_size(size_of::<T>()));
        }
        let (mask, capacity) = (self.mask, self.capacity as usize);
        self.push_batch(items.len(), |region, start, n| {
            let first = start as usize & mask;
            // At most two runs: up to the end of the ring, then from its start.
            let (a, b) = items[..n].split_at(n.min(capacity - first));
            // SAFETY: size_of::<T>() == record == slot_size; `first` masked
            // and each run inside the ring; the n records from `start` are
            // free and ours until `publish` (`push_batch`).
            unsafe {
                region.write_records(first, a);
                region.write_records(0, b);
            }
        })
    }

    /// Enqueues as many whole records of `records` as fit (its length must
    /// be a multiple of `record_size`: records back to back, as when the
    /// record size is known only at run time) and publishes them with one
    /// store of the tail. Returns how many records were enqueued (a prefix).
    ///
    /// # Errors
    /// [`PushError::WrongSize`] if `records.len()` is not a multiple of the
    /// record size (nothing is enqueued); [`PushError::Full`] if `records`
    /// is non-empty and not one fits; poisoned.
    ///
    /// ```
    /// # use shmq_core::{layout::Geometry, testing::HeapRegion, dense::{Consumer, Producer}};
    /// let heap = HeapRegion::new(Geometry::new_dense(4, 3).unwrap());
    /// // SAFETY: one producer and one consumer of this region (this test's).
    /// let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// assert_eq!(tx.push_records(b"abcdefghi"), Ok(3));
    /// let mut buf = [0u8; 8];
    /// assert_eq!(rx.pop_records(&mut buf), Ok(2)); // room for two records of 3 bytes
    /// assert_eq!(&buf[..6], b"abcdef");
    /// ```
    pub fn push_records(&mut self, records: &[u8]) -> Result<usize, PushError> {
        if records.len() % self.record != 0 {
            return Err(self.wrong_size(records.len()));
        }
        let (mask, record) = (self.mask, self.record);
        self.push_batch(records.len() / record, |region, start, n| {
            for (i, bytes) in records.chunks_exact(record).take(n).enumerate() {
                let slot = start.wrapping_add(i as Index) as usize & mask;
                // SAFETY: bytes.len() == record == slot_size; index masked;
                // the n records from `start` are free and ours (`push_batch`).
                unsafe { region.write_record(slot, bytes) };
            }
        })
    }

    /// The consumer role's state word (a dead consumer stays
    /// [`EndpointState::Attached`]: the platform crate confirms with its lock).
    pub fn consumer_state(&self) -> EndpointState {
        crate::spsc::role_state(&self.region, offset::CONSUMER_STATE)
    }

    /// Marks the role closed; idempotent, and done again on drop.
    pub fn close(&self) {
        crate::spsc::close_role(&self.region, offset::PRODUCER_STATE);
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.close();
    }
}
