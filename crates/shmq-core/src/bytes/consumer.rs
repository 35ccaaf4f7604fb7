//! The reading end of the byte ring.

use super::data::{self, View};
use super::{empty_stamp, full_stamp, load_header, record_size, PopError, Violation, PAD};
use crate::layout::{offset, EndpointState, RECORD_HEADER};
use crate::region::Region;
use crate::spsc::{bump, record_poison};
use crate::sync::{Index, Ordering};
use bytemuck::Pod;
use core::mem::size_of;

/// The single consumer of a byte ring.
///
/// Holds its cursor privately; the `head` cell in the region is published
/// for the producer (free-space checks) and for a successor after a crash.
#[derive(Debug)]
pub struct Consumer {
    region: Region,
    /// Byte position of the next record (8-aligned). Private.
    head: Index,
    /// Messages dequeued (published in `MESSAGES_RECEIVED`).
    received: Index,
    capacity: usize,
    mask: usize,
    max_message: usize,
    poisoned: Option<Violation>,
}

/// What is at a position: a validated record, or nothing yet.
#[derive(Clone, Copy, Debug)]
enum Next {
    /// A record of `len` payload bytes whose header is at `pos` (after the
    /// padding record skipped to reach it, if any).
    Record { pos: Index, len: usize },
    /// Nothing published at `pos` (after a skipped padding record, if any).
    Empty { pos: Index },
}

impl Consumer {
    /// Takes the consumer side of `region` (a byte ring), resuming at the
    /// published head.
    ///
    /// A predecessor that died after copying a record out but before
    /// publishing its head leaves that record to be delivered again.
    ///
    /// # Errors
    /// [`Violation::Cursors`] if the published head is not 8-aligned or
    /// its header is neither published nor a terminator; also counted.
    ///
    /// # Safety
    /// While the returned consumer is used, no other `Consumer` attached to
    /// the same bytes may be used concurrently by another thread of this
    /// process (the platform crate's role lock guarantees it).
    pub unsafe fn attach(region: Region) -> Result<Self, Violation> {
        debug_assert_eq!(region.geometry().kind(), crate::layout::QueueKind::Bytes);
        let capacity = region.geometry().capacity() as usize;
        let mask = capacity - 1;
        let head = region.index(offset::HEAD).load(Ordering::Relaxed);
        let (stamp, _) = load_header(&region, head as usize & mask);
        if head % 8 != 0 || (stamp != full_stamp(head) && stamp != empty_stamp(head)) {
            record_poison(&region, offset::CONSUMER_POISON);
            let tail = region.index(offset::TAIL).load(Ordering::Relaxed);
            return Err(Violation::Cursors { head, tail });
        }
        let received = region
            .index(offset::MESSAGES_RECEIVED)
            .load(Ordering::Relaxed);
        region
            .word(offset::CONSUMER_STATE)
            .store(EndpointState::ATTACHED, Ordering::Relaxed);
        let max_message = region.geometry().slot_size() as usize;
        Ok(Consumer {
            region,
            head,
            received,
            capacity,
            mask,
            max_message,
            poisoned: None,
        })
    }

    /// The region this consumer reads.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Largest message, in bytes.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// The violation that poisoned this consumer, if any.
    pub fn poisoned(&self) -> Option<Violation> {
        self.poisoned
    }

    #[cold]
    #[inline(never)]
    fn poison(&mut self, v: Violation) -> PopError {
        self.poisoned = Some(v);
        record_poison(&self.region, offset::CONSUMER_POISON);
        PopError::Poisoned(v)
    }

