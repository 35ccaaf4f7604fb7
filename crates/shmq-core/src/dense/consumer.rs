//! The reading end of the dense ring.

use super::{PopError, Violation};
use crate::layout::{offset, EndpointState};
use crate::region::Region;
use crate::spsc::{bump, record_poison};
use crate::sync::{Index, Ordering};
use bytemuck::Pod;
use core::mem::size_of;

/// The single consumer of a dense ring.
///
/// Holds its cursor privately; the `head` cell in the region is published for
/// the producer (free-space checks) and for a successor after a crash.
#[derive(Debug)]
pub struct Consumer {
    region: Region,
    /// Next position to read. Private.
    head: Index,
    /// Last validated producer tail, in `[head, head + capacity]`.
    cached_tail: Index,
    capacity: Index,
    mask: usize,
    record: usize,
    poisoned: Option<Violation>,
}

impl Consumer {
    /// Takes the consumer side of `region`, resuming at the published head.
    ///
    /// A predecessor that died after copying records out but before
    /// publishing its head leaves them to be delivered again: the one
    /// redelivery window, as for the stamp ring (`docs/guarantees.md`).
    ///
    /// # Errors
    /// [`Violation::Cursors`] if the published tail is behind the head or
    /// more than a lap ahead of it; the violation is also counted in the region.
    ///
    /// # Safety
    /// While the returned consumer is used, no other `Consumer` attached to
    /// the same bytes may be used concurrently by another thread of this
    /// process (both would publish heads, and the producer would overwrite a
    /// record one of them is still copying, a data race). The platform crate
    /// guarantees it with the consumer role lock.
    pub unsafe fn attach(region: Region) -> Result<Self, Violation> {
        let capacity = Index::from(region.geometry().capacity());
        let head = region.index(offset::HEAD).load(Ordering::Relaxed);
        // Acquire: pairs with the producer's Release store of TAIL in `publish`.
        let tail = region.index(offset::TAIL).load(Ordering::Acquire);
        if tail.wrapping_sub(head) > capacity {
            record_poison(&region, offset::CONSUMER_POISON);
            return Err(Violation::Cursors { head, tail });
        }
        region
            .word(offset::CONSUMER_STATE)
            .store(EndpointState::ATTACHED, Ordering::Relaxed);
        let record = region.geometry().slot_size() as usize;
        Ok(Consumer {
            region,
            head,
            cached_tail: tail,
            capacity,
            mask: capacity as usize - 1,
            record,
            poisoned: None,
        })
    }

    /// The region this consumer reads.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The size of every record, in bytes.
    pub fn record_size(&self) -> usize {
        self.record
    }

    /// The violation that poisoned this consumer, if any.
    pub fn poisoned(&self) -> Option<Violation> {
        self.poisoned
    }

    /// Records ready, re-reading the producer's tail only if fewer than
    /// `want` are known to be ready.
    #[inline(always)]
    fn ready(&mut self, want: Index) -> Result<Index, PopError> {
        if let Some(v) = self.poisoned {
            return Err(PopError::Poisoned(v));
        }
        let known = self.cached_tail.wrapping_sub(self.head);
        if known >= want {
            return Ok(known);
        }
        self.refresh_tail()
    }

    /// Re-reads the producer's tail (the slow path of `ready`).
    #[inline(never)]
    fn refresh_tail(&mut self) -> Result<Index, PopError> {
        // Acquire: pairs with the producer's Release store of TAIL in
        // `publish`, so the records it wrote before are visible to our copies.
        let tail = self.region.index(offset::TAIL).load(Ordering::Acquire);
        // Accept only `[cached_tail, head + capacity]`: a tail never moves
        // back, and never runs more than a lap ahead of what we released.
        let room = self.capacity - self.cached_tail.wrapping_sub(self.head);
        if tail.wrapping_sub(self.cached_tail) > room {
            let v = Violation::Tail {
                found: tail,
                head: self.head,
            };
            self.poisoned = Some(v);
            record_poison(&self.region, offset::CONSUMER_POISON);
            return Err(PopError::Poisoned(v));
        }
        self.cached_tail = tail;
        Ok(tail.wrapping_sub(self.head))
    }

