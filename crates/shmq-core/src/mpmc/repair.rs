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

/// The work one `try_*` call may spend on stalled positions: local
/// constants, so a forged endpoint table (every entry "a dead owner of
/// every position") cannot make one call slow. When a limit is reached the
/// call reports no progress (`Full`/`Empty`) and the endpoint's [`Scan`]
/// resumes where it stopped on the next call.
#[derive(Debug)]
pub(crate) struct Budget {
    /// [`Peers::is_dead`] calls left (a system call each in the platform).
    checks: u32,
    /// Table entries that may still be read.
    visits: u32,
    /// Waiting for a live owner's publication (see [`Budget::spin`]).
    backoff: Backoff,
}

impl Budget {
    /// The budget of one call.
    pub(crate) const fn new() -> Self {
        Budget {
            checks: super::LIVENESS_CHECKS,
            visits: super::TABLE_VISITS,
            backoff: Backoff { step: 0 },
        }
    }

    /// Spins a little for a slot's sequence word to leave `stalled`
    /// (crossbeam-utils' `Backoff::spin`: 1, 2, 4 ... 64 `spin_loop` hints,
    /// the first 7 of the call's [`super::SPIN_STEPS`] backoff steps).
    /// Returns whether it changed.
    pub(crate) fn spin(&mut self, region: &Region, slot: usize, stalled: u32) -> bool {
        while self.backoff.step < super::SPIN_STEPS.min(SPIN_LIMIT + 1) {
            for _ in 0..1u32 << self.backoff.step {
                crate::sync::spin_loop();
            }
            self.backoff.step += 1;
            if changed(region, slot, stalled) {
                return true;
            }
        }
        false
    }

    /// Waits longer, for an owner known to be alive: the call's remaining
    /// backoff steps, each a [`Peers::snooze`] (a yield in the platform
    /// crate), as crossbeam-utils' `Backoff::snooze` after its spin limit.
    /// Returns whether the word changed.
    pub(crate) fn snooze(
        &mut self,
        region: &Region,
        slot: usize,
        stalled: u32,
        peers: &impl Peers,
    ) -> bool {
        if self.spin(region, slot, stalled) {
            return true;
        }
        while self.backoff.step < super::SPIN_STEPS {
            peers.snooze();
            self.backoff.step += 1;
            if changed(region, slot, stalled) {
                return true;
            }
        }
        false
    }
}

/// Last backoff step that spins (crossbeam-utils' `SPIN_LIMIT`).
const SPIN_LIMIT: u32 = 6;

/// Whether the sequence word of `slot` no longer holds `stalled`.
#[inline]
fn changed(region: &Region, slot: usize, stalled: u32) -> bool {
    // Acquire: pairs with the owner's Release publication/release, as the
    // caller's own load of the word does.
    region.stamp(slot).load(Ordering::Acquire) != stalled
}

/// The backoff state of one call (crossbeam-utils' `Backoff`, without the
/// clock; its yield is the platform's [`Peers::snooze`], for no_std).
#[derive(Debug)]
struct Backoff {
    step: u32,
}

/// What a repair attempt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repair {
    /// The slot is no longer stalled by this claim (repaired by us, or
    /// the CAS found it moved on).
    Done,
    /// Not repairable: a live endpoint's record covers the position (or
    /// none does). The owner may still publish: worth waiting for.
    Alive,
    /// The call's budget ran out; the scan resumes on the next call.
    Later,
}

/// A liveness scan of the table for one stalled position, kept by the
/// endpoint between calls so that a scan cut short by the [`Budget`]
/// resumes at the entry where it stopped instead of starting over.
///
/// Resuming is sound for the same reason a scan that is not atomic is: the
/// real owner's record covers the position from before its claim until its
/// publication or release, a dead endpoint never comes back, and its entry
/// cannot be taken over while its record covers a stalled slot (`resolved`).
/// A scan is resumed only for the same role and position (a full
/// [`Index`]); a live candidate ends it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scan {
    /// Whether a scan is in progress.
    active: bool,
    which: u32,
    pos: Index,
    /// Next entry to read.
    next: usize,
    /// Dead candidates found so far.
    candidates: u32,
}

/// What a (possibly partial) scan found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owners {
    /// At least one endpoint's record covers the position and all such
    /// endpoints are dead: the stall may be repaired.
    Dead,
    /// A live endpoint's record covers it, or none does: do not repair.
    NotDead,
    /// The budget ran out first; the scan resumes on the next call.
    Unknown,
}

/// Whether every endpoint of role `which` whose record covers `pos` is dead
/// (and there is at least one), within `budget`, resuming `scan`. Call only
/// after an Acquire load of the cursor showed `pos` claimed.
pub(crate) fn owners_dead(
    region: &Region,
    which: u32,
    pos: Index,
    peers: &impl Peers,
    scan: &mut Scan,
    budget: &mut Budget,
) -> Owners {
    if !(scan.active && scan.which == which && scan.pos == pos) {
        *scan = Scan {
            active: true,
            which,
            pos,
            next: 0,
            candidates: 0,
        };
    }
    // Bounded by the locally validated table size, and by the budget.
    let endpoints = region.geometry().endpoints() as usize;
    while scan.next < endpoints {
        let e = scan.next;
        if budget.visits == 0 {
            return Owners::Unknown;
        }
        budget.visits -= 1;
        // Acquire: pairs with the Release record store in `set_record`: a
        // record that does not cover `pos` because it is a later one makes
        // that endpoint's publication/release of `pos` visible, so our
        // repair CAS below is ordered after it (and fails).
        let rec = region.entry_cell(e, entry::RECORD).load(Ordering::Acquire);
        if covers(rec, pos) && region.entry_word(e, entry::ROLE).load(Ordering::Relaxed) == which {
            if budget.checks == 0 {
                return Owners::Unknown; // this entry is read again next time
            }
            budget.checks -= 1;
            if !peers.is_dead(e) {
                scan.active = false;
                return Owners::NotDead;
            }
            scan.candidates += 1;
        }
        scan.next = e + 1;
    }
    scan.active = false;
    if scan.candidates > 0 {
        Owners::Dead
    } else {
        Owners::NotDead
    }
}

/// Repairs a producer stall at `pos` (claimed, never published): CAS
/// `free(pos)` → `skip(pos)` if its owners are dead.
pub(crate) fn repair_producer_stall(
    region: &Region,
    pos: Index,
    slot: usize,
    peers: &impl Peers,
    scan: &mut Scan,
    budget: &mut Budget,
) -> Repair {
    match owners_dead(region, role::PRODUCER, pos, peers, scan, budget) {
        Owners::Dead => {}
        Owners::NotDead => return Repair::Alive,
        Owners::Unknown => return Repair::Later,
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
            Repair::Done
        }
        Err(_) => Repair::Done,
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
    scan: &mut Scan,
    budget: &mut Budget,
) -> Repair {
    match owners_dead(region, role::CONSUMER, pos, peers, scan, budget) {
        Owners::Dead => {}
        Owners::NotDead => return Repair::Alive,
        Owners::Unknown => return Repair::Later,
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
            Repair::Done
        }
        Err(_) => Repair::Done,
    }
}
