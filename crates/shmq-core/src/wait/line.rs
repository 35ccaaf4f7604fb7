//! The protocol words of one wait direction and the Dekker-with-a-futex
//! steps over them (see the [module docs](super) for the protocol).

use super::{Park, Woken, ASYMMETRIC, FENCED, SEQ_MASK, WAITING};
use crate::layout::offset;
use crate::region::Region;
use crate::sync::{fence, Ordering};
use core::time::Duration;

/// The words of one wait direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    waiting: usize,
    mode: usize,
    seq: usize,
    sleeps: usize,
    spurious: usize,
    wakes: usize,
    /// Several sleepers and several publishers share the words (MPMC).
    multi: bool,
}

impl Line {
    /// The consumer waits for data; the producer wakes it.
    pub const DATA: Line = Line {
        waiting: offset::CONSUMER_WAITING,
        mode: offset::CONSUMER_WAIT_MODE,
        seq: offset::DATA_SEQ,
        sleeps: offset::CONSUMER_SLEEPS,
        spurious: offset::CONSUMER_SPURIOUS,
        wakes: offset::DATA_WAKES,
        multi: false,
    };
    /// The producer waits for room; the consumer wakes it.
    pub const ROOM: Line = Line {
        waiting: offset::PRODUCER_WAITING,
        mode: offset::PRODUCER_WAIT_MODE,
        seq: offset::ROOM_SEQ,
        sleeps: offset::PRODUCER_SLEEPS,
        spurious: offset::PRODUCER_SPURIOUS,
        wakes: offset::ROOM_WAKES,
        multi: false,
    };
    /// MPMC: consumers wait for data; any producer wakes them all.
    pub const MPMC_DATA: Line = Line {
        multi: true,
        ..Line::DATA
    };
    /// MPMC: producers wait for room; any consumer wakes them all.
    pub const MPMC_ROOM: Line = Line {
        multi: true,
        ..Line::ROOM
    };
}

/// Whether the 31-bit sequence value `w` is ahead of `s` (by less than 2^30).
#[inline]
fn ahead(w: u32, s: u32) -> bool {
    (1..1 << 30).contains(&(w.wrapping_sub(s) & SEQ_MASK))
}

/// Bound on the CAS attempts of one MPMC registration (a local limit: a
/// peer rewriting `waiting` cannot keep us looping). Giving up leaves us
/// unregistered: the sleep then lasts at most one slice.
const REGISTER_TRIES: u32 = 8;

/// A registration: the `seq` value the sleeper will sleep on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The `seq` word as loaded (the futex's expected value: the kernel
    /// compares the whole word, so a forged bit 31 must be passed as read,
    /// or every wait would return `EAGAIN` at once).
    raw: u32,
    /// `raw & SEQ_MASK`: the value advertised in `waiting`.
    seq: u32,
    /// No registration was made (see [`Turns`]): sleep plainly.
    plain: bool,
}

/// Consecutive sleeps of one wait that ended at once (`EAGAIN`, or a
/// wake-up without progress) before a sleeper stops registering.
pub const QUICK_TURNS: u32 = 4;
/// First plain sleep after [`QUICK_TURNS`]; each further one doubles, up to
/// the caller's slice.
pub const PLAIN_SLEEP: Duration = Duration::from_millis(1);

/// The state of one blocking wait across its sleeps (create one per call).
///
/// A peer that keeps rewriting `seq`, or wakes the futex, makes every sleep
/// return at once; each turn would then cost a heavy barrier (a
/// `membarrier` that interrupts *other* processes' CPUs too). After
/// [`QUICK_TURNS`] such turns in a row the sleeper neither registers nor
/// issues the barrier: it sleeps plainly ([`Park::pause`], from
/// [`PLAIN_SLEEP`] doubling up to the caller's slice), counted as spurious,
/// then tries a real registration again. A sleep that times out resets the
/// count. Honest peers answer a registration once, so they never get here
/// unless several sleepers compete (MPMC) and one keeps losing the race.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Turns {
    quick: u32,
    plain: u32,
}

