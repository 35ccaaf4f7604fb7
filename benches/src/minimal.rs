//! Minimal hand-written SPSC rings of `u64` over shared memory, for comparison.
//!
//! Lamport's ring with cached peer indices (as in rtrb and rigtorp's
//! `SPSCQueue`), trusting the peer completely and validating nothing: they
//! show what the hardware allows, not what a hardened queue can reach.
//!
//! - [`BatchProducer`]/[`BatchConsumer`]: the *ceiling*, `u64` slots, shared
//!   tail/head published once per batch.
//! - [`IndexProducer`]/[`IndexConsumer`]: the same ring publishing its index
//!   after every message (the classic per-message Lamport ring).
//! - [`SeqProducer`]/[`SeqConsumer`]: a sequence word in each 16-byte slot
//!   (FastForward / Vyukov style), per message; no shared index at all.
//! - [`StampProducer`]/[`StampConsumer`]: shmq's protocol without its checks
//!   and calls — 16-byte slots `[stamp u32, len u32, value u64]`, the producer
//!   publishes a slot by its stamp, the consumer publishes its head every
//!   `head_every` messages (1 = like shmq today) and whenever it finds the ring
//!   empty; per message or in batches. A diagnostic, to tell the cost of the
//!   protocol from the cost of the implementation.
//!
//! Layout at the ring's offset: consumer head (`u64`) at 0, producer tail at
//! 128, slots from 256. Every field is written by one side only.

use crate::shm::ShmFile;
use crate::{err, Result};
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

const HEAD: usize = 0;
const TAIL: usize = 128;
const SLOTS: usize = 256;

/// Bytes of a ring of `capacity` slots of `slot_bytes` each, page rounded.
pub fn footprint(capacity: usize, slot_bytes: usize) -> usize {
    (SLOTS + capacity * slot_bytes).next_multiple_of(4096)
}

/// Bytes per slot of the index rings.
pub const INDEX_SLOT: usize = 8;
/// Bytes per slot of the sequence ring (sequence word, then value).
pub const SEQ_SLOT: usize = 16;

/// The shared cells of one ring, borrowed from the mapping.
#[derive(Debug)]
struct Cells<'a> {
    /// Written by the consumer only: positions consumed.
    head: &'a AtomicU64,
    /// Written by the producer only: positions produced.
    tail: &'a AtomicU64,
    /// Slot 0; `capacity * slot_bytes` bytes inside the mapping.
    slots: *mut u8,
    cap: u64,
    mask: u64,
}

impl<'a> Cells<'a> {
    fn new(shm: &'a ShmFile, off: usize, capacity: usize, slot_bytes: usize) -> Result<Self> {
        if !capacity.is_power_of_two() || off % 4096 != 0 {
            return Err(err("capacity must be a power of two, offset page aligned"));
        }
        if off + footprint(capacity, slot_bytes) > shm.len() {
            return Err(err("ring outside the mapping"));
        }
        Ok(Cells {
            head: shm.u64_at(off + HEAD),
            tail: shm.u64_at(off + TAIL),
            // SAFETY: off + SLOTS is inside the mapping (checked above).
            slots: unsafe { shm.base().add(off + SLOTS) },
            cap: capacity as u64,
            mask: capacity as u64 - 1,
        })
    }

    /// Pointer to the `u64` word `word` (0 or 1) of the slot of position `pos`.
    #[inline(always)]
    fn word(&self, pos: u64, slot_bytes: usize, word: usize) -> *mut u64 {
        let slot = (pos & self.mask) as usize;
        // SAFETY: slot < capacity and word * 8 < slot_bytes, so the word is
        // inside the slots area, which `new` checked lies in the mapping;
        // 8-aligned since the area and slot_bytes are.
        unsafe { self.slots.add(slot * slot_bytes + word * 8).cast() }
    }
}

/// Producer of the ceiling ring (batch publish).
#[derive(Debug)]
pub struct BatchProducer<'a> {
    c: Cells<'a>,
    pos: u64,
    cached_head: u64,
}

