//! `shmq.spsc`: single-producer single-consumer queues.

use crate::endpoint::endpoint_classes;
use crate::errors;
use crate::queue::{queue_class, QueueState};
use pyo3::prelude::*;
use shmq::spsc::Spsc;

fn builder(name: &str, capacity: u32, slot_size: u32, persist: bool) -> shmq::spsc::Builder {
    shmq::spsc::Queue::builder(name)
        .capacity(capacity)
        .slot_size(slot_size)
        .persist(persist)
}

endpoint_classes!(
    SpscSender,
    SpscReceiver,
    "shmq.spsc",
    shmq::spsc::Sender,
    shmq::spsc::Receiver
);

queue_class!(SpscQueue, SpscSender, SpscReceiver, "shmq.spsc", Spsc, {
    /// Creates the queue ``name`` (``/dev/shm/<name>``, exclusively, mode
    /// 0600) with ``capacity`` slots (a power of two, 2 to 2**24) of
    /// ``slot_size`` bytes. Unless ``persist``, the name is removed when this
    /// handle and every endpoint taken from it are closed.
    ///
    /// Raises ``AlreadyExists``; ``InvalidName``; ``InvalidRegion`` for an
    /// invalid geometry.
    #[staticmethod]
    #[pyo3(signature = (name, capacity = 1024, slot_size = 64, *, persist = false))]
    fn create(
        py: Python<'_>,
        name: &str,
        capacity: u32,
        slot_size: u32,
        persist: bool,
    ) -> PyResult<Self> {
        let q = py
            .detach(|| builder(name, capacity, slot_size, persist).create())
            .map_err(|e| errors::setup(e, name))?;
        Ok(Self(QueueState::new(q, name)))
    }

    /// Opens the queue ``name`` if it exists (whatever its geometry), or
    /// creates it as ``create`` does. Raises as ``create`` and ``open``.
    #[staticmethod]
    #[pyo3(signature = (name, capacity = 1024, slot_size = 64, *, persist = false))]
    fn open_or_create(
        py: Python<'_>,
        name: &str,
        capacity: u32,
        slot_size: u32,
        persist: bool,
    ) -> PyResult<Self> {
        QueueState::open_or_create(py, name, || {
            builder(name, capacity, slot_size, persist).open_or_create()
        })
        .map(Self)
    }
});

/// Adds the classes to the module `shmq._shmq.spsc`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SpscQueue>()?;
    m.add_class::<SpscSender>()?;
    m.add_class::<SpscReceiver>()?;
    Ok(())
}
