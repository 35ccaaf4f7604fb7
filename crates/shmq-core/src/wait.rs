//! Blocking waits: the lost-wakeup protocol over the region's wait line.
//!
//! A side that cannot make progress (the consumer on an empty ring, the
//! producer on a full one) may *park*: sleep on a 32-bit futex word in the
//! region until the other side publishes. The other side must then issue a
//! wake, but only when somebody actually sleeps: a publisher that finds no
//! registered sleeper makes no system call and no read-modify-write.
//!
//! # Words (in the wait line, see `docs/layout.md`)
//! Each direction ([`Line::DATA`]: consumer waits for data; [`Line::ROOM`]:
//! producer waits for room) has
//! - `waiting` (written by the sleeper): `WAITING | seq` while it is
//!   registered to sleep on futex value `seq`, 0 otherwise;
//! - `mode` (written by the sleeper): [`ASYMMETRIC`] if the sleeper's heavy
//!   barrier is a process-wide one (Linux `membarrier`), [`FENCED`] if it is
//!   only a local full fence, 0 while no sleeper has registered;
//! - `seq` (written by the waker): the futex word; the waker moves it on
//!   before each wake, so a sleeper that registered on the old value never
//!   sleeps through the wake meant for it;
//! - counters (`sleeps`, `spurious` by the sleeper, `wakes` by the waker),
//!   32-bit, wrapping, updated with a plain load + store.
//!
//! # Protocol (Dekker with a futex)
//! ```text
//! sleeper                              publisher
//! s = seq                              publish (Release store of stamp/head)
//! waiting = WAITING | s   (Release)    barrier: light if the sleeper's mode is
//! heavy barrier                                 ASYMMETRIC and we are reachable,
//! re-check the ring                             else fence(SeqCst)
//! futex_wait(seq, s, slice)            w = waiting            (Acquire)
//! waiting = 0                          if w == WAITING | seq:
//!                                          seq += 1; futex_wake(seq)
//! ```
//! Either the re-check sees the publication, or the publisher's load sees the
//! registration (store-load ordering on both sides: the two barriers). In the
//! second case it moves `seq` on and wakes: if that happens before the
//! sleeper's `futex_wait`, the kernel finds `seq != s` and returns at once
//! (`EAGAIN`); otherwise the wake finds the sleeper queued. A registration
//! the publisher already answered (`seq` moved) gets no second wake, so a
//! sleeper being woken costs the publisher one system call, not one per
//! message.
//!
//! The *asymmetric* barrier: a full fence per message costs the publisher
//! ~10–20 ns on x86, more than the rest of a send. Instead the publisher
//! only stops the compiler from reordering, and the sleeper (which is about
//! to make a system call anyway) issues a barrier that acts as a full fence
//! on every CPU running a registered process (`membarrier(GLOBAL_EXPEDITED)`,
//! the technique of Folly's `asymmetricHeavyBarrier` and liburcu). Both sides
//! must agree: the publisher uses its light barrier only if its own
//! [`Park::asymmetric`] is true (its process is reachable by a sleeper's
//! process-wide barrier) and the sleeper's `mode` word does not say
//! [`FENCED`]; otherwise it uses `fence(SeqCst)`, which pairs with either kind
//! of heavy barrier. A `mode` of 0 (no sleeper yet) is treated as
//! asymmetric, so that a publisher whose peer never sleeps pays no fence per
//! message. The price: a sleeper *without* membarrier (`SHMQ_NO_MEMBARRIER`,
//! membarrier denied by seccomp, a failed registration) can lose its first
//! wake until its `FENCED` store is visible to the publisher, which costs it
//! at most one sleep slice, as a forged `mode` does. Nothing guarantees that
//! two processes on one kernel both have membarrier.
//!
//! # Untrusted peer
//! Every word here may be forged. The consequences are bounded: a forged
//! `waiting` costs the publisher an extra wake call (at most one per change
//! of its own `seq`); a forged `seq` (any bit, the futex is given the word
//! as loaded) makes at most the current `futex_wait` return early, and a
//! peer that keeps rewriting it gets [`QUICK_TURNS`] quick turns, then plain
//! timed sleeps without registration or heavy barrier ([`Turns`]), so it
//! cannot make us issue `membarrier` in a loop; a forged `mode`
//! can make a publisher skip its full fence, so a wake can be missed, which
//! costs a sleeper at most one sleep slice (every sleep has a timeout).
//! Nothing read here sizes a loop or an access.
//!
//! # Several sleepers (MPMC: [`Line::MPMC_DATA`], [`Line::MPMC_ROOM`])
//! `waiting` is shared: sleepers write `WAITING | seq` with a CAS (never over
//! a newer `seq`) and never clear it; the publisher that answers moves `seq`
//! on with a CAS, clears `waiting` with a CAS from the value it read, and
//! wakes all sleepers; a stale value is cleared the same way. Counters are
//! `fetch_add`. See `docs/layout.md` (MPMC regions).

use crate::layout::offset;
use crate::region::Region;
use crate::sync::{fence, AtomicU32, Ordering};
use core::time::Duration;

