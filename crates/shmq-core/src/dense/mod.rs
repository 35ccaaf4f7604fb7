//! Single-producer single-consumer ring of fixed-size records, laid out back
//! to back and published by a tail index: the dense batch path.
//!
//! The stamp ring ([`crate::spsc`]) gives every message a slot header (a
//! stamp and a length), so a `u64` occupies 16 bytes and every message is
//! published by its own stamp store. That is what lets a lone message be
//! seen at once without a shared index, but it doubles the lines a stream of
//! small values moves and costs a stamp per item. This ring is Lamport's
//! with cached indices (as rtrb and the MCRingBuffer's control variables):
//! records of exactly `record_size` bytes, adjacent (`record_size` rounded up
//! to 8: a `u64` takes 8 bytes), and a batch of any length is published by
//! **one** Release store of the tail. The consumer reads the tail only when
//! its cached view is empty and the producer the head only when its cached
//! view is full.
//!
//! # The trade against the stamp ring
//! - Every message is exactly `record_size` bytes (no length word): a push
//!   of another length is refused ([`PushError::WrongSize`]).
//! - A batch is published at once: a consumer sees all of it or none.
//! - Crash recovery is the tail's: a producer killed while writing a batch
//!   leaves it unpublished (never committed), and its successor starts at
//!   the published tail; there are no per-record stamps to walk.
//! - The producer writes its line (the tail) on every push: per message this
//!   is rtrb's protocol; it is the batch calls that reach the copy speed.
//!
//! # Untrusted peer
//! Each side keeps its cursor privately. The peer's published cursor is read
//! once into a local and clamped: the consumer accepts a tail only in
//! `[cached_tail, head + capacity]`, the producer a head only in
//! `[cached_head, tail]`; anything else poisons ([`Violation::Tail`],
//! [`Violation::Head`]). Record indices are masked, every copy is of whole
//! aligned atomic words of the locally validated record size, so a forged
//! tail gives garbage records, never undefined behaviour. See
//! `docs/guarantees.md`.

mod consumer;
mod producer;

pub use crate::spsc::{PopError, PushError, Stats, Violation};
pub use consumer::Consumer;
pub use producer::Producer;
