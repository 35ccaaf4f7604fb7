//! The writing end of the byte ring, and its loans.

use super::data::{self, OutOfRange, ViewMut};
use super::{
    empty_stamp, full_stamp, load_header, record_size, store_header, PushError, Violation, PAD,
};
use crate::layout::{offset, EndpointState, RECORD_HEADER};
use crate::region::Region;
use crate::spsc::{bump, record_poison};
use crate::sync::{Index, Ordering};
use bytemuck::NoUninit;
use core::mem::size_of;

/// The single producer of a byte ring.
///
/// Holds its cursor privately: the `tail` cell in the region is written for
/// observers and for a successor after a crash, never read back except by
/// [`Producer::attach`].
#[derive(Debug)]
pub struct Producer {
    region: Region,
    /// Byte position of the next record (8-aligned). Private;
    /// `tail - cached_head <= capacity - 8`.
    tail: Index,
    /// Last validated consumer head, in `[previous cached_head, tail]`.
    cached_head: Index,
    /// Messages enqueued (published in `MESSAGES_SENT`).
    sent: Index,
    capacity: Index,
    mask: usize,
    max_message: usize,
    poisoned: Option<Violation>,
}

/// Room reserved for one record by [`Producer::reserve`]: a plain token,
/// committed with [`Producer::commit`] or dropped (nothing is published).
///
/// ```
/// # use shmq_core::{bytes::Producer, layout::Geometry, testing::HeapRegion};
/// let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
/// // SAFETY: the only producer of this region.
/// let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
/// let r = tx.reserve(16).unwrap();
/// assert_eq!(r.len(), 16);
/// tx.reserved(&r).write_at(0, b"sixteen bytes...");
/// tx.commit(r, 16).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// The producer's tail when reserved.
    start: Index,
    /// Padding record before the record (0: none).
    pad: usize,
    /// Payload bytes reserved.
    len: usize,
}

impl Reservation {
    /// Payload bytes reserved.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether zero bytes are reserved.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Producer {
    /// Takes the producer side of `region` (a byte ring), resuming where
    /// the ring stands.
    ///
    /// A predecessor that died between publishing a record and publishing
    /// its tail is recovered from: the headers, not the tail cell, decide
    /// where writing resumes (a walk along the published records, at most
    /// one lap), so nothing committed is overwritten.
    ///
    /// # Errors
    /// [`Violation::Cursors`] if the published head, tail and headers
    /// describe no state an honest ring can be in; also counted in the region.
    ///
    /// # Safety
    /// While the returned producer is used, no other `Producer` attached to
    /// the same bytes may be used concurrently by another thread of this
    /// process (the platform crate's role lock guarantees it).
    pub unsafe fn attach(region: Region) -> Result<Self, Violation> {
        debug_assert_eq!(region.geometry().kind(), crate::layout::QueueKind::Bytes);
        let capacity = Index::from(region.geometry().capacity());
        let mask = capacity as usize - 1;
        // Acquire: pairs with the consumer's Release store of HEAD.
        let head = region.index(offset::HEAD).load(Ordering::Acquire);
        let published = region.index(offset::TAIL).load(Ordering::Relaxed);
        let bad = Violation::Cursors {
            head,
            tail: published,
        };
        let poison = |region: &Region| {
            record_poison(region, offset::PRODUCER_POISON);
            Err(bad)
        };
        // A consumer may have taken records whose tail was never published.
        let ahead = head.wrapping_sub(published);
        let mut tail = if ahead != 0 && ahead <= capacity {
            head
        } else {
            published
        };
        if tail.wrapping_sub(head) > capacity - RECORD_HEADER as Index || tail % 8 != 0 {
            return poison(&region);
        }
        let max_message = region.geometry().slot_size() as usize;
        let mut found: Index = 0;
        // Bounded: every step moves `tail` at least 8 bytes further from
        // `head`, and the walk stops one lap away.
        loop {
            let off = tail as usize & mask;
            let (stamp, len) = load_header(&region, off);
            if stamp == empty_stamp(tail) {
                break;
            }
            if stamp != full_stamp(tail) {
                return poison(&region);
            }
            let size = if len & PAD != 0 {
                if (len & !PAD) as usize != capacity as usize - off {
                    return poison(&region);
                }
                capacity as usize - off
            } else if (len as usize) <= max_message {
                found = found.wrapping_add(1);
                record_size(len as usize)
            } else {
                return poison(&region);
            };
            if size < RECORD_HEADER || size % 8 != 0 || off + size > capacity as usize {
                return poison(&region);
            }
            tail = tail.wrapping_add(size as Index);
            if tail.wrapping_sub(head) > capacity - RECORD_HEADER as Index {
                return poison(&region);
            }
        }
        let sent = region
            .index(offset::MESSAGES_SENT)
            .load(Ordering::Relaxed)
            .wrapping_add(found);
        region
            .index(offset::MESSAGES_SENT)
            .store(sent, Ordering::Relaxed);
        region.index(offset::TAIL).store(tail, Ordering::Relaxed);
        region
            .word(offset::PRODUCER_STATE)
            .store(EndpointState::ATTACHED, Ordering::Relaxed);
        Ok(Producer {
            region,
            tail,
            cached_head: head,
            sent,
            capacity,
            mask,
            max_message,
            poisoned: None,
        })
    }