impl<'a> BatchProducer<'a> {
    /// The producer of the ring at `off` (zero-filled memory is an empty ring).
    ///
    /// # Errors
    /// Bad capacity or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize) -> Result<Self> {
        Ok(BatchProducer {
            c: Cells::new(shm, off, capacity, INDEX_SLOT)?,
            pos: 0,
            cached_head: 0,
        })
    }

    /// Writes as many of `items` as fit, then publishes them with one store.
    #[inline]
    pub fn push_slice(&mut self, items: &[u64]) -> usize {
        let want = (items.len() as u64).min(self.c.cap);
        let mut free = self.c.cap - (self.pos - self.cached_head);
        if free < want {
            // Acquire: pairs with the consumer's Release store of head, so its
            // reads of those slots happen before we overwrite them.
            self.cached_head = self.c.head.load(Ordering::Acquire);
            free = self.c.cap - (self.pos - self.cached_head);
        }
        let n = free.min(want) as usize;
        for (i, &v) in items[..n].iter().enumerate() {
            let p = self.c.word(self.pos + i as u64, INDEX_SLOT, 0);
            // SAFETY: in the mapping (`word`); the slot is free (the consumer
            // released it, see the Acquire above) and only we write it.
            unsafe { p.write(v) };
        }
        if n > 0 {
            self.pos += n as u64;
            // Release: pairs with the consumer's Acquire load of tail.
            self.c.tail.store(self.pos, Ordering::Release);
        }
        n
    }
}

/// Consumer of the ceiling ring (batch release).
#[derive(Debug)]
pub struct BatchConsumer<'a> {
    c: Cells<'a>,
    pos: u64,
    cached_tail: u64,
}

impl<'a> BatchConsumer<'a> {
    /// The consumer of the ring at `off`.
    ///
    /// # Errors
    /// Bad capacity or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize) -> Result<Self> {
        Ok(BatchConsumer {
            c: Cells::new(shm, off, capacity, INDEX_SLOT)?,
            pos: 0,
            cached_tail: 0,
        })
    }

    /// Copies up to `out.len()` messages out, then releases them with one store.
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [u64]) -> usize {
        let want = out.len() as u64;
        let mut avail = self.cached_tail - self.pos;
        if avail < want {
            // Acquire: pairs with the producer's Release store of tail.
            self.cached_tail = self.c.tail.load(Ordering::Acquire);
            avail = self.cached_tail - self.pos;
        }
        let n = avail.min(want) as usize;
        for (i, o) in out[..n].iter_mut().enumerate() {
            let p = self.c.word(self.pos + i as u64, INDEX_SLOT, 0);
            // SAFETY: in the mapping; published by the producer's Release
            // store of tail, which our Acquire load saw.
            *o = unsafe { p.read() };
        }
        if n > 0 {
            self.pos += n as u64;
            // Release: pairs with the producer's Acquire load of head.
            self.c.head.store(self.pos, Ordering::Release);
        }
        n
    }
}

/// Producer of the per-message index ring.
#[derive(Debug)]
pub struct IndexProducer<'a> {
    c: Cells<'a>,
    pos: u64,
    cached_head: u64,
}

impl<'a> IndexProducer<'a> {
    /// The producer of the ring at `off`.
    ///
    /// # Errors
    /// Bad capacity or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize) -> Result<Self> {
        Ok(IndexProducer {
            c: Cells::new(shm, off, capacity, INDEX_SLOT)?,
            pos: 0,
            cached_head: 0,
        })
    }

    /// Enqueues `v`; false if full.
    #[inline]
    pub fn push(&mut self, v: u64) -> bool {
        if self.pos - self.cached_head == self.c.cap {
            // Acquire: pairs with the consumer's Release store of head.
            self.cached_head = self.c.head.load(Ordering::Acquire);
            if self.pos - self.cached_head == self.c.cap {
                return false;
            }
        }
        let p = self.c.word(self.pos, INDEX_SLOT, 0);
        // SAFETY: in the mapping; the slot is free (released by the consumer).
        unsafe { p.write(v) };
        self.pos += 1;
        // Release: pairs with the consumer's Acquire load of tail.
        self.c.tail.store(self.pos, Ordering::Release);
        true
    }
}