    /// Reads and validates the header at `pos`, skipping one padding
    /// record. Each header is loaded once; only the locals are used.
    #[inline]
    fn next(&mut self, mut pos: Index) -> Result<Next, PopError> {
        if let Some(v) = self.poisoned {
            return Err(PopError::Poisoned(v));
        }
        let mut padded = false;
        // At most two headers: an honest producer never writes two padding
        // records in a row (after one, the record starts at offset 0 and
        // fits, since a record is at most half the ring).
        loop {
            let off = pos as usize & self.mask;
            let (stamp, len) = load_header(&self.region, off);
            if stamp == empty_stamp(pos) {
                return Ok(Next::Empty { pos });
            }
            if stamp != full_stamp(pos) {
                return Err(self.poison(Violation::Stamp {
                    position: pos,
                    found: stamp,
                }));
            }
            if len & PAD != 0 {
                if padded || (len & !PAD) as usize != self.capacity - off {
                    return Err(self.poison(Violation::Length {
                        position: pos,
                        found: len,
                    }));
                }
                padded = true;
                pos = pos.wrapping_add((self.capacity - off) as Index);
                continue;
            }
            if len as usize > self.max_message || off + record_size(len as usize) > self.capacity {
                return Err(self.poison(Violation::Length {
                    position: pos,
                    found: len,
                }));
            }
            return Ok(Next::Record {
                pos,
                len: len as usize,
            });
        }
    }

    /// Publishes `head` (Release: pairs with the producer's Acquire load of
    /// HEAD, so our copies happen before it overwrites these bytes).
    #[inline]
    fn publish(&mut self, head: Index) {
        self.head = head;
        self.region
            .index(offset::HEAD)
            .store(head, Ordering::Release);
    }

    /// Releases records up to `head`, `n` messages.
    #[inline]
    fn advance(&mut self, head: Index, n: Index) {
        self.received = self.received.wrapping_add(n);
        self.region
            .index(offset::MESSAGES_RECEIVED)
            .store(self.received, Ordering::Relaxed);
        self.publish(head);
    }

    /// The next record, or `Empty` (counted; a skipped padding record is
    /// released at once so the producer can reuse it).
    #[inline]
    fn peek(&mut self) -> Result<(Index, usize), PopError> {
        match self.next(self.head)? {
            Next::Record { pos, len } => Ok((pos, len)),
            Next::Empty { pos } => {
                if pos != self.head {
                    self.publish(pos);
                }
                bump(&self.region, offset::EMPTY_COUNT);
                Err(PopError::Empty)
            }
        }
    }

    /// Ring offset of the payload of the record at `pos`.
    #[inline]
    fn payload_at(&self, pos: Index) -> usize {
        (pos as usize & self.mask) + RECORD_HEADER
    }

    /// Dequeues one message into `buf`, returning its length.
    ///
    /// # Errors
    /// [`PopError::Empty`]; [`PopError::Size`] if the message is longer than
    /// `buf` (it stays queued); [`PopError::Poisoned`].
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, PopError, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push(b"twelve bytes").unwrap();
    /// let mut small = [0u8; 4];
    /// assert_eq!(rx.try_pop(&mut small), Err(PopError::Size { len: 12, capacity: 4 }));
    /// let mut buf = [0u8; 64];
    /// assert_eq!(rx.try_pop(&mut buf), Ok(12));
    /// assert_eq!(rx.try_pop(&mut buf), Err(PopError::Empty));
    /// ```
    #[inline]
    pub fn try_pop(&mut self, buf: &mut [u8]) -> Result<usize, PopError> {
        let (pos, len) = self.peek()?;
        if len > buf.len() {
            return Err(PopError::Size {
                len,
                capacity: buf.len(),
            });
        }
        data::load(&self.region, self.payload_at(pos), &mut buf[..len]);
        self.advance(pos.wrapping_add(record_size(len) as Index), 1);
        Ok(len)
    }