    /// The region this producer writes.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Largest message, in bytes.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Capacity of the ring, in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The violation that poisoned this producer, if any.
    pub fn poisoned(&self) -> Option<Violation> {
        self.poisoned
    }

    /// Whether `need` bytes after the tail are free, re-reading the
    /// consumer's head only if the cached one says they are not.
    #[inline]
    fn room(&mut self, need: usize) -> Result<bool, PushError> {
        let free = self.capacity - self.tail.wrapping_sub(self.cached_head);
        if free >= need as Index {
            return Ok(true);
        }
        self.refresh_head()?;
        let free = self.capacity - self.tail.wrapping_sub(self.cached_head);
        Ok(free >= need as Index)
    }

    /// Re-reads the consumer's head (the slow path of `room`).
    #[inline(never)]
    fn refresh_head(&mut self) -> Result<(), PushError> {
        let head = match crate::spsc::load_head(&self.region, self.cached_head, self.tail) {
            Ok(head) => head,
            Err(v) => {
                self.poisoned = Some(v);
                return Err(PushError::Poisoned(v));
            }
        };
        self.cached_head = head;
        Ok(())
    }

    #[cold]
    fn full(&self) -> PushError {
        bump(&self.region, offset::FULL_COUNT);
        PushError::Full
    }

    /// Reserves room for a record of `len` payload bytes (and the padding
    /// record in front of it, if it must start a new lap). Writes nothing
    /// shared: an uncommitted reservation publishes nothing.
    ///
    /// # Errors
    /// [`PushError::TooLarge`] above [`Producer::max_message`];
    /// [`PushError::Full`] (counted) if the consumer has not released enough
    /// bytes; [`PushError::Poisoned`].
    ///
    /// ```
    /// # use shmq_core::{bytes::{Producer, PushError}, layout::Geometry, testing::HeapRegion};
    /// let heap = HeapRegion::new(Geometry::new_bytes(64, 16).unwrap());
    /// // SAFETY: the only producer of this region.
    /// let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    /// assert_eq!(tx.reserve(17), Err(PushError::TooLarge { len: 17, max: 16 }));
    /// let r = tx.reserve(16).unwrap();
    /// tx.commit(r, 16).unwrap();
    /// assert!(tx.commit(r, 16).is_err()); // a reservation commits once
    /// ```
    #[inline]
    pub fn reserve(&mut self, len: usize) -> Result<Reservation, PushError> {
        if let Some(v) = self.poisoned {
            return Err(PushError::Poisoned(v));
        }
        if len > self.max_message {
            return Err(PushError::TooLarge {
                len,
                max: self.max_message,
            });
        }
        let size = record_size(len);
        let off = self.tail as usize & self.mask;
        let pad = if off + size > self.capacity as usize {
            self.capacity as usize - off
        } else {
            0
        };
        // The record, its padding, and the terminator after it.
        if !self.room(pad + size + RECORD_HEADER)? {
            return Err(self.full());
        }
        Ok(Reservation {
            start: self.tail,
            pad,
            len,
        })
    }

