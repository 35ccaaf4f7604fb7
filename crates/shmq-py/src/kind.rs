//! What the binding needs from a queue kind, implemented for SPSC and MPMC.
//!
//! The Python classes of both kinds are generated from one template
//! (`endpoint.rs`, `queue.rs`) over these traits, so they have the same
//! methods by construction.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use shmq::{Error, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError, WaitStats};
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

/// A queue kind: its handle and endpoint types.
pub(crate) trait Kind {
    type Queue: Send + std::fmt::Debug;
    type Sender: Tx;
    type Receiver: Rx;

    fn open(name: &str) -> Result<Self::Queue, Error>;
    fn sender(q: &Self::Queue) -> Result<Self::Sender, Error>;
    fn receiver(q: &Self::Queue) -> Result<Self::Receiver, Error>;
    fn capacity(q: &Self::Queue) -> usize;
    fn slot_size(q: &Self::Queue) -> usize;
    /// Messages in the queue (a snapshot).
    fn len(q: &Self::Queue) -> usize;
    /// The queue's counters as a dict.
    fn stats<'py>(py: Python<'py>, q: &Self::Queue) -> PyResult<Bound<'py, PyDict>>;
}

/// The blocking-wait counters as a dict.
pub(crate) fn wait_stats<'py>(py: Python<'py>, w: &WaitStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("consumer_sleeps", w.consumer_sleeps)?;
    d.set_item("consumer_spurious", w.consumer_spurious)?;
    d.set_item("data_wakes", w.data_wakes)?;
    d.set_item("producer_sleeps", w.producer_sleeps)?;
    d.set_item("producer_spurious", w.producer_spurious)?;
    d.set_item("room_wakes", w.room_wakes)?;
    Ok(d)
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

/// Single-producer single-consumer queues.
#[derive(Debug)]
pub(crate) enum Spsc {}

fn state(s: shmq::EndpointState) -> String {
    match s {
        shmq::EndpointState::Never => "never".into(),
        shmq::EndpointState::Attached => "attached".into(),
        shmq::EndpointState::Closed => "closed".into(),
        shmq::EndpointState::Invalid(v) => format!("invalid({v})"),
    }
}

impl Kind for Spsc {
    type Queue = shmq::spsc::Queue;
    type Sender = shmq::spsc::Sender;
    type Receiver = shmq::spsc::Receiver;

    fn open(name: &str) -> Result<Self::Queue, Error> {
        shmq::spsc::Queue::open(name)
    }
    fn sender(q: &Self::Queue) -> Result<Self::Sender, Error> {
        q.sender()
    }
    fn receiver(q: &Self::Queue) -> Result<Self::Receiver, Error> {
        q.receiver()
    }
    fn capacity(q: &Self::Queue) -> usize {
        q.capacity()
    }
    fn slot_size(q: &Self::Queue) -> usize {
        q.slot_size()
    }
    fn len(q: &Self::Queue) -> usize {
        q.len()
    }
    fn stats<'py>(py: Python<'py>, q: &Self::Queue) -> PyResult<Bound<'py, PyDict>> {
        let s = q.stats();
        let d = PyDict::new(py);
        d.set_item("enqueued", s.enqueued)?;
        d.set_item("dequeued", s.dequeued)?;
        d.set_item("full", s.full)?;
        d.set_item("empty", s.empty)?;
        d.set_item("producer_poisoned", s.producer_poisoned)?;
        d.set_item("consumer_poisoned", s.consumer_poisoned)?;
        d.set_item("poisoned", s.poisoned)?;
        d.set_item("producer", state(s.producer))?;
        d.set_item("consumer", state(s.consumer))?;
        d.set_item("wait", wait_stats(py, &s.wait)?)?;
        Ok(d)
    }
}

/// Multi-producer multi-consumer queues.
#[derive(Debug)]
pub(crate) enum Mpmc {}

impl Kind for Mpmc {
    type Queue = shmq::mpmc::Queue;
    type Sender = shmq::mpmc::Sender;
    type Receiver = shmq::mpmc::Receiver;

    fn open(name: &str) -> Result<Self::Queue, Error> {
        shmq::mpmc::Queue::open(name)
    }
    fn sender(q: &Self::Queue) -> Result<Self::Sender, Error> {
        q.sender()
    }
    fn receiver(q: &Self::Queue) -> Result<Self::Receiver, Error> {
        q.receiver()
    }
    fn capacity(q: &Self::Queue) -> usize {
        q.capacity()
    }
    fn slot_size(q: &Self::Queue) -> usize {
        q.slot_size()
    }
    fn len(q: &Self::Queue) -> usize {
        // Claimed positions include ones whose sender is still writing.
        q.len()
    }
    fn stats<'py>(py: Python<'py>, q: &Self::Queue) -> PyResult<Bound<'py, PyDict>> {
        let s = q.stats();
        let d = PyDict::new(py);
        d.set_item("claimed", s.claimed)?;
        d.set_item("taken", s.taken)?;
        d.set_item("skipped", s.skipped)?;
        d.set_item("lost", s.lost)?;
        d.set_item("idle", s.idle)?;
        d.set_item("producer_poisoned", s.producer_poisoned)?;
        d.set_item("consumer_poisoned", s.consumer_poisoned)?;
        d.set_item("poisoned", s.poisoned)?;
        d.set_item("producers", s.producers)?;
        d.set_item("consumers", s.consumers)?;
        d.set_item("producer_ever", s.producer_ever)?;
        d.set_item("wait", wait_stats(py, &s.wait)?)?;
        Ok(d)
    }
}