/// The type of a futex word: a 32-bit atomic in the region (loom's under
/// `--cfg loom`, `core`'s otherwise, whose layout is a plain `u32`).
pub type FutexWord = AtomicU32;

/// Flag bit of a `waiting` word: the sleeper is registered.
pub const WAITING: u32 = 1 << 31;
/// Bits of a `seq` value (the rest of a `waiting` word).
pub const SEQ_MASK: u32 = WAITING - 1;
/// Value of a `mode` word: the sleeper issues a process-wide heavy barrier.
pub const ASYMMETRIC: u32 = u32::from_le_bytes(*b"MBAR");
/// Value of a `mode` word: the sleeper's heavy barrier is only a local full
/// fence, so publishers must issue `fence(SeqCst)` themselves.
pub const FENCED: u32 = u32::from_le_bytes(*b"FNCE");

/// How a [`Park::wait`] ended. Every outcome is advisory: the caller
/// re-checks the ring after each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woken {
    /// The word no longer held the expected value (`EAGAIN`).
    Changed,
    /// Woken (by a wake, a signal, or spuriously).
    Woken,
    /// The timeout expired.
    TimedOut,
}

/// The operating-system side of blocking waits (a futex and two barriers).
///
/// # Contract
/// Implementations must provide, for words shared with *other processes*
/// (so never a process-private futex):
/// - [`Park::wait`]: atomically with respect to [`Park::wake`] on the same
///   word, check that `word == expected` and, if so, sleep until woken or
///   until `timeout` elapsed (it may also return early for any reason:
///   callers re-check). It must return within about `timeout`.
/// - [`Park::wake`]: wake every thread sleeping in `wait` on `word` that
///   started sleeping before the call.
/// - [`Park::heavy_barrier`]: a full (SeqCst) fence in the calling thread;
///   if [`Park::asymmetric`] is true, also a full fence in every thread of
///   every process whose [`Park::asymmetric`] is true, at some point during
///   the call (Linux `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`).
/// - [`Park::light_barrier`]: at least a compiler fence. It is used instead
///   of `fence(SeqCst)` only when both this side's `asymmetric()` and the
///   sleeper's advertised mode say the heavy barrier reaches this thread.
///
/// - [`Park::pause`]: sleep for about `timeout` (a plain timed sleep, no word).
/// - [`Park::can_wake`]: whether [`Park::wake`] can end a [`Park::wait`]
///   early. If false (a platform without futexes, whose `wait` only sleeps
///   in short slices), publishers skip their barrier and load entirely.
///
/// Breaking the contract cannot cause undefined behaviour, only missed
/// wakes, which the callers bound by sleeping in slices.
pub trait Park {
    /// Sleeps while `word == expected`, for at most `timeout`.
    fn wait(&self, word: &FutexWord, expected: u32, timeout: Duration) -> Woken;
    /// Sleeps for about `timeout`, on no word (the fallback of a sleeper
    /// whose futex keeps returning at once, see [`Turns`]).
    fn pause(&self, timeout: Duration);
    /// Whether [`Park::wake`] can wake a [`Park::wait`]; when false,
    /// [`Line::notify`] costs nothing.
    #[inline(always)]
    fn can_wake(&self) -> bool {
        true
    }
    /// Wakes the sleepers on `word`.
    fn wake(&self, word: &FutexWord);
    /// The publisher's barrier between publishing and reading `waiting`.
    fn light_barrier(&self);
    /// The sleeper's barrier between registering and re-checking.
    fn heavy_barrier(&self);
    /// Whether [`Park::heavy_barrier`] reaches other processes and this
    /// process is reachable by theirs.
    fn asymmetric(&self) -> bool;
}

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
    #[inline]
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

/// The wake counters of a region (informative: peers write them; 32-bit, wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitStats {
    /// Times the consumer registered to sleep waiting for data (some end at
    /// the re-check, without a system call).
    pub consumer_sleeps: u32,
    /// Consumer wake-ups that nobody sent (signals, spurious futex returns).
    pub consumer_spurious: u32,
    /// Wake calls the producer made for a sleeping consumer (or on close).
    pub data_wakes: u32,
    /// Times the producer registered to sleep waiting for room.
    pub producer_sleeps: u32,
    /// Producer wake-ups that nobody sent.
    pub producer_spurious: u32,
    /// Wake calls the consumer made for a sleeping producer (or on close).
    pub room_wakes: u32,
}

impl WaitStats {
    /// Reads the counters of `region`.
    pub fn read(region: &Region) -> Self {
        let w = |off| region.word(off).load(Ordering::Relaxed);
        WaitStats {
            consumer_sleeps: w(offset::CONSUMER_SLEEPS),
            consumer_spurious: w(offset::CONSUMER_SPURIOUS),
            data_wakes: w(offset::DATA_WAKES),
            producer_sleeps: w(offset::PRODUCER_SLEEPS),
            producer_spurious: w(offset::PRODUCER_SPURIOUS),
            room_wakes: w(offset::ROOM_WAKES),
        }
    }
}
