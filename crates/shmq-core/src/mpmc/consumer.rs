//! A consumer of the MPMC ring (one of many).

use super::repair::{self, attach_entry, detach_entry, pack, AttachError, Budget, Repair, Scan};
use super::{
    bump_idle, free_seq, full_seq, record_poison, role, skip_seq, Peers, PopError, Step, Violation,
    MAX_BATCH, RETRIES,
};
use crate::layout::offset;
use crate::region::Region;
use crate::sync::{fence, AtomicBool, Index, Ordering};
use bytemuck::Pod;

use core::mem::size_of;

/// One consumer of an MPMC ring, holding endpoint-table entry `entry`.
///
/// Each message goes to exactly one consumer (competing consumers).
#[derive(Debug)]
pub struct Consumer<P: Peers> {
    region: Region,
    entry: usize,
    capacity: u32,
    mask: usize,
    slot_size: usize,
    peers: P,
    poisoned: Option<Violation>,
    /// See `Producer::scan`.
    scan: Scan,
    /// See `Producer::halted`.
    halted: AtomicBool,
}

/// How the caller wants the length of the next message checked.
#[derive(Clone, Copy)]
enum Fit {
    /// At most this many bytes.
    AtMost(usize),
    /// Exactly this many bytes.
    Exactly(usize),
}

impl Fit {
    fn accepts(self, len: usize) -> bool {
        match self {
            Fit::AtMost(n) => len <= n,
            Fit::Exactly(n) => len == n,
        }
    }
    fn offered(self) -> usize {
        match self {
            Fit::AtMost(n) | Fit::Exactly(n) => n,
        }
    }
}

/// What a claim attempt found.
enum Claim {
    /// Positions `pos .. pos + n` hold committed messages that are ours;
    /// `len` is the validated length of the first.
    Got(Index, usize, usize),
    /// Halted by the test hook.
    Halted,
}

