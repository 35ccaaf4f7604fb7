//! Cross-process benchmarks of shmq against its peers (unpublished).
//!
//! One binary, `xproc`, measures in one run, back to back: round-trip latency
//! (ping-pong) and one-way `u64` stream throughput between two processes, each
//! pinned to its own core, for shmq and for its peers — a bare atomic
//! ping-pong on two cache lines (the *floor*), pipes, Unix-domain sockets, a
//! minimal hand-written SPSC ring (the *ceiling*), two yardstick rings and rtrb;
//! then messages of 8 B to 16 KiB. The in-process criterion comparison is
//! `benches/inproc.rs` (`cargo bench -p shmq-benches`).
//! The peer process is the same binary re-executed with a hidden argument; the
//! shared memory is a file in `/dev/shm`, unlinked as soon as both sides have
//! mapped it.
//!
//! This VM places its two vCPUs either close or far apart, and that can change
//! between runs, so every figure is printed next to the floor measured in the
//! same run, and compared only as a ratio. Speed is measured here, never
//! asserted in a test.
//!
//! - [`shm`]: the shared file and its control block.
//! - [`proc`]: pinning, the peer process, bounded waits.
//! - [`minimal`]: the hand-written comparison rings.
//! - [`ring`]: how the benchmark builds a shmq SPSC ring over a mapping.
//! - [`cases`]: the `u64` measurements, parent and peer sides.
//! - [`sized`]: messages of 8 B to 16 KiB (shmq's user API, the minimal
//!   ceiling, pipes, sockets, iceoryx2 with the `iceoryx2` feature).
//! - [`plot`]: the latency-percentile PNG.
//! - [`criterion`]: the in-process results criterion wrote, for the report.
//! - [`report`]: statistics, tables and the Markdown report.

pub mod cases;
pub mod criterion;
pub mod minimal;
pub mod plot;
pub mod proc;
pub mod report;
pub mod ring;
pub mod shm;
pub mod sized;

/// Errors of the harness: a message for the operator, never recovered from.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Result of a harness step.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error`] from a message.
pub fn err(msg: impl Into<String>) -> Error {
    msg.into().into()
}