    /// Releases `n` records to the producer.
    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.head = self.head.wrapping_add(n as Index);
        // Release: pairs with the producer's Acquire load of HEAD in
        // `refresh_head`, so our copies happen before it overwrites these records.
        self.region
            .index(offset::HEAD)
            .store(self.head, Ordering::Release);
    }

    #[cold]
    fn empty(&self) -> PopError {
        bump(&self.region, offset::EMPTY_COUNT);
        PopError::Empty
    }

    /// The error for a destination of `capacity` bytes that is not fit for
    /// a record (the record stays queued).
    #[cold]
    fn size(&self, capacity: usize) -> PopError {
        PopError::Size {
            len: self.record,
            capacity,
        }
    }

    /// Dequeues one record into `buf` (at least `record_size` bytes),
    /// returning its length, `record_size`.
    ///
    /// # Errors
    /// [`PopError::Empty`]; [`PopError::Size`] if `buf` is shorter than a
    /// record (checked first, nothing is dequeued); [`PopError::Poisoned`].
    #[inline]
    pub fn try_pop(&mut self, buf: &mut [u8]) -> Result<usize, PopError> {
        if buf.len() < self.record {
            return Err(self.size(buf.len()));
        }
        self.pop_into(buf.as_mut_ptr(), self.record)
    }

    /// Dequeues one record of exactly `size_of::<T>()` bytes as a `T`.
    ///
    /// # Errors
    /// As [`Consumer::try_pop`]; [`PopError::Size`] unless
    /// `size_of::<T>() == record_size`.
    #[inline(always)]
    pub fn try_pop_value<T: Pod>(&mut self) -> Result<T, PopError> {
        if size_of::<T>() != self.record {
            return Err(self.size(size_of::<T>()));
        }
        let mut value = T::zeroed();
        // `size_of::<T>()` (equal to the record size, checked above) is a
        // constant here, so the word copy is unrolled.
        self.pop_into(
            bytemuck::bytes_of_mut(&mut value).as_mut_ptr(),
            size_of::<T>(),
        )?;
        Ok(value)
    }

    /// Copies the record at `head` to `dst`; `len` is the record size
    /// (passed so that a caller with a constant gets an unrolled copy).
    #[inline(always)]
    fn pop_into(&mut self, dst: *mut u8, len: usize) -> Result<usize, PopError> {
        debug_assert_eq!(len, self.record);
        if self.ready(1)? == 0 {
            return Err(self.empty());
        }
        // SAFETY: len == record == slot_size; index masked; `dst` is valid
        // for `len` bytes (both callers checked); the record is published.
        unsafe {
            self.region
                .read_record(self.head as usize & self.mask, dst, len)
        };
        self.advance(1);
        Ok(len)
    }

    /// The batch path: finds up to `count` ready records (at least one
    /// unless `count` is 0), lets `read(region, head, n)` copy the `n`
    /// records from position `head` out, then releases them with one store.
    #[inline(always)]
    fn pop_batch(
        &mut self,
        count: usize,
        read: impl FnOnce(&Region, Index, usize),
    ) -> Result<usize, PopError> {
        let want = count.min(self.capacity as usize) as Index;
        let n = self.ready(want)?.min(want) as usize;
        if n == 0 {
            return if count == 0 { Ok(0) } else { Err(self.empty()) };
        }
        read(&self.region, self.head, n);
        self.advance(n);
        Ok(n)
    }

    /// Dequeues up to `out.len()` records as `T`s and releases them with one
    /// store of the head; returns how many.
    ///
    /// # Errors
    /// [`PopError::Empty`] if `out` is non-empty and no record is ready;
    /// [`PopError::Size`] unless `size_of::<T>() == record_size`;
    /// [`PopError::Poisoned`].
    #[inline]
    pub fn pop_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, PopError> {
        if size_of::<T>() != self.record {
            return Err(self.size(size_of::<T>()));
        }
        let (mask, capacity) = (self.mask, self.capacity as usize);
        self.pop_batch(out.len(), |region, head, n| {
            let first = head as usize & mask;
            let (a, b) = out[..n].split_at_mut(n.min(capacity - first));
            // SAFETY: size_of::<T>() == record == slot_size; `first` masked
            // and each run inside the ring; the n records from `head` are
            // published (`pop_batch` saw the tail).
            unsafe {
                region.read_records(first, a);
                region.read_records(0, b);
            }
        })
    }

    /// Dequeues as many records as `buf` holds whole (`buf.len() /
    /// record_size`, as when the record size is known only at run time),
    /// back to back from its start, and releases them with one store of the
    /// head; returns how many records. Bytes of `buf` past them are untouched.
    ///
    /// # Errors
    /// [`PopError::Size`] if `buf` is non-empty and shorter than one record
    /// (nothing is dequeued); [`PopError::Empty`] if no record is ready;
    /// [`PopError::Poisoned`].
    pub fn pop_records(&mut self, buf: &mut [u8]) -> Result<usize, PopError> {
        if !buf.is_empty() && buf.len() < self.record {
            return Err(self.size(buf.len()));
        }
        let (mask, record) = (self.mask, self.record);
        self.pop_batch(buf.len() / record, |region, head, n| {
            for (i, bytes) in buf.chunks_exact_mut(record).take(n).enumerate() {
                let slot = head.wrapping_add(i as Index) as usize & mask;
                // SAFETY: bytes.len() == record == slot_size; index masked;
                // the n records from `head` are published (`pop_batch`).
                unsafe { region.read_record(slot, bytes.as_mut_ptr(), record) };
            }
        })
    }

    /// The producer role's state word. A consumer that finds the ring empty
    /// and then sees [`EndpointState::Closed`] must pop once more before
    /// concluding that the queue is drained (the Acquire here makes a push
    /// made just before closing visible).
    pub fn producer_state(&self) -> EndpointState {
        crate::spsc::role_state(&self.region, offset::PRODUCER_STATE)
    }

    /// Marks the role closed; idempotent, and done again on drop.
    pub fn close(&self) {
        crate::spsc::close_role(&self.region, offset::CONSUMER_STATE);
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.close();
    }
}
