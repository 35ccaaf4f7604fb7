//! A producer of the MPMC ring (one of many).

use super::repair::{self, attach_entry, detach_entry, pack, AttachError, Budget, Repair, Scan};
use super::{
    bump_idle, free_seq, full_seq, record_poison, role, skip_seq, Peers, PushError, Step,
    Violation, MAX_BATCH, RETRIES,
};
use crate::layout::{offset, EndpointState};
use crate::region::Region;
use crate::sync::{fence, AtomicBool, Index, Ordering};
use bytemuck::NoUninit;

use core::mem::size_of;

/// One producer of an MPMC ring, holding endpoint-table entry `entry`.
///
/// Positions are claimed by a CAS on the shared `tail` (a producer cannot
/// keep its cursor privately: all producers share it); every value read from
/// it is validated against the slot's sequence word before use.
#[derive(Debug)]
pub struct Producer<P: Peers> {
    region: Region,
    entry: usize,
    capacity: u32,
    mask: usize,
    slot_size: usize,
    peers: P,
    poisoned: Option<Violation>,
    /// The liveness scan in progress for a stalled position, resumed by the
    /// next call when a call's [`Budget`] ran out.
    scan: Scan,
    /// Set when the test hook halted an operation: the endpoint is "dead"
    /// and its drop must leave the table entry as a killed process would.
    halted: AtomicBool,
}

/// What one claim attempt found.
enum Claim {
    /// Positions `pos .. pos + n` are ours.
    Got(Index, usize),
    /// Halted by the test hook.
    Halted,
}

impl<P: Peers> Producer<P> {
    /// Attaches as a producer holding table entry `entry`, whose lock the
    /// caller holds. `peers` answers liveness questions about other entries.
    ///
    /// # Errors
    /// [`AttachError`] if `entry` is outside the table or still records a
    /// stalled claim of a dead predecessor.
    pub fn attach(region: Region, entry: usize, peers: P) -> Result<Self, AttachError> {
        attach_entry(&region, entry, role::PRODUCER)?;
        region
            .word(offset::PRODUCER_STATE)
            .store(EndpointState::ATTACHED, Ordering::Relaxed);
        let g = *region.geometry();
        Ok(Producer {
            region,
            entry,
            capacity: g.capacity(),
            mask: g.capacity() as usize - 1,
            slot_size: g.slot_size() as usize,
            peers,
            poisoned: None,
            scan: Scan::default(),
            halted: AtomicBool::new(false),
        })
    }