    /// A writable view of the payload `r` reserved.
    ///
    /// A reservation that is not this producer's current one (committed
    /// already, or from another producer) gives an empty view.
    #[inline]
    pub fn reserved(&self, r: &Reservation) -> ViewMut<'_> {
        let len = if r.start == self.tail && r.len <= self.max_message {
            r.len
        } else {
            0
        };
        ViewMut::new(&self.region, self.payload_at(r), len)
    }

    /// Ring offset of the payload of `r`.
    #[inline]
    fn payload_at(&self, r: &Reservation) -> usize {
        (r.start.wrapping_add(r.pad as Index) as usize & self.mask) + RECORD_HEADER
    }

    /// Publishes the record `r` reserved with its first `n` payload bytes
    /// (what was written there; bytes not written are whatever the ring
    /// held). The padding record goes first, each header after the
    /// terminator that follows its record.
    ///
    /// # Errors
    /// [`PushError::TooLarge`] if `n > r.len()` or `r` is not this
    /// producer's current reservation (already committed, or another
    /// producer's): nothing is published; [`PushError::Poisoned`].
    #[inline]
    pub fn commit(&mut self, r: Reservation, n: usize) -> Result<(), PushError> {
        if let Some(v) = self.poisoned {
            return Err(PushError::Poisoned(v));
        }
        if n > r.len || r.start != self.tail {
            return Err(PushError::TooLarge {
                len: n,
                max: if r.start == self.tail { r.len } else { 0 },
            });
        }
        self.publish(r.pad, n);
        Ok(())
    }

    /// Publishes the record at the tail (after `pad` bytes of padding)
    /// with `n` payload bytes; the caller checked the reservation.
    #[inline]
    fn publish(&mut self, pad: usize, n: usize) {
        let mut pos = self.tail;
        if pad > 0 {
            let next = pos.wrapping_add(pad as Index);
            store_header(
                &self.region,
                next as usize & self.mask,
                empty_stamp(next),
                0,
                Ordering::Relaxed,
            );
            // Release: pairs with the consumer's Acquire load of this header;
            // publishes the terminator at the start of the lap.
            store_header(
                &self.region,
                pos as usize & self.mask,
                full_stamp(pos),
                PAD | pad as u32,
                Ordering::Release,
            );
            pos = next;
        }
        let next = pos.wrapping_add(record_size(n) as Index);
        store_header(
            &self.region,
            next as usize & self.mask,
            empty_stamp(next),
            0,
            Ordering::Relaxed,
        );
        // Release: pairs with the consumer's Acquire load of this header;
        // publishes the payload and the terminator.
        store_header(
            &self.region,
            pos as usize & self.mask,
            full_stamp(pos),
            n as u32,
            Ordering::Release,
        );
        self.tail = next;
        self.sent = self.sent.wrapping_add(1);
        self.region
            .index(offset::TAIL)
            .store(self.tail, Ordering::Relaxed);
        self.region
            .index(offset::MESSAGES_SENT)
            .store(self.sent, Ordering::Relaxed);
    }

    /// Reserves room for `len` payload bytes and returns a [`Loan`] to fill
    /// them in place.
    ///
    /// # Errors
    /// As [`Producer::reserve`].
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// // SAFETY: one producer and one consumer of this region in this test.
    /// let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    /// // SAFETY: as above.
    /// let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
    /// let mut loan = tx.loan(32).unwrap();
    /// loan.copy_from_slice(b"hello");
    /// loan.commit(5);
    /// drop(tx.loan(32).unwrap()); // dropped: publishes nothing
    /// let mut buf = [0u8; 64];
    /// assert_eq!(rx.try_pop(&mut buf), Ok(5));
    /// assert!(rx.try_pop(&mut buf).is_err());
    /// ```
    #[inline]
    pub fn loan(&mut self, len: usize) -> Result<Loan<'_>, PushError> {
        let reservation = self.reserve(len)?;
        Ok(Loan {
            producer: self,
            reservation,
        })
    }

    /// Enqueues one message of `0..=max_message` bytes (copied in).
    ///
    /// # Errors
    /// [`PushError::Full`], [`PushError::TooLarge`] or
    /// [`PushError::Poisoned`]; nothing is enqueued in each case.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// let heap = HeapRegion::new(Geometry::new_bytes(64, 16).unwrap());
    /// // SAFETY: the only producer of this region.
    /// let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    /// tx.try_push(b"0123456789").unwrap();
    /// assert!(tx.try_push(&[0; 17]).is_err()); // larger than max_message
    /// ```
    #[inline]
    pub fn try_push(&mut self, msg: &[u8]) -> Result<(), PushError> {
        let r = self.reserve(msg.len())?;
        // Word-aligned: payloads start 8 bytes into an 8-aligned record.
        data::store_fresh(&self.region, self.payload_at(&r), msg);
        self.publish(r.pad, msg.len());
        Ok(())
    }

    /// Enqueues the bytes of one plain-data value as a message.
    ///
    /// # Errors
    /// As [`Producer::try_push`].
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(64, 16).unwrap());
    /// # // SAFETY: the only producer of this region.
    /// # let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    /// tx.try_push_value(&1.5f64).unwrap();
    /// ```
    #[inline]
    pub fn try_push_value<T: NoUninit>(&mut self, value: &T) -> Result<(), PushError> {
        self.try_push(bytemuck::bytes_of(value))
    }

    /// Enqueues as many of `items` as fit, one record each, in order;
    /// returns how many (a prefix of `items`).
    ///
    /// # Errors
    /// [`PushError::Full`] if `items` is non-empty and not one fits;
    /// [`PushError::TooLarge`] if `T` exceeds `max_message`; poisoned.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(64, 16).unwrap());
    /// # // SAFETY: the only producer of this region.
    /// # let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    /// // 64 bytes hold three 16-byte records and the 8-byte terminator.
    /// assert_eq!(tx.push_slice(&[1u64, 2, 3, 4, 5]), Ok(3));
    /// ```
    pub fn push_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, PushError> {
        if size_of::<T>() > self.max_message {
            return Err(PushError::TooLarge {
                len: size_of::<T>(),
                max: self.max_message,
            });
        }
        let mut n = 0;
        for item in items {
            match self.try_push(bytemuck::bytes_of(item)) {
                Ok(()) => n += 1,
                Err(PushError::Full) if n > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// The consumer role's state word (a dead consumer stays `Attached`:
    /// the platform crate confirms with the role lock).
    pub fn consumer_state(&self) -> EndpointState {
        crate::spsc::role_state(&self.region, offset::CONSUMER_STATE)
    }

    /// Marks the role closed (idempotent; done again on drop).
    pub fn close(&self) {
        crate::spsc::close_role(&self.region, offset::PRODUCER_STATE);
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.close();
    }
}

/// A record reserved in the ring, filled in place, published by
/// [`Loan::commit`]. Dropping it uncommitted publishes nothing.
///
/// Writes go straight into the shared region (index-width atomic stores;
/// no `&mut [u8]` is formed). Bytes of the payload not written are whatever
/// the ring held there before (older messages of this queue).
///
/// ```
/// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
/// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
/// # // SAFETY: one producer and one consumer of this region in this test.
/// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
/// let mut loan = tx.loan(12).unwrap();
/// assert_eq!(loan.len(), 12);
/// loan.write_value(0, &1u32).unwrap();
/// loan.write_value(4, &2.5f64).unwrap();
/// loan.commit(12);
/// assert_eq!(rx.try_recv_with(|v| v.read_value::<f64>(4)), Ok(Ok(2.5)));
/// ```
#[derive(Debug)]
pub struct Loan<'a> {
    producer: &'a mut Producer,
    reservation: Reservation,
}

impl Loan<'_> {
    /// Payload bytes reserved.
    ///
    /// ```
    /// # use shmq_core::{bytes::Producer, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(64, 16).unwrap());
    /// # // SAFETY: the only producer of this region.
    /// # let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
    /// let loan = tx.loan(5).unwrap();
    /// assert_eq!((loan.len(), loan.is_empty(), loan.payload().len()), (5, false, 5));
    /// ```
    pub fn len(&self) -> usize {
        self.reservation.len
    }

    /// Whether zero bytes are reserved.
    pub fn is_empty(&self) -> bool {
        self.reservation.len == 0
    }

    /// The writable view of the payload.
    #[inline]
    pub fn payload(&self) -> ViewMut<'_> {
        self.producer.reserved(&self.reservation)
    }

    /// Copies `src` to the payload at `offset`; returns how many bytes fit
    /// (see [`ViewMut::write_at`]).
    #[inline]
    pub fn write_at(&mut self, offset: usize, src: &[u8]) -> usize {
        self.payload().write_at(offset, src)
    }

    /// Copies `src` to the start of the payload; returns how many bytes fit.
    #[inline]
    pub fn copy_from_slice(&mut self, src: &[u8]) -> usize {
        self.payload().write_at(0, src)
    }

    /// Writes the bytes of `value` at `offset`.
    ///
    /// # Errors
    /// [`OutOfRange`] if they do not fit; nothing is written.
    #[inline]
    pub fn write_value<T: NoUninit>(&mut self, offset: usize, value: &T) -> Result<(), OutOfRange> {
        self.payload().write_value(offset, value)
    }

    /// Publishes the record with its first `n` bytes (`n` is clamped to
    /// [`Loan::len`]). Returns the bytes published.
    #[inline]
    pub fn commit(self, n: usize) -> usize {
        let n = n.min(self.reservation.len);
        match self.producer.commit(self.reservation, n) {
            Ok(()) => n,
            // Unreachable: the reservation is current (the loan borrows the
            // producer mutably) and `n` is clamped; poisoning happens only
            // in `reserve`/`refresh_head`, before the loan existed.
            Err(_) => 0,
        }
    }
}