    /// Dequeues one message of exactly `size_of::<T>()` bytes as a `T`.
    ///
    /// # Errors
    /// As [`Consumer::try_pop`]; [`PopError::Size`] for another length (the
    /// message stays queued).
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push_value(&7u16).unwrap();
    /// assert_eq!(rx.try_pop_value::<u16>(), Ok(7));
    /// ```
    #[inline]
    pub fn try_pop_value<T: Pod>(&mut self) -> Result<T, PopError> {
        let (pos, len) = self.peek()?;
        if len != size_of::<T>() {
            return Err(PopError::Size {
                len,
                capacity: size_of::<T>(),
            });
        }
        let mut value = T::zeroed();
        data::load(
            &self.region,
            self.payload_at(pos),
            bytemuck::bytes_of_mut(&mut value),
        );
        self.advance(pos.wrapping_add(record_size(len) as Index), 1);
        Ok(value)
    }

    /// Dequeues up to `out.len()` messages of `size_of::<T>()` bytes each and
    /// releases them with one store of the head. Stops early at an empty
    /// ring or a message of another size; messages copied before a
    /// violation is met are returned (the next call reports it).
    ///
    /// # Errors
    /// [`PopError::Empty`] if `out` is non-empty and nothing is ready;
    /// [`PopError::Size`] or [`PopError::Poisoned`] if the first message is
    /// unfit or impossible.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.push_slice(&[1u32, 2, 3]).unwrap();
    /// let mut out = [0u32; 8];
    /// assert_eq!(rx.pop_slice(&mut out), Ok(3));
    /// assert_eq!(out[..3], [1, 2, 3]);
    /// ```
    pub fn pop_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, PopError> {
        let mut n = 0;
        let mut head = self.head;
        // Bounded by `out.len()`; each step moves at least 8 bytes on.
        while n < out.len() {
            let (pos, len) = match self.next(head) {
                Ok(Next::Record { pos, len }) => (pos, len),
                Ok(Next::Empty { pos }) => {
                    head = pos;
                    break;
                }
                Err(_) if n > 0 => break,
                Err(e) => return Err(e),
            };
            if len != size_of::<T>() {
                if n > 0 {
                    break;
                }
                if head != self.head {
                    self.publish(head);
                }
                return Err(PopError::Size {
                    len,
                    capacity: size_of::<T>(),
                });
            }
            data::load(
                &self.region,
                self.payload_at(pos),
                bytemuck::bytes_of_mut(&mut out[n]),
            );
            head = pos.wrapping_add(record_size(len) as Index);
            n += 1;
        }
        if n > 0 {
            self.advance(head, n as Index);
        } else if !out.is_empty() {
            if head != self.head {
                self.publish(head);
            }
            bump(&self.region, offset::EMPTY_COUNT);
            return Err(PopError::Empty);
        }
        Ok(n)
    }

    /// Dequeues one message by handing a [`View`] of it, in place, to `f`;
    /// the record is released when `f` returns (if `f` panics it stays
    /// queued). Returns what `f` returns.
    ///
    /// # Errors
    /// [`PopError::Empty`] or [`PopError::Poisoned`]; `f` is not called.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push(b"in place").unwrap();
    /// let sum = rx.try_recv_with(|view| {
    ///     let mut buf = [0u8; 64];
    ///     let n = view.copy_to_slice(&mut buf);
    ///     buf[..n].iter().map(|&b| u32::from(b)).sum::<u32>()
    /// });
    /// assert_eq!(sum, Ok(b"in place".iter().map(|&b| u32::from(b)).sum()));
    /// ```
    #[inline]
    pub fn try_recv_with<R>(&mut self, f: impl FnOnce(View<'_>) -> R) -> Result<R, PopError> {
        let (pos, len) = self.peek()?;
        let r = f(View::new(&self.region, self.payload_at(pos), len));
        self.advance(pos.wrapping_add(record_size(len) as Index), 1);
        Ok(r)
    }

    /// The producer role's state word (see `spsc::Consumer::producer_state`:
    /// after "closed", pop once more before concluding the queue is drained).
    pub fn producer_state(&self) -> EndpointState {
        crate::spsc::role_state(&self.region, offset::PRODUCER_STATE)
    }

    /// Marks the role closed (idempotent; done again on drop).
    pub fn close(&self) {
        crate::spsc::close_role(&self.region, offset::CONSUMER_STATE);
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.close();
    }
}
