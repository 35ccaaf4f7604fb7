//! `shmq.mpmc`: multi-producer multi-consumer queues.

use crate::endpoint::endpoint_classes;
use crate::errors;
use crate::queue::{queue_class, QueueState};
use pyo3::prelude::*;
use shmq::mpmc::Mpmc;

fn builder(
    name: &str,
    capacity: u32,
    slot_size: u32,
    max_endpoints: u32,
    persist: bool,
) -> shmq::mpmc::Builder {
    let config = shmq::mpmc::Config {
        capacity,
        slot_size,
        max_endpoints,
    };
    shmq::mpmc::Queue::builder(name)
        .config(config)
        .persist(persist)
}

endpoint_classes!(
    MpmcSender,
    MpmcReceiver,
    "shmq.mpmc",
    shmq::mpmc::Sender,
    shmq::mpmc::Receiver
);

queue_class!(MpmcQueue, MpmcSender, MpmcReceiver, "shmq.mpmc", Mpmc, {
    /// Creates the queue ``name`` (``/dev/shm/<name>``, exclusively, mode
    /// 0600) with ``capacity`` slots (a power of two, 2 to 2**22) of
    /// ``slot_size`` bytes, for at most ``max_endpoints`` senders and
    /// receivers attached at once (1 to 1024). Unless ``persist``, the name
    /// is removed when this handle and every endpoint taken from it are closed.
    ///
    /// Raises ``AlreadyExists``; ``InvalidName``; ``InvalidRegion`` for an
    /// invalid geometry.
    #[staticmethod]
    #[pyo3(signature = (name, capacity = 1024, slot_size = 64, max_endpoints = 16, *, persist = false))]
    fn create(
        py: Python<'_>,
        name: &str,
        capacity: u32,
        slot_size: u32,
        max_endpoints: u32,
        persist: bool,
    ) -> PyResult<Self> {
        let q = py
            .detach(|| builder(name, capacity, slot_size, max_endpoints, persist).create())
            .map_err(|e| errors::setup(e, name))?;
        Ok(Self(QueueState::new(q, name)))
    }

    /// Opens the queue ``name`` if it exists (whatever its geometry), or
    /// creates it as ``create`` does. Raises as ``create`` and ``open``.
    #[staticmethod]
    #[pyo3(signature = (name, capacity = 1024, slot_size = 64, max_endpoints = 16, *, persist = false))]
    fn open_or_create(
        py: Python<'_>,
        name: &str,
        capacity: u32,
        slot_size: u32,
        max_endpoints: u32,
        persist: bool,
    ) -> PyResult<Self> {
        QueueState::open_or_create(py, name, || {
            builder(name, capacity, slot_size, max_endpoints, persist).open_or_create()
        })
        .map(Self)
    }
});

/// Adds the classes to the module `shmq._shmq.mpmc`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MpmcQueue>()?;
    m.add_class::<MpmcSender>()?;
    m.add_class::<MpmcReceiver>()?;
    Ok(())
}