/// Consumer of the per-message index ring.
#[derive(Debug)]
pub struct IndexConsumer<'a> {
    c: Cells<'a>,
    pos: u64,
    cached_tail: u64,
}

impl<'a> IndexConsumer<'a> {
    /// The consumer of the ring at `off`.
    ///
    /// # Errors
    /// Bad capacity or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize) -> Result<Self> {
        Ok(IndexConsumer {
            c: Cells::new(shm, off, capacity, INDEX_SLOT)?,
            pos: 0,
            cached_tail: 0,
        })
    }

    /// Dequeues a message, if any.
    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        if self.pos == self.cached_tail {
            // Acquire: pairs with the producer's Release store of tail.
            self.cached_tail = self.c.tail.load(Ordering::Acquire);
            if self.pos == self.cached_tail {
                return None;
            }
        }
        let p = self.c.word(self.pos, INDEX_SLOT, 0);
        // SAFETY: in the mapping; published by the tail store we acquired.
        let v = unsafe { p.read() };
        self.pos += 1;
        // Release: pairs with the producer's Acquire load of head.
        self.c.head.store(self.pos, Ordering::Release);
        Some(v)
    }
}

/// Producer of the sequence-per-slot ring.
#[derive(Debug)]
pub struct SeqProducer<'a> {
    c: Cells<'a>,
    pos: u64,
}

/// Initialises the sequence ring at `off` (sequence of slot `i` = `i`: "free
/// for position `i`"). Call before either side attaches.
///
/// # Errors
/// Bad capacity or offset.
pub fn seq_init(shm: &ShmFile, off: usize, capacity: usize) -> Result<()> {
    let c = Cells::new(shm, off, capacity, SEQ_SLOT)?;
    for i in 0..c.cap {
        // SAFETY: a sequence word in the mapping (`word`), 8-aligned; the
        // peer accesses it only atomically.
        let seq = unsafe { AtomicU64::from_ptr(c.word(i, SEQ_SLOT, 0)) };
        seq.store(i, Ordering::Relaxed);
    }
    Ok(())
}

impl<'a> SeqProducer<'a> {
    /// The producer of the ring at `off` (initialised by [`seq_init`]).
    ///
    /// # Errors
    /// Bad capacity or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize) -> Result<Self> {
        Ok(SeqProducer {
            c: Cells::new(shm, off, capacity, SEQ_SLOT)?,
            pos: 0,
        })
    }

    /// Enqueues `v`; false if full.
    #[inline]
    pub fn push(&mut self, v: u64) -> bool {
        // SAFETY: a sequence word in the mapping, accessed only atomically.
        let seq = unsafe { AtomicU64::from_ptr(self.c.word(self.pos, SEQ_SLOT, 0)) };
        // Acquire: pairs with the consumer's Release store freeing the slot.
        if seq.load(Ordering::Acquire) != self.pos {
            return false;
        }
        // SAFETY: the value word of the same slot, which is free (seq == pos).
        unsafe { self.c.word(self.pos, SEQ_SLOT, 1).write(v) };
        self.pos += 1;
        // Release: pairs with the consumer's Acquire load of this sequence.
        seq.store(self.pos, Ordering::Release);
        true
    }
}

/// Consumer of the sequence-per-slot ring.
#[derive(Debug)]
pub struct SeqConsumer<'a> {
    c: Cells<'a>,
    pos: u64,
}

impl<'a> SeqConsumer<'a> {
    /// The consumer of the ring at `off` (initialised by [`seq_init`]).
    ///
    /// # Errors
    /// Bad capacity or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize) -> Result<Self> {
        Ok(SeqConsumer {
            c: Cells::new(shm, off, capacity, SEQ_SLOT)?,
            pos: 0,
        })
    }

    /// Dequeues a message, if any.
    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        // SAFETY: a sequence word in the mapping, accessed only atomically.
        let seq = unsafe { AtomicU64::from_ptr(self.c.word(self.pos, SEQ_SLOT, 0)) };
        // Acquire: pairs with the producer's Release store publishing the slot.
        if seq.load(Ordering::Acquire) != self.pos + 1 {
            return None;
        }
        // SAFETY: the value word of a published slot.
        let v = unsafe { self.c.word(self.pos, SEQ_SLOT, 1).read() };
        // Release: pairs with the producer's Acquire load, a lap later.
        seq.store(self.pos + self.c.cap, Ordering::Release);
        self.pos += 1;
        Some(v)
    }
}

