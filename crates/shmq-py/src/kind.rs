//! What the binding needs from a queue kind beyond the Rust crate's generic
//! API: its counters as a Python dict. Implemented for the four kinds.
//!
//! The Python classes of every kind are generated from one template
//! (`endpoint.rs`, `queue.rs`) over the Rust crate's generic
//! `shmq::Queue<K>`, `shmq::Sender<K>` and `shmq::Receiver<K>`, so they have
//! the same methods by construction.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use shmq::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError, WaitStats};
use std::time::Duration;

/// A sending endpoint.
pub(crate) trait Tx: Send + std::fmt::Debug {
    fn try_send(&mut self, msg: &[u8]) -> Result<(), TrySendError>;
    fn send(&mut self, msg: &[u8], timeout: Duration) -> Result<(), SendTimeoutError>;
}

/// A receiving endpoint.
pub(crate) trait Rx: Send + std::fmt::Debug {
    fn try_recv(&mut self, buf: &mut [u8]) -> Result<usize, TryRecvError>;
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, RecvTimeoutError>;
}

impl<K: shmq::Kind> Tx for shmq::Sender<K> {
    fn try_send(&mut self, msg: &[u8]) -> Result<(), TrySendError> {
        shmq::Sender::try_send(self, msg)
    }
    fn send(&mut self, msg: &[u8], timeout: Duration) -> Result<(), SendTimeoutError> {
        shmq::Sender::send(self, msg, timeout)
    }
}

impl<K: shmq::Kind> Rx for shmq::Receiver<K> {
    fn try_recv(&mut self, buf: &mut [u8]) -> Result<usize, TryRecvError> {
        shmq::Receiver::try_recv(self, buf)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, RecvTimeoutError> {
        shmq::Receiver::recv(self, buf, timeout)
    }
}

/// A queue kind of the Rust crate, as the binding exposes it.
pub(crate) trait Kind: shmq::Kind {
    /// The queue's counters as a dict.
    fn stats<'py>(py: Python<'py>, s: &Self::Stats) -> PyResult<Bound<'py, PyDict>>;
}

/// The blocking-wait counters as a dict.
fn wait_stats<'py>(py: Python<'py>, w: &WaitStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("consumer_sleeps", w.consumer_sleeps)?;
    d.set_item("consumer_spurious", w.consumer_spurious)?;
    d.set_item("data_wakes", w.data_wakes)?;
    d.set_item("producer_sleeps", w.producer_sleeps)?;
    d.set_item("producer_spurious", w.producer_spurious)?;
    d.set_item("room_wakes", w.room_wakes)?;
    Ok(d)
}

/// A role's state word as a string.
fn state(s: shmq::EndpointState) -> String {
    match s {
        shmq::EndpointState::Never => "never".into(),
        shmq::EndpointState::Attached => "attached".into(),
        shmq::EndpointState::Closed => "closed".into(),
        shmq::EndpointState::Invalid(v) => format!("invalid({v})"),
    }
}

/// Implements [`Kind`] for `$kind`, whose stats dict has the counters
/// `$field`s (under their Rust names) and the wait counters; `$role`s are
/// state words (single-role kinds: "producer", "consumer").
macro_rules! stats_dict {
    ($kind:ty, [$($field:ident),*], [$($role:ident),*]) => {
        impl Kind for $kind {
            fn stats<'py>(py: Python<'py>, s: &Self::Stats) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                $(d.set_item(stringify!($field), s.$field)?;)*
                $(d.set_item(stringify!($role), state(s.$role))?;)*
                d.set_item("wait", wait_stats(py, &s.wait)?)?;
                Ok(d)
            }
        }
    };
}

stats_dict!(
    shmq::spsc::Spsc,
    [
        enqueued,
        dequeued,
        full,
        empty,
        producer_poisoned,
        consumer_poisoned,
        poisoned
    ],
    [producer, consumer]
);

// `len()` of MPMC counts claimed positions, including ones whose sender is
// still writing.
stats_dict!(
    shmq::mpmc::Mpmc,
    [
        claimed,
        taken,
        skipped,
        lost,
        idle,
        producer_poisoned,
        consumer_poisoned,
        poisoned,
        producers,
        consumers,
        producer_ever
    ],
    []
);

stats_dict!(
    shmq::bytes::Bytes,
    [
        enqueued,
        dequeued,
        bytes_enqueued,
        bytes_dequeued,
        full,
        empty,
        producer_poisoned,
        consumer_poisoned,
        poisoned
    ],
    [producer, consumer]
);

stats_dict!(
    shmq::dense::Dense,
    [
        enqueued,
        dequeued,
        full,
        empty,
        producer_poisoned,
        consumer_poisoned,
        poisoned
    ],
    [producer, consumer]
);