/// Adds one to a 32-bit counter word only this side writes (no RMW).
#[inline]
fn bump32(region: &Region, off: usize) {
    let w = region.word(off);
    w.store(w.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

impl Line {
    /// Adds one to a counter: a plain load + store where one side writes it,
    /// an RMW where several do (MPMC; a rare path, never per message).
    #[inline]
    fn count(&self, region: &Region, off: usize) {
        if self.multi {
            region.word(off).fetch_add(1, Ordering::Relaxed);
        } else {
            bump32(region, off);
        }
    }

    /// Sleeper, step 1: registers on the current `seq` and issues the heavy
    /// barrier. The caller must then re-check the ring; if it can make
    /// progress it calls [`Line::unregister`], otherwise [`Line::sleep`].
    ///
    /// After [`QUICK_TURNS`] sleeps of this wait that returned at once it
    /// does not register (nor count, nor issue the barrier): the next
    /// [`Line::sleep`] is a plain timed sleep. The caller's re-check is then
    /// harmless.
    pub fn register<P: Park>(&self, region: &Region, park: &P, turns: &Turns) -> Registration {
        if turns.quick >= QUICK_TURNS {
            return Registration {
                raw: 0,
                seq: 0,
                plain: true,
            };
        }
        // Counted here, not at the futex call: every wake the publisher sends
        // answers one registration, so `wakes <= sleeps` holds for honest peers.
        self.count(region, self.sleeps);
        let raw = region.word(self.seq).load(Ordering::Relaxed);
        let seq = raw & SEQ_MASK;
        let mode = if park.asymmetric() {
            ASYMMETRIC
        } else {
            FENCED
        };
        let mode_word = region.word(self.mode);
        let current_mode = mode_word.load(Ordering::Relaxed);
        // MPMC: "FNCE" is sticky (a membarrier sleeper must not overwrite a
        // fenced sleeper's mode), so an asymmetric sleeper only fills a 0.
        if current_mode != mode && (!self.multi || mode == FENCED || current_mode == 0) {
            mode_word.store(mode, Ordering::Relaxed);
        }
        let waiting = region.word(self.waiting);
        if !self.multi {
            // Release: pairs with the publisher's Acquire load of `waiting` in
            // `notify`: our load of `seq` above happens before its next store
            // of `seq`, so we never register on a value that already answered us.
            waiting.store(WAITING | seq, Ordering::Release);
        } else {
            // Shared word: write `WAITING | seq` (even if it already holds
            // it: the write is our half of the store/load pair), but never
            // over a registration on a newer `seq` (ours is then stale: `seq`
            // moved on, so our futex wait returns at once).
            for _ in 0..REGISTER_TRIES {
                let w = waiting.load(Ordering::Relaxed);
                if w & WAITING != 0 && ahead(w & SEQ_MASK, seq) {
                    break;
                }
                // Release: as the single-sleeper store above.
                if waiting
                    .compare_exchange(w, WAITING | seq, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    break;
                }
            }
        }
        // Heavy barrier: pairs with the publisher's barrier in `notify`
        // (store `waiting` / load the ring here, store the ring / load
        // `waiting` there: at least one side sees the other's store).
        park.heavy_barrier();
        Registration {
            raw,
            seq,
            plain: false,
        }
    }

    /// Sleeper, step 2: sleeps on `seq` for at most `timeout`, then clears
    /// the registration. Counts a wake-up that nobody sent (`seq` unchanged,
    /// not a timeout) as spurious, and a plain sleep (see [`Turns`]) too.
    pub fn sleep<P: Park>(
        &self,
        region: &Region,
        park: &P,
        registration: Registration,
        turns: &mut Turns,
        timeout: Duration,
    ) -> Woken {
        if registration.plain {
            let plain = PLAIN_SLEEP
                .saturating_mul(1 << turns.plain.min(8))
                .min(timeout);
            park.pause(plain);
            self.count(region, self.spurious);
            turns.plain = turns.plain.saturating_add(1);
            turns.quick = 0;
            return Woken::Woken;
        }
        let seq = region.word(self.seq);
        // The raw value: the kernel compares the whole word.
        let woken = park.wait(seq, registration.raw, timeout);
        if woken == Woken::TimedOut {
            turns.quick = 0;
        } else {
            // Ended at once or early: if the caller's re-check then finds no
            // progress, this was a quick turn (the caller returns otherwise).
            turns.quick = turns.quick.saturating_add(1);
            if seq.load(Ordering::Relaxed) == registration.raw {
                self.count(region, self.spurious);
            }
        }
        self.unregister(region);
        woken
    }

    /// Clears this side's registration (the publisher stops waking us).
    /// MPMC: does nothing, the word may hold other sleepers' registration
    /// too; it ends when a publisher answers it (one wake, then `seq` moved
    /// on and the word cleared).
    #[inline]
    pub fn unregister(&self, region: &Region) {
        if !self.multi {
            region.word(self.waiting).store(0, Ordering::Relaxed);
        }
    }

    /// Publisher: call after every publication (stamp or head store). Wakes
    /// the other side if it is registered; otherwise a barrier and one load.
    #[inline(always)]
    pub fn notify<P: Park>(&self, region: &Region, park: &P) {
        if !park.can_wake() {
            // Nobody can be woken early on this platform: sleepers poll.
            return;
        }
        let mode = region.word(self.mode).load(Ordering::Relaxed);
        if mode != FENCED && park.asymmetric() {
            // Pairs with the sleeper's heavy (process-wide) barrier in `register`.
            park.light_barrier();
        } else {
            // SeqCst: pairs with the sleeper's heavy barrier in `register`.
            fence(Ordering::SeqCst);
        }
        // Acquire: pairs with the sleeper's Release store in `register`.
        let waiting = region.word(self.waiting).load(Ordering::Acquire);
        if waiting & WAITING != 0 {
            self.wake(region, park, waiting);
        }
    }

    #[cold]
    #[inline(never)]
    fn wake<P: Park>(&self, region: &Region, park: &P, waiting: u32) {
        let seq = region.word(self.seq);
        let current = seq.load(Ordering::Relaxed);
        if waiting != WAITING | (current & SEQ_MASK) {
            // Already answered (seq moved on since that registration), or
            // forged. MPMC: clear it so that publications return to the fast
            // path (a sleeper registering meanwhile changed the word, and
            // the CAS fails; a stale registrant's futex wait returns at once).
            if self.multi {
                let _ = region.word(self.waiting).compare_exchange(
                    waiting,
                    0,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            return;
        }
        let next = current.wrapping_add(1) & SEQ_MASK;
        // Relaxed: the wake system call that follows orders this store before
        // the kernel's check of sleepers (and the sleeper's futex compare).
        if !self.multi {
            seq.store(next, Ordering::Relaxed);
        } else {
            // Several publishers: one of them answers (moves `seq` on by one
            // and wakes all); the others find it moved and return.
            if seq
                .compare_exchange(current, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
            {
                return;
            }
            // Answered: back to the fast path unless someone re-registered.
            let _ = region.word(self.waiting).compare_exchange(
                waiting,
                0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        // Counted before the call, so a woken sleeper already sees it.
        self.count(region, self.wakes);
        park.wake(seq);
    }

    /// An endpoint closing: call after its state store (and after releasing
    /// its role lock). Wakes the other side if it is registered on the
    /// current `seq` (the condition of [`Line::notify`], so `wakes <= sleeps`
    /// still holds), so it re-checks the closing side's state word.
    pub fn wake_on_close<P: Park>(&self, region: &Region, park: &P) {
        if !park.can_wake() {
            return;
        }
        // SeqCst: orders the caller's state store before our load of
        // `waiting`, and pairs with the sleeper's heavy barrier in `register`
        // (which precedes its re-check of the state word). A rare path: the
        // full fence regardless of mode.
        fence(Ordering::SeqCst);
        // Acquire: pairs with the sleeper's Release store in `register`.
        let waiting = region.word(self.waiting).load(Ordering::Acquire);
        if waiting & WAITING != 0 {
            self.wake(region, park, waiting);
        }
    }
}
