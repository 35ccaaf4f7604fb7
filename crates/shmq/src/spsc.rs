//! Named single-producer single-consumer queues between processes.
//!
//! A [`Queue`] is a handle to a region in `/dev/shm`; from it a process takes
//! the producer role ([`Queue::sender`]) or the consumer role
//! ([`Queue::receiver`]), each at most once at a time across all processes.
//! Messages are byte strings of `0..=slot_size` bytes (or plain-data values);
//! they are delivered exactly once and in order while both ends live. A send
//! to a full queue never overwrites anything: it fails (`try_send`) or waits
//! (`send`, bounded by its timeout).
//!
//! # Roles and crashes
//! Each role is an open-file-description lock (`F_OFD_SETLK`) on one byte of
//! the backing file (byte 128 for the sender, 256 for the receiver). The
//! kernel releases it when the holder exits, however it exits, so a role
//! whose holder died can be taken again, by any process; the new endpoint
//! resumes where the ring stands:
//! - a new producer continues after the last message its predecessor
//!   committed (the per-slot stamps decide, not the published tail), so
//!   nothing committed is lost or overwritten; a message the predecessor was
//!   writing when it died was never committed and is simply absent;
//! - a new consumer starts at the head its predecessor last released. A
//!   message that [`Receiver::try_recv`] returned to a consumer that then
//!   died before acting on it is **not** delivered again (the head is
//!   released inside `try_recv`, after the copy), and a consumer killed
//!   inside `try_recv` between the copy and the release hands that one
//!   message to its successor, which the dead consumer never returned to its
//!   caller ([`Receiver::recv_slice`]: up to the whole batch). Applications
//!   that need at-least-once delivery acknowledge messages themselves.
//!
//! A process that forks while holding an endpoint shares the lock with the
//! child (the lock belongs to the open file description, which `fork`
//! duplicates): the role is freed only when both have exited. Descriptors
//! are opened `O_CLOEXEC`, so `exec` does not leak them.
//!
//! # `fork()`
//! Every endpoint takes its role lock through an open file description of
//! its own (the region file opened again), never through the [`Queue`]
//! handle's. So a handle may be shared with a forked child: an endpoint taken
//! from it in the child and one in the parent exclude each other
//! ([`Error::RoleTaken`](crate::Error::RoleTaken)) and see each other's liveness, as between
//! unrelated processes. An *endpoint* inherited across `fork` is a copy that
//! shares its lock: only one of the two processes may use it (the other
//! should forget it without dropping it, e.g. `_exit` or exec), and the role
//! stays held until both have closed their copy.
//!
//! # Disconnection
//! The state word each endpoint writes ([`EndpointState`](crate::EndpointState)) says whether the
//! peer detached cleanly; the peer's role lock says whether it is still alive.
//! A [`Receiver`] that finds the queue empty decides as follows:
//! - producer state `Never` (no producer has attached yet): `Empty`;
//! - `Closed` (the last producer dropped its `Sender`): it tries once more
//!   (a message pushed just before closing becomes visible with the state)
//!   and reports `Disconnected` if still empty;
//! - `Attached` (or any invalid value): it asks the kernel whether the
//!   producer lock is held (`F_OFD_GETLK`, a system call, hence rate
//!   limited: [`Receiver::try_recv`] asks on every 64th empty poll (at least once in 64 consecutive ones)
//!   poll, [`Receiver::recv`] about once per millisecond of waiting and once
//!   more when its timeout expires). If nobody holds it the producer died:
//!   one more try, then `Disconnected`. Otherwise `Empty`.
//!
//! A [`Sender`] that finds the queue full applies the same rule to the
//! consumer and reports `Disconnected` instead of `Full`. `Disconnected` is
//! not sticky: a new peer may take the role and traffic resumes.
//!
//! # Untrusted peers
//! Everything in the region may be written by a hostile peer at any time.
//! The worst it can do is make this queue's calls fail (`Poisoned`, spurious
//! `Disconnected`, `Empty`/`Full`, garbage payload bytes): no undefined
//! behaviour, no panic, no wait beyond the timeout given. One exception is
//! outside this crate's control: a peer with write access to the file can
//! **truncate** it, after which touching the mapping raises `SIGBUS` and
//! kills this process. Only processes of the same user can do that (the
//! file is created `0600` and checked on open); sealed memfds, which cannot
//! shrink, are the remedy.

use crate::kind::{self, private::Sealed, Kind};
use shmq_core::layout::{Geometry, LayoutError, QueueKind};
use shmq_core::region::Region;
use shmq_core::spsc::{Consumer, Producer};