/// Bytes per slot of the stamp ring (as shmq's u64 slots: 8-byte header + payload).
pub const STAMP_SLOT: usize = 16;

/// Stamp of a slot holding position `pos` (shmq's "full" stamp).
#[inline(always)]
fn full_stamp(pos: u64) -> u32 {
    (pos as u32).wrapping_add(1)
}

/// Pointer to the `u32` at byte `byte` of the slot of position `pos`.
#[inline(always)]
fn stamp_field(c: &Cells<'_>, pos: u64, byte: usize) -> *mut u32 {
    let slot = (pos & c.mask) as usize;
    // SAFETY: slot < capacity and byte + 4 <= STAMP_SLOT: inside the slots
    // area, which `Cells::new` checked lies in the mapping; 4-aligned.
    unsafe { c.slots.add(slot * STAMP_SLOT + byte).cast() }
}

/// Producer of the stamp ring (zero-filled memory is an empty ring: the
/// "empty" stamp of position `p < capacity` is `p + 1 - capacity`, never
/// equal to the full stamp, and the producer never reads stamps).
#[derive(Debug)]
pub struct StampProducer<'a> {
    c: Cells<'a>,
    pos: u64,
    cached_head: u64,
}

impl<'a> StampProducer<'a> {
    /// The producer of the ring at `off`.
    ///
    /// # Errors
    /// Bad capacity or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize) -> Result<Self> {
        Ok(StampProducer {
            c: Cells::new(shm, off, capacity, STAMP_SLOT)?,
            pos: 0,
            cached_head: 0,
        })
    }

    #[inline(always)]
    fn free(&mut self, want: u64) -> u64 {
        let known = self.c.cap - (self.pos - self.cached_head);
        if known >= want {
            return known;
        }
        // Acquire: pairs with the consumer's Release store of head.
        self.cached_head = self.c.head.load(Ordering::Acquire);
        self.c.cap - (self.pos - self.cached_head)
    }

    #[inline(always)]
    fn write(&self, pos: u64, v: u64) {
        // SAFETY: the length field of a slot the consumer released (`free`),
        // in the mapping (`stamp_field`); only the producer writes it.
        unsafe { stamp_field(&self.c, pos, 4).write(8) };
        // SAFETY: the value word of the same slot, in the mapping (`word`).
        unsafe { self.c.word(pos, STAMP_SLOT, 1).write(v) };
    }

    #[inline(always)]
    fn stamp(&self, pos: u64) -> &AtomicU32 {
        // SAFETY: a stamp word in the mapping, accessed only atomically.
        unsafe { AtomicU32::from_ptr(stamp_field(&self.c, pos, 0)) }
    }

    /// Enqueues `v`; false if full.
    #[inline]
    pub fn push(&mut self, v: u64) -> bool {
        if self.free(1) == 0 {
            return false;
        }
        self.write(self.pos, v);
        // Release: pairs with the consumer's Acquire load of the stamp.
        self.stamp(self.pos)
            .store(full_stamp(self.pos), Ordering::Release);
        self.pos += 1;
        // Published for observers only, as shmq's TAIL cell.
        self.c.tail.store(self.pos, Ordering::Relaxed);
        true
    }

    /// Enqueues as many of `items` as fit: payloads, one Release fence, stamps.
    #[inline]
    pub fn push_slice(&mut self, items: &[u64]) -> usize {
        let want = (items.len() as u64).min(self.c.cap);
        let n = self.free(want).min(want) as usize;
        for (i, &v) in items[..n].iter().enumerate() {
            self.write(self.pos + i as u64, v);
        }
        // Release: pairs with the consumer's Acquire load of any stamp below.
        fence(Ordering::Release);
        for i in 0..n as u64 {
            let pos = self.pos + i;
            self.stamp(pos).store(full_stamp(pos), Ordering::Relaxed);
        }
        self.pos += n as u64;
        self.c.tail.store(self.pos, Ordering::Relaxed);
        n
    }
}