    /// The region this producer writes.
    pub fn region(&self) -> &Region {
        &self.region
    }
    /// The table entry this producer holds.
    pub fn entry(&self) -> usize {
        self.entry
    }
    /// The liveness oracle.
    pub fn peers(&self) -> &P {
        &self.peers
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

    #[inline]
    fn stop(&self, step: Step) -> bool {
        let halt = self.peers.halt(step);
        if halt {
            self.halted.store(true, Ordering::Relaxed);
        }
        halt
    }

    fn poison(&mut self, v: Violation) -> PushError {
        self.poisoned = Some(v);
        record_poison(&self.region, offset::PRODUCER_POISON);
        PushError::Poisoned(v)
    }

    fn full(&self) -> PushError {
        bump_idle(&self.region, self.entry);
        PushError::Full
    }

    /// Claims up to `want` (1..=MAX_BATCH) consecutive free positions.
    fn claim(&mut self, want: usize) -> Result<Claim, PushError> {
        if let Some(v) = self.poisoned {
            return Err(PushError::Poisoned(v));
        }
        let cap = Index::from(self.capacity);
        let tail_cell = self.region.index(offset::TAIL);
        // Acquire: pairs with the AcqRel claiming CASes (release sequence),
        // so the sequence words seen by earlier claimers are visible.
        let mut pos = tail_cell.load(Ordering::Acquire);
        let mut budget = Budget::new();
        for _ in 0..RETRIES {
            let slot = pos as usize & self.mask;
            // Acquire: pairs with the consumer's Release store that freed the
            // slot, so its payload copy happens before our write.
            let seq = self.region.stamp(slot).load(Ordering::Acquire);
            if seq == free_seq(pos) {
                let mut n = 1;
                while n < want {
                    let p = pos.wrapping_add(n as Index);
                    // Acquire: as above, for each slot of the batch.
                    let s = self
                        .region
                        .stamp(p as usize & self.mask)
                        .load(Ordering::Acquire);
                    if s != free_seq(p) {
                        break;
                    }
                    n += 1;
                }
                repair::set_record(&self.region, self.entry, pack(pos, n));
                if self.stop(Step::Recorded) {
                    return Ok(Claim::Halted);
                }
                // AcqRel: Release publishes the record above to any survivor
                // whose Acquire load of `tail` sees this claim; Acquire
                // continues the chain from earlier claimers.
                match tail_cell.compare_exchange(
                    pos,
                    pos.wrapping_add(n as Index),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(Claim::Got(pos, n)),
                    Err(cur) => {
                        // We own none of it: every exit from here on
                        // (retry, Full, poison) must leave no record.
                        repair::clear_record(&self.region, self.entry);
                        pos = cur;
                        continue;
                    }
                }
            }
            let prev = pos.wrapping_sub(cap);
            if seq == full_seq(prev) || seq == skip_seq(prev) || seq == free_seq(prev) {
                // The previous lap still holds the slot.
                // Acquire: pairs with the consumers' claiming CASes.
                let head = self.region.index(offset::HEAD).load(Ordering::Acquire);
                let used = pos.wrapping_sub(head);
                if used == cap {
                    return Err(self.full());
                }
                if used > cap {
                    // Our `pos` is stale, or `head` is impossible.
                    let cur = tail_cell.load(Ordering::Acquire);
                    if cur == pos {
                        return Err(self.poison(Violation::Cursors { head, tail: pos }));
                    }
                    pos = cur;
                    continue;
                }
                if seq == free_seq(prev) {
                    // A stale view (consumers passed `prev` since): report
                    // no progress now rather than spin; the caller retries.
                    return Err(self.full());
                }
                // A consumer claimed `prev` and has not released it: spin
                // a little, ask whether its owners are dead, and wait a
                // little longer for a live one; bounded by the budget.
                if budget.spin(&self.region, slot, seq) {
                    continue;
                }
                match repair::repair_consumer_stall(
                    &self.region,
                    prev,
                    slot,
                    seq,
                    &self.peers,
                    &mut self.scan,
                    &mut budget,
                ) {
                    Repair::Done => continue,
                    // A live owner: wait for it a little longer (yields).
                    Repair::Alive if budget.snooze(&self.region, slot, seq, &self.peers) => {
                        continue
                    }
                    Repair::Alive | Repair::Later => return Err(self.full()),
                }
            }
            // Any other value: someone claimed `pos` since we read `tail`.
            let cur = tail_cell.load(Ordering::Acquire);
            if cur == pos {
                return Err(self.poison(Violation::Stamp {
                    position: pos,
                    found: seq,
                }));
            }
            pos = cur;
        }
        Err(self.full())
    }

    /// Writes length and payload of claimed position `pos`.
    #[inline]
    fn write(&self, pos: Index, msg: &[u8]) {
        let slot = pos as usize & self.mask;
        self.region
            .len(slot)
            .store(msg.len() as u32, Ordering::Relaxed);
        // SAFETY: msg.len() <= slot_size (checked by every caller), slot is
        // masked, and the slot is ours: our CAS claimed `pos` after its
        // sequence word said free for `pos`.
        unsafe { self.region.write_payload(slot, msg) };
    }

    /// Enqueues one message of `0..=slot_size` bytes.
    ///
    /// # Errors
    /// [`PushError::Full`] (also when a dead consumer's claim is not yet
    /// repairable or the call's repair budget ran out, or a live one is
    /// still slow after a bounded wait, [`super::SPIN_STEPS`]), [`PushError::TooLarge`],
    /// [`PushError::Poisoned`]; nothing is enqueued in each case.
    ///
    /// # Example
    /// ```
    /// # use shmq_core::{layout::Geometry, testing::{HeapRegion, NoPeers}, mpmc::{Consumer, Producer}};
    /// let heap = HeapRegion::new(Geometry::new_mpmc(4, 16, 2).unwrap());
    /// let mut tx = Producer::attach(heap.region(), 0, NoPeers).unwrap();
    /// let mut rx = Consumer::attach(heap.region(), 1, NoPeers).unwrap();
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
        let Claim::Got(pos, _) = self.claim(1)? else {
            return Ok(());
        };
        if self.stop(Step::Claimed) {
            return Ok(());
        }
        self.write(pos, msg);
        if self.stop(Step::Written) {
            return Ok(());
        }
        // Release: pairs with the consumer's Acquire load of this sequence word.
        self.region
            .stamp(pos as usize & self.mask)
            .store(full_seq(pos), Ordering::Release);
        self.stop(Step::Published);
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

    /// Enqueues a prefix of `items` (one message each) with one claim: up to
    /// [`MAX_BATCH`] consecutive free slots, one CAS, all payloads, one
    /// Release fence, then the sequence words. Returns how many.
    ///
    /// # Errors
    /// [`PushError::Full`] if `items` is non-empty and none fits;
    /// [`PushError::TooLarge`] if `T` is larger than a slot; poisoned.
    pub fn push_slice<T: NoUninit>(&mut self, items: &[T]) -> Result<usize, PushError> {
        if size_of::<T>() > self.slot_size {
            return Err(PushError::TooLarge {
                len: size_of::<T>(),
                max: self.slot_size,
            });
        }
        if items.is_empty() {
            return Ok(0);
        }
        let want = items.len().min(MAX_BATCH).min(self.capacity as usize);
        let Claim::Got(start, n) = self.claim(want)? else {
            return Ok(0);
        };
        if self.stop(Step::Claimed) {
            return Ok(0);
        }
        for (i, item) in items[..n].iter().enumerate() {
            self.write(start.wrapping_add(i as Index), bytemuck::bytes_of(item));
        }
        if self.stop(Step::Written) {
            return Ok(0);
        }
        // Release: pairs with the consumers' Acquire loads of the sequence
        // words stored Relaxed below.
        fence(Ordering::Release);
        for i in 0..n as Index {
            let pos = start.wrapping_add(i);
            self.region
                .stamp(pos as usize & self.mask)
                .store(full_seq(pos), Ordering::Relaxed);
        }
        self.stop(Step::Published);
        Ok(n)
    }

    /// Whether a live consumer is attached (one `is_dead` call per consumer
    /// entry: rate-limit it).
    pub fn consumer_alive(&self) -> bool {
        super::any_live(&self.region, role::CONSUMER, &self.peers)
    }

    /// Whether a consumer ever attached to this region.
    pub fn consumer_ever(&self) -> bool {
        EndpointState::from_word(
            self.region
                .word(offset::CONSUMER_STATE)
                .load(Ordering::Relaxed),
        ) != EndpointState::Never
    }
}

impl<P: Peers> Drop for Producer<P> {
    fn drop(&mut self) {
        if !self.halted.load(Ordering::Relaxed) {
            detach_entry(&self.region, self.entry);
        }
    }
}