impl<P: Peers> Consumer<P> {
    /// Attaches as a consumer holding table entry `entry`, whose lock the
    /// caller holds.
    ///
    /// # Errors
    /// As [`super::Producer::attach`].
    pub fn attach(region: Region, entry: usize, peers: P) -> Result<Self, AttachError> {
        attach_entry(&region, entry, role::CONSUMER)?;
        region
            .word(offset::CONSUMER_STATE)
            .store(crate::layout::EndpointState::ATTACHED, Ordering::Relaxed);
        let g = *region.geometry();
        Ok(Consumer {
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

    /// The region this consumer reads.
    pub fn region(&self) -> &Region {
        &self.region
    }
    /// The table entry this consumer holds.
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
    /// The violation that poisoned this consumer, if any.
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

    fn poison(&mut self, v: Violation) -> PopError {
        self.poisoned = Some(v);
        record_poison(&self.region, offset::CONSUMER_POISON);
        PopError::Poisoned(v)
    }

    fn empty(&self) -> PopError {
        bump_idle(&self.region, self.entry);
        PopError::Empty
    }

    /// Claims up to `want` (1..=MAX_BATCH) consecutive committed messages,
    /// each accepted by `fit` (later ones only if of the first's length
    /// rule), passing over skipped positions and repairing producer stalls
    /// whose owners are dead.
    fn claim(&mut self, want: usize, fit: Fit) -> Result<Claim, PopError> {
        if let Some(v) = self.poisoned {
            return Err(PopError::Poisoned(v));
        }
        let cap = Index::from(self.capacity);
        let head_cell = self.region.index(offset::HEAD);
        // Acquire: pairs with the AcqRel claiming CASes (release sequence).
        let mut pos = head_cell.load(Ordering::Acquire);
        let mut budget = Budget::new();
        for _ in 0..RETRIES {
            let slot = pos as usize & self.mask;
            // Acquire: pairs with the producer's Release publication (store
            // or fence), so its length and payload are visible.
            let seq = self.region.stamp(slot).load(Ordering::Acquire);
            if seq == full_seq(pos) {
                let len = self.region.len(slot).load(Ordering::Relaxed);
                if len as usize > self.slot_size {
                    return Err(self.poison(Violation::Length {
                        position: pos,
                        found: len,
                    }));
                }
                let len = len as usize;
                if !fit.accepts(len) {
                    return Err(PopError::Size {
                        len,
                        capacity: fit.offered(),
                    });
                }
                let mut n = 1;
                while n < want {
                    let p = pos.wrapping_add(n as Index);
                    let s = p as usize & self.mask;
                    // Acquire: as above, for each slot of the batch.
                    if self.region.stamp(s).load(Ordering::Acquire) != full_seq(p)
                        || !fit.accepts(self.region.len(s).load(Ordering::Relaxed) as usize)
                    {
                        break;
                    }
                    n += 1;
                }
                repair::set_record(&self.region, self.entry, pack(pos, n));
                if self.stop(Step::Recorded) {
                    return Ok(Claim::Halted);
                }
                // AcqRel: Release publishes the record to survivors whose
                // Acquire load of `head` sees this claim.
                match head_cell.compare_exchange(
                    pos,
                    pos.wrapping_add(n as Index),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(Claim::Got(pos, n, len)),
                    Err(cur) => {
                        // We own none of it: every exit from here on
                        // (retry, Empty, poison) must leave no record.
                        repair::clear_record(&self.region, self.entry);
                        pos = cur;
                        continue;
                    }
                }
            }
            if seq == skip_seq(pos) {
                // A dead producer's position: take it and release the slot.
                repair::set_record(&self.region, self.entry, pack(pos, 1));
                if self.stop(Step::Recorded) {
                    return Ok(Claim::Halted);
                }
                // AcqRel: as for a message claim.
                match head_cell.compare_exchange(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        if self.stop(Step::Claimed) {
                            return Ok(Claim::Halted);
                        }
                        // Release: pairs with the producer's Acquire load of
                        // the sequence word in its claim.
                        self.region
                            .stamp(slot)
                            .store(free_seq(pos.wrapping_add(cap)), Ordering::Release);
                        pos = pos.wrapping_add(1);
                    }
                    Err(cur) => {
                        // As above: no record of a position we do not own.
                        repair::clear_record(&self.region, self.entry);
                        pos = cur;
                    }
                }
                continue;
            }
            if seq == free_seq(pos) {
                // Acquire: pairs with the producers' claiming CASes, so the
                // claim records of `pos` are visible if it was claimed.
                let tail = self.region.index(offset::TAIL).load(Ordering::Acquire);
                let ahead = tail.wrapping_sub(pos);
                if ahead == 0 {
                    return Err(self.empty());
                }
                if ahead > cap {
                    let cur = head_cell.load(Ordering::Acquire);
                    if cur == pos {
                        return Err(self.poison(Violation::Cursors { head: pos, tail }));
                    }
                    pos = cur;
                    continue;
                }
                // Claimed by a producer, not yet published. A live one is
                // about to publish (and a `send` that returned before this
                // call may be queued behind it): spin a little, then ask
                // whether its owners are dead, and if one is alive, wait a
                // little longer; all bounded by the call's budget.
                if budget.spin(&self.region, slot, seq) {
                    continue;
                }
                match repair::repair_producer_stall(
                    &self.region,
                    pos,
                    slot,
                    &self.peers,
                    &mut self.scan,
                    &mut budget,
                ) {
                    Repair::Done => continue,
                    // A live owner: wait for it a little longer (yields).
                    Repair::Alive if budget.snooze(&self.region, slot, seq, &self.peers) => {
                        continue
                    }
                    Repair::Alive | Repair::Later => return Err(self.empty()),
                }
            }
            let prev = pos.wrapping_sub(cap);
            if seq == full_seq(prev) || seq == skip_seq(prev) {
                // A consumer of the previous lap still holds the slot: no
                // message for `pos` can have been written yet.
                return Err(self.empty());
            }
            // Any other value: another consumer took `pos` since we read `head`.
            let cur = head_cell.load(Ordering::Acquire);
            if cur == pos {
                return Err(self.poison(Violation::Stamp {
                    position: pos,
                    found: seq,
                }));
            }
            pos = cur;
        }
        Err(self.empty())
    }

    /// Releases claimed positions `start .. start + n` for the next lap.
    #[inline]
    fn release(&mut self, start: Index, n: usize) {
        let cap = Index::from(self.capacity);
        if n == 1 {
            // Release: pairs with the producer's Acquire load of the sequence
            // word in its claim: our copy happens before its overwrite.
            self.region
                .stamp(start as usize & self.mask)
                .store(free_seq(start.wrapping_add(cap)), Ordering::Release);
        } else {
            // Release: as above, for the Relaxed stores below.
            fence(Ordering::Release);
            for i in 0..n as Index {
                let p = start.wrapping_add(i);
                self.region
                    .stamp(p as usize & self.mask)
                    .store(free_seq(p.wrapping_add(cap)), Ordering::Relaxed);
            }
        }
        self.stop(Step::Published);
    }

    fn pop_into(&mut self, buf: &mut [u8], fit: Fit) -> Result<usize, PopError> {
        let Claim::Got(pos, _, len) = self.claim(1, fit)? else {
            return Err(PopError::Empty);
        };
        if self.stop(Step::Claimed) {
            return Err(PopError::Empty);
        }
        // SAFETY: len <= slot_size (validated in claim) and accepted by `fit`,
        // hence <= buf.len(); the slot is masked and ours (claimed).
        unsafe {
            self.region
                .read_payload(pos as usize & self.mask, buf.as_mut_ptr(), len)
        };
        if self.stop(Step::Written) {
            return Err(PopError::Empty);
        }
        self.release(pos, 1);
        Ok(len)
    }

    /// Dequeues one message into `buf`, returning its length.
    ///
    /// # Errors
    /// [`PopError::Empty`] (also when a live producer is still writing the
    /// next position after a bounded wait, [`super::SPIN_STEPS`], or when
    /// the call's budget for crash repair ran out); [`PopError::Size`] if the next message is longer than
    /// `buf` (it stays queued); [`PopError::Poisoned`].
    #[inline]
    pub fn try_pop(&mut self, buf: &mut [u8]) -> Result<usize, PopError> {
        let fit = Fit::AtMost(buf.len());
        self.pop_into(buf, fit)
    }

    /// Dequeues one message of exactly `size_of::<T>()` bytes as a `T`.
    ///
    /// # Errors
    /// As [`Consumer::try_pop`]; [`PopError::Size`] if the message has
    /// another length (it stays queued).
    #[inline]
    pub fn try_pop_value<T: Pod>(&mut self) -> Result<T, PopError> {
        let mut value = T::zeroed();
        self.pop_into(
            bytemuck::bytes_of_mut(&mut value),
            Fit::Exactly(size_of::<T>()),
        )?;
        Ok(value)
    }

    /// Dequeues up to `out.len()` messages of `size_of::<T>()` bytes with
    /// one claim (up to [`MAX_BATCH`] consecutive committed messages, one
    /// CAS, one Release fence for the releases). Returns how many.
    ///
    /// # Errors
    /// As [`Consumer::try_pop_value`] when no message is taken (`Ok(0)` for
    /// an empty `out`).
    pub fn pop_slice<T: Pod>(&mut self, out: &mut [T]) -> Result<usize, PopError> {
        if out.is_empty() {
            return Ok(0);
        }
        let want = out.len().min(MAX_BATCH).min(self.capacity as usize);
        let Claim::Got(start, n, _) = self.claim(want, Fit::Exactly(size_of::<T>()))? else {
            return Err(PopError::Empty);
        };
        if self.stop(Step::Claimed) {
            return Err(PopError::Empty);
        }
        for (i, item) in out[..n].iter_mut().enumerate() {
            let slot = start.wrapping_add(i as Index) as usize & self.mask;
            let dst = bytemuck::bytes_of_mut(item);
            // SAFETY: dst.len() == size_of::<T>(), which `claim` checked is
            // <= slot_size (the first length is validated against it, the
            // others equal it); slot masked; the positions are ours.
            unsafe { self.region.read_payload(slot, dst.as_mut_ptr(), dst.len()) };
        }
        if self.stop(Step::Written) {
            return Err(PopError::Empty);
        }
        self.release(start, n);
        Ok(n)
    }

    /// Whether a live producer is attached (one `is_dead` call per producer
    /// entry: rate-limit it).
    pub fn producer_alive(&self) -> bool {
        super::any_live(&self.region, role::PRODUCER, &self.peers)
    }

    /// Whether a producer ever attached to this region.
    pub fn producer_ever(&self) -> bool {
        super::producer_ever(&self.region)
    }
}

impl<P: Peers> Drop for Consumer<P> {
    fn drop(&mut self) {
        if !self.halted.load(Ordering::Relaxed) {
            detach_entry(&self.region, self.entry);
        }
    }
}