pub use shmq_core::spsc::{Pacing, Stats};

/// The single-producer single-consumer kind (a marker type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spsc;

crate::kind::kind_aliases!(Spsc, "spsc", "SPSC", "the only one", "the only one");

impl Sender {
    /// How this sender paces itself (default [`Pacing::Latency`]).
    ///
    /// ```
    /// # let name = format!("shmq-doc-spsc-pacing-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// assert_eq!(q.sender()?.pacing(), shmq::spsc::Pacing::Latency);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn pacing(&self) -> Pacing {
        self.core().pacing()
    }

    /// Sets how this sender paces itself. With [`Pacing::Throughput`]
    /// (B-Queue adaptive batching, see `docs/design.md`) a sender that finds
    /// the queue full waits for a batch of free slots (up to 64, and at most
    /// 4 KiB of slots) before it
    /// writes again, so it refills the ring behind the receiver in whole
    /// cache lines: [`Sender::try_send`] may then report `Full` a few calls in
    /// a row while a few slots are free. The waiting calls ([`Sender::send`])
    /// are exact before they park, time out or report `Disconnected`.
    ///
    /// ```
    /// # let name = format!("shmq-doc-spsc-setpacing-{}", std::process::id());
    /// use shmq::spsc::Pacing;
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let mut tx = q.sender()?;
    /// tx.set_pacing(Pacing::Throughput);
    /// assert_eq!(tx.pacing(), Pacing::Throughput);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn set_pacing(&mut self, pacing: Pacing) {
        self.core_mut().set_pacing(pacing);
    }
}

impl Receiver {
    /// How this receiver paces itself (default [`Pacing::Latency`]).
    ///
    /// ```
    /// # let name = format!("shmq-doc-spsc-rpacing-{}", std::process::id());
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// assert_eq!(q.receiver()?.pacing(), shmq::spsc::Pacing::Latency);
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn pacing(&self) -> Pacing {
        self.core().pacing()
    }

    /// Sets how this receiver paces itself. With [`Pacing::Throughput`]
    /// (B-Queue adaptive batching, see `docs/design.md`) the receiver probes
    /// a batch ahead (up to 64 messages, and at most 4 KiB of slots) and trails a streaming sender by
    /// whole cache lines; [`Receiver::try_recv`] may then report `Empty` up
    /// to 7 calls in a row while fewer than a batch are queued (a lone
    /// message is delivered by the 7th call at the latest). The waiting
    /// calls ([`Receiver::recv`]) are exact before they park, time out or
    /// report `Disconnected`, so they still drain everything.
    ///
    /// ```
    /// # let name = format!("shmq-doc-spsc-rsetpacing-{}", std::process::id());
    /// use shmq::spsc::Pacing;
    /// use std::time::Duration;
    /// let q = shmq::spsc::Queue::create(&name, Default::default())?;
    /// let (mut tx, mut rx) = (q.sender()?, q.receiver()?);
    /// rx.set_pacing(Pacing::Throughput);
    /// tx.try_send_value(&7u64).unwrap();
    /// assert_eq!(rx.recv_value::<u64>(Duration::from_secs(1)), Ok(7));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn set_pacing(&mut self, pacing: Pacing) {
        self.core_mut().set_pacing(pacing);
    }
}

/// Geometry of a new SPSC queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of slots: a power of two in `2..=2^24`.
    pub capacity: u32,
    /// Largest message in bytes, up to `2^24`.
    pub slot_size: u32,
}

impl Default for Config {
    /// 1024 slots of 64 bytes.
    fn default() -> Self {
        Config {
            capacity: 1024,
            slot_size: 64,
        }
    }
}

crate::kind::config_fields!(Config, capacity, slot_size);

impl Kind for Spsc {
    type Config = Config;
    type Stats = Stats;
}

#[allow(private_interfaces)]
impl Sealed for Spsc {
    crate::kind::role_locked_ends!(Producer, Consumer);
    const KIND: QueueKind = QueueKind::Spsc;

    fn geometry(c: &Config) -> Result<Geometry, LayoutError> {
        Geometry::new(QueueKind::Spsc, c.capacity, c.slot_size)
    }
    fn stats(region: &Region) -> Stats {
        Stats::read(region)
    }
    fn len(region: &Region) -> usize {
        let s = Stats::read(region);
        kind::queued(s.enqueued, s.dequeued, region.geometry().capacity())
    }
}
