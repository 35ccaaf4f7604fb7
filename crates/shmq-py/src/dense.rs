//! `shmq.dense`: fixed-size records back to back (single producer, single
//! consumer).

use crate::endpoint::endpoint_classes;
use crate::errors;
use crate::queue::{queue_class, QueueState};
use pyo3::prelude::*;
use shmq::dense::Dense;

fn builder(name: &str, capacity: u32, record_size: u32, persist: bool) -> shmq::dense::Builder {
    let config = shmq::dense::Config {
        capacity,
        record_size,
    };
    shmq::dense::Queue::builder(name)
        .config(config)
        .persist(persist)
}

endpoint_classes!(
    DenseSender,
    DenseReceiver,
    "shmq.dense",
    shmq::dense::Sender,
    shmq::dense::Receiver
);

queue_class!(
    DenseQueue,
    DenseSender,
    DenseReceiver,
    "shmq.dense",
    Dense,
    {
        /// Creates the queue ``name`` (``/dev/shm/<name>``, exclusively, mode
        /// 0600) with room for ``capacity`` records (a power of two, 2 to 2**24)
        /// of exactly ``record_size`` bytes (1 to 2**24). Unless ``persist``, the
        /// name is removed when this handle and every endpoint taken from it are
        /// closed.
        ///
        /// Raises ``AlreadyExists``; ``InvalidName``; ``InvalidRegion`` for an
        /// invalid geometry.
        #[staticmethod]
        #[pyo3(signature = (name, capacity = 4096, record_size = 8, *, persist = false))]
        fn create(
            py: Python<'_>,
            name: &str,
            capacity: u32,
            record_size: u32,
            persist: bool,
        ) -> PyResult<Self> {
            let q = py
                .detach(|| builder(name, capacity, record_size, persist).create())
                .map_err(|e| errors::setup(e, name))?;
            Ok(Self(QueueState::new(q, name)))
        }

        /// Opens the queue ``name`` if it exists (whatever its geometry), or
        /// creates it as ``create`` does. Raises as ``create`` and ``open``.
        #[staticmethod]
        #[pyo3(signature = (name, capacity = 4096, record_size = 8, *, persist = false))]
        fn open_or_create(
            py: Python<'_>,
            name: &str,
            capacity: u32,
            record_size: u32,
            persist: bool,
        ) -> PyResult<Self> {
            QueueState::open_or_create(py, name, || {
                builder(name, capacity, record_size, persist).open_or_create()
            })
            .map(Self)
        }
    }
);

/// Adds the classes to the module `shmq._shmq.dense`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DenseQueue>()?;
    m.add_class::<DenseSender>()?;
    m.add_class::<DenseReceiver>()?;
    Ok(())
}