/// Consumer of the stamp ring.
#[derive(Debug)]
pub struct StampConsumer<'a> {
    c: Cells<'a>,
    pos: u64,
    /// Head as last published.
    published: u64,
    head_every: u64,
}

impl<'a> StampConsumer<'a> {
    /// The consumer of the ring at `off`, publishing its head every
    /// `head_every` messages (and whenever it finds the ring empty).
    ///
    /// # Errors
    /// Bad capacity or offset, or `head_every` not in `1..=capacity / 2`.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize, head_every: u64) -> Result<Self> {
        if head_every == 0 || head_every > capacity as u64 / 2 {
            return Err(err("head_every must be in 1..=capacity/2"));
        }
        Ok(StampConsumer {
            c: Cells::new(shm, off, capacity, STAMP_SLOT)?,
            pos: 0,
            published: 0,
            head_every,
        })
    }

    #[inline(always)]
    fn ready(&self, pos: u64) -> bool {
        // SAFETY: a stamp word in the mapping, accessed only atomically.
        let stamp = unsafe { AtomicU32::from_ptr(stamp_field(&self.c, pos, 0)) };
        // Acquire: pairs with the producer's Release store of the stamp (or
        // its Release fence before a batch of stamps).
        stamp.load(Ordering::Acquire) == full_stamp(pos)
    }

    #[inline(always)]
    fn read(&self, pos: u64) -> Option<u64> {
        // SAFETY: the length field of a published slot, in the mapping.
        let len = unsafe { stamp_field(&self.c, pos, 4).read() };
        if len != 8 {
            return None;
        }
        // SAFETY: the value word of the same slot, in the mapping.
        Some(unsafe { self.c.word(pos, STAMP_SLOT, 1).read() })
    }

    #[inline(always)]
    fn publish(&mut self) {
        self.published = self.pos;
        // Release: pairs with the producer's Acquire load of head.
        self.c.head.store(self.pos, Ordering::Release);
    }

    /// Dequeues a message, if any (None also for a malformed length).
    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        if !self.ready(self.pos) {
            if self.published != self.pos {
                self.publish();
            }
            return None;
        }
        let v = self.read(self.pos)?;
        self.pos += 1;
        if self.pos - self.published >= self.head_every {
            self.publish();
        }
        Some(v)
    }

    /// Dequeues up to `out.len()` messages, then publishes the head once.
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [u64]) -> usize {
        let mut n = 0;
        while n < out.len() && self.ready(self.pos + n as u64) {
            match self.read(self.pos + n as u64) {
                Some(v) => out[n] = v,
                None => break,
            }
            n += 1;
        }
        if n > 0 {
            self.pos += n as u64;
            self.publish();
        }
        n
    }
}

/// Producer of a minimal ring of fixed-size byte messages (`slot_bytes` each,
/// a multiple of 8): Lamport's ring with a cached head, publishing its tail on
/// [`BytesProducer::publish`] (per message in ping-pong, per batch in streams).
/// The sized-message ceiling.
#[derive(Debug)]
pub struct BytesProducer<'a> {
    c: Cells<'a>,
    slot_bytes: usize,
    pos: u64,
    published: u64,
    cached_head: u64,
}

impl<'a> BytesProducer<'a> {
    /// The producer of the ring at `off` (zero-filled memory is an empty ring).
    ///
    /// # Errors
    /// Bad capacity, slot size or offset.
    pub fn new(shm: &'a ShmFile, off: usize, capacity: usize, slot_bytes: usize) -> Result<Self> {
        if slot_bytes == 0 || slot_bytes % 8 != 0 {
            return Err(err("slot size must be a positive multiple of 8"));
        }
        Ok(BytesProducer {
            c: Cells::new(shm, off, capacity, slot_bytes)?,
            slot_bytes,
            pos: 0,
            published: 0,
            cached_head: 0,
        })
    }

