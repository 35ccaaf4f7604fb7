//! The endpoint table: claim records, attaching to an entry, and the repair
//! of slots stalled by dead endpoints.
//!
//! # Repair protocol
//! Before its CAS on `tail`/`head`, an endpoint stores a *record* of the
//! positions it is about to claim in its own entry (`position << 8 | count`,
//! **Release**). The CAS is AcqRel, and every `tail`/`head` update is such a
//! CAS (a release sequence), so a survivor whose Acquire load of the cursor
//! shows the claim also sees the record, or a later one of the same endpoint
//! (stored only after that claim finished, or after its CAS failed). The
//! record store is Release and survivors load records Acquire, so seeing a
//! later record also makes the earlier claim's publication/release (stored
//! before it in program order) visible: "a later record means the earlier
//! claim is finished" holds on weakly ordered CPUs too, and the repair CAS
//! cannot be ordered before that publication.
//!
//! A survivor that meets a stalled position `p`:
//! 1. scans the table for entries of the claiming role whose record covers `p`;
//! 2. if there is at least one and [`Peers::is_dead`] says every one of them
//!    is dead, CASes the sequence word from the stalled value to the repaired
//!    one (producer stall: `free(p)` → `skip(p)`; consumer stall: `full(p)` or
//!    `skip(p)` → `free(p + capacity)`), counting what was lost;
//! 3. otherwise waits (reports `Empty`/`Full`): the owner is alive and slow,
//!    or unknown.
//!
//! A wrong repair needs the CAS to succeed while the real owner is alive. The
//! real owner's record covers `p` for as long as it owns the slot, so it is
//! among the candidates and is reported alive; once it has published or
//! released, the sequence word has moved on and the CAS fails.
//!
//! An endpoint whose CAS fails clears its record before retrying or
//! returning ([`clear_record`]): otherwise a live endpoint's record could
//! cover a position another endpoint won, and if that winner died, the live
//! loser would be a candidate that blocks the repair for as long as it lives.
//!
//! An entry whose holder died keeps its record: a new endpoint reuses the
//! entry only if the record is *resolved* (no slot it covers is still
//! stalled), so the evidence a survivor needs is never overwritten.

use super::{entry, free_seq, full_seq, role, skip_seq, Peers};
use crate::layout::offset;
use crate::region::Region;
use crate::sync::{Index, Ordering};
use core::fmt;

const SHIFT: u32 = 8;
const COUNT: Index = (1 << SHIFT) - 1;

/// Packs a claim of `n` (1..=255) positions starting at `pos`.
#[inline]
pub(crate) const fn pack(pos: Index, n: usize) -> Index {
    (pos << SHIFT) | n as Index
}

/// Whether record `rec` covers position `pos` (positions compared modulo
/// `2^(bits - 8)`; a false match only adds a candidate, which can only delay
/// a repair, never cause a wrong one).
#[inline]
pub(crate) const fn covers(rec: Index, pos: Index) -> bool {
    let n = rec & COUNT;
    let d = (pos << SHIFT).wrapping_sub(rec & !COUNT) >> SHIFT;
    n != 0 && d < n
}

/// `cursor - start` of record `rec`, if its start is not after `cursor`
/// (within half the record's position range).
#[inline]
fn behind(rec: Index, cursor: Index) -> Option<Index> {
    let d = (cursor << SHIFT).wrapping_sub(rec & !COUNT) >> SHIFT;
    (d >> (Index::BITS - SHIFT - 1) == 0).then_some(d)
}

/// Stores claim record `rec` (0: none) in entry `e`, the caller's own entry.
#[inline]
pub(crate) fn set_record(region: &Region, e: usize, rec: Index) {
    // Release: pairs with the Acquire loads of records in `owners_dead` and
    // `resolved`: a survivor that sees this record also sees this endpoint's
    // earlier publications/releases (its previous claim is finished).
    region
        .entry_cell(e, entry::RECORD)
        .store(rec, Ordering::Release);
}

/// Clears entry `e`'s record after a claim CAS that failed: the endpoint owns
/// none of the recorded positions, and a record of a live endpoint covering
/// a position it does not own would keep survivors from repairing that
/// position's dead owner for as long as the endpoint lives.
#[inline]
pub(crate) fn clear_record(region: &Region, e: usize) {
    set_record(region, e, 0);
}

/// Why an endpoint could not take a table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachError {
    /// The entry index is outside the table.
    Entry {
        /// The entry asked for.
        entry: usize,
        /// Entries in the table.
        endpoints: u32,
    },
    /// The entry's previous holder died owning a slot that is still stalled:
    /// its record is evidence a survivor needs. Use another entry.
    Unresolved {
        /// The entry asked for.
        entry: usize,
    },
}

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AttachError::Entry { entry, endpoints } => {
                write!(f, "entry {entry} is outside the table of {endpoints}")
            }
            AttachError::Unresolved { entry } => {
                write!(
                    f,
                    "entry {entry} records a stalled claim of a dead endpoint"
                )
            }
        }
    }
}

impl core::error::Error for AttachError {}