    /// Copies `msg` (exactly `slot_bytes` long) into the next free slot
    /// without publishing it; false if the ring is full.
    ///
    /// # Panics
    /// If `msg` is not `slot_bytes` long.
    #[inline]
    pub fn write(&mut self, msg: &[u8]) -> bool {
        assert_eq!(msg.len(), self.slot_bytes, "message size");
        if self.pos - self.cached_head == self.c.cap {
            // Acquire: pairs with the consumer's Release store of head, so its
            // reads of the released slots happen before we overwrite them.
            self.cached_head = self.c.head.load(Ordering::Acquire);
            if self.pos - self.cached_head == self.c.cap {
                return false;
            }
        }
        let p = self.c.word(self.pos, self.slot_bytes, 0).cast::<u8>();
        // SAFETY: the slot (slot_bytes bytes from `p`) lies in the mapping
        // (`word`); it is free (released by the consumer, Acquire above) and
        // only this producer writes it; `msg` is a separate local buffer.
        unsafe { core::ptr::copy_nonoverlapping(msg.as_ptr(), p, self.slot_bytes) };
        self.pos += 1;
        true
    }

    /// Messages written and not yet published.
    pub fn pending(&self) -> u64 {
        self.pos - self.published
    }

    /// Publishes every written message with one store.
    #[inline]
    pub fn publish(&mut self) {
        if self.published != self.pos {
            self.published = self.pos;
            // Release: pairs with the consumer's Acquire load of tail.
            self.c.tail.store(self.pos, Ordering::Release);
        }
    }
}

/// Consumer of the minimal byte-message ring; releases its head every
/// `release_every` messages and whenever it finds the ring empty.
#[derive(Debug)]
pub struct BytesConsumer<'a> {
    c: Cells<'a>,
    slot_bytes: usize,
    pos: u64,
    released: u64,
    cached_tail: u64,
    release_every: u64,
}

impl<'a> BytesConsumer<'a> {
    /// The consumer of the ring at `off`.
    ///
    /// # Errors
    /// Bad capacity, slot size, offset or `release_every` of 0.
    pub fn new(
        shm: &'a ShmFile,
        off: usize,
        capacity: usize,
        slot_bytes: usize,
        release_every: u64,
    ) -> Result<Self> {
        if slot_bytes == 0 || slot_bytes % 8 != 0 || release_every == 0 {
            return Err(err("bad slot size or release interval"));
        }
        Ok(BytesConsumer {
            c: Cells::new(shm, off, capacity, slot_bytes)?,
            slot_bytes,
            pos: 0,
            released: 0,
            cached_tail: 0,
            release_every,
        })
    }

    /// Copies the next message into `buf` (at least `slot_bytes` long);
    /// false if the ring is empty.
    ///
    /// # Panics
    /// If `buf` is shorter than a slot.
    #[inline]
    pub fn pop_into(&mut self, buf: &mut [u8]) -> bool {
        assert!(buf.len() >= self.slot_bytes, "buffer size");
        if self.pos == self.cached_tail {
            self.release();
            // Acquire: pairs with the producer's Release store of tail, so
            // the slot contents written before it are visible.
            self.cached_tail = self.c.tail.load(Ordering::Acquire);
            if self.pos == self.cached_tail {
                return false;
            }
        }
        let p = self.c.word(self.pos, self.slot_bytes, 0).cast::<u8>();
        // SAFETY: the slot lies in the mapping (`word`) and was published by
        // the producer (Acquire above), which does not write it again until we
        // release it; `buf` is a separate local buffer of sufficient length.
        unsafe { core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), self.slot_bytes) };
        self.pos += 1;
        if self.pos - self.released >= self.release_every {
            self.release();
        }
        true
    }

    fn release(&mut self) {
        if self.released != self.pos {
            self.released = self.pos;
            // Release: pairs with the producer's Acquire load of head.
            self.c.head.store(self.pos, Ordering::Release);
        }
    }
}