/// Whether the record left in entry `e` no longer covers a stalled slot.
fn resolved(region: &Region, e: usize) -> bool {
    // Acquire: pairs with the Release record store in `set_record` (the
    // holder's earlier claims finished before it stored this record).
    let rec = region.entry_cell(e, entry::RECORD).load(Ordering::Acquire);
    let which = region.entry_word(e, entry::ROLE).load(Ordering::Relaxed);
    let n = (rec & COUNT) as usize;
    if n == 0 || which == role::FREE {
        return true;
    }
    let g = region.geometry();
    let mask = g.capacity() as usize - 1;
    let cursor_off = if which == role::PRODUCER {
        offset::TAIL
    } else {
        offset::HEAD
    };
    // Acquire: pairs with the claiming CAS (release sequence of the cursor).
    let cursor = region.index(cursor_off).load(Ordering::Acquire);
    let Some(d) = behind(rec, cursor) else {
        return true; // the cursor never reached the record: nothing was claimed
    };
    let start = cursor.wrapping_sub(d);
    // Bounded by n <= 255.
    (0..n as Index).all(|i| {
        let p = start.wrapping_add(i);
        if i >= d {
            return true; // at or past the cursor: not claimed
        }
        // Acquire: pairs with the Release publication / release of the slot.
        let seq = region.stamp(p as usize & mask).load(Ordering::Acquire);
        match which {
            role::PRODUCER => seq != free_seq(p),
            _ => seq != full_seq(p) && seq != skip_seq(p),
        }
    })
}

/// Takes table entry `e` for an endpoint of role `which`. The caller holds
/// the entry's lock (the platform crate's job).
pub(crate) fn attach_entry(region: &Region, e: usize, which: u32) -> Result<(), AttachError> {
    let endpoints = region.geometry().endpoints();
    if e >= endpoints as usize {
        return Err(AttachError::Entry {
            entry: e,
            endpoints,
        });
    }
    if !resolved(region, e) {
        return Err(AttachError::Unresolved { entry: e });
    }
    region
        .entry_cell(e, entry::RECORD)
        .store(0, Ordering::Relaxed);
    region
        .entry_word(e, entry::ROLE)
        .store(which, Ordering::Relaxed);
    Ok(())
}

/// Gives entry `e` back (clean detach).
pub(crate) fn detach_entry(region: &Region, e: usize) {
    region
        .entry_cell(e, entry::RECORD)
        .store(0, Ordering::Relaxed);
    // Release: pairs with the Acquire load of the role in `any_live`, so a
    // consumer that sees no producer also sees every slot it published.
    region
        .entry_word(e, entry::ROLE)
        .store(role::FREE, Ordering::Release);
}

/// Whether every endpoint of role `which` whose record covers `pos` is dead
/// (and there is at least one). Call only after an Acquire load of the
/// cursor showed `pos` claimed.
pub(crate) fn owners_dead(region: &Region, which: u32, pos: Index, peers: &impl Peers) -> bool {
    let mut candidates = 0u32;
    // Bounded by the locally validated table size.
    for e in 0..region.geometry().endpoints() as usize {
        // Acquire: pairs with the Release record store in `set_record`: a
        // record that does not cover `pos` because it is a later one makes
        // that endpoint's publication/release of `pos` visible, so our
        // repair CAS below is ordered after it (and fails).
        let rec = region.entry_cell(e, entry::RECORD).load(Ordering::Acquire);
        if !covers(rec, pos) {
            continue;
        }
        if region.entry_word(e, entry::ROLE).load(Ordering::Relaxed) != which {
            continue;
        }
        if !peers.is_dead(e) {
            return false;
        }
        candidates += 1;
    }
    candidates > 0
}

/// Repairs a producer stall at `pos` (claimed, never published): CAS
/// `free(pos)` → `skip(pos)` if its owners are dead. Returns whether the
/// slot is no longer stalled by this claim (repaired by us or someone else).
pub(crate) fn repair_producer_stall(
    region: &Region,
    pos: Index,
    slot: usize,
    peers: &impl Peers,
) -> bool {
    if !owners_dead(region, role::PRODUCER, pos, peers) {
        return false;
    }
    // AcqRel: pairs with consumers' Acquire loads of the sequence word, and
    // orders our table reads before the repair.
    match region.stamp(slot).compare_exchange(
        free_seq(pos),
        skip_seq(pos),
        Ordering::AcqRel,
        Ordering::Relaxed,
    ) {
        Ok(_) => {
            region
                .index(offset::SKIPPED)
                .fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(_) => true,
    }
}

/// Repairs a consumer stall at `pos` (claimed, never released; the slot
/// shows `seen`, full or skipped for `pos`): CAS to `free(pos + capacity)`
/// if its owners are dead. A lost full message is counted.
pub(crate) fn repair_consumer_stall(
    region: &Region,
    pos: Index,
    slot: usize,
    seen: u32,
    peers: &impl Peers,
) -> bool {
    if !owners_dead(region, role::CONSUMER, pos, peers) {
        return false;
    }
    let cap = Index::from(region.geometry().capacity());
    // AcqRel: pairs with producers' Acquire loads of the sequence word.
    match region.stamp(slot).compare_exchange(
        seen,
        free_seq(pos.wrapping_add(cap)),
        Ordering::AcqRel,
        Ordering::Relaxed,
    ) {
        Ok(_) => {
            if seen == full_seq(pos) {
                region.index(offset::LOST).fetch_add(1, Ordering::Relaxed);
            }
            true
        }
        Err(_) => true,
    }
}
