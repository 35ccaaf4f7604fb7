//! `shmq.bytes`: variable-length records in a byte ring (single producer,
//! single consumer).

use crate::endpoint::endpoint_classes;
use crate::errors;
use crate::queue::{queue_class, QueueState};
use pyo3::prelude::*;
use shmq::bytes::Bytes;

fn builder(
    name: &str,
    capacity_bytes: u32,
    max_message: u32,
    persist: bool,
) -> shmq::bytes::Builder {
    let config = shmq::bytes::Config {
        capacity_bytes,
        max_message,
    };
    shmq::bytes::Queue::builder(name)
        .config(config)
        .persist(persist)
}

endpoint_classes!(
    BytesSender,
    BytesReceiver,
    "shmq.bytes",
    shmq::bytes::Sender,
    shmq::bytes::Receiver
);

queue_class!(
    BytesQueue,
    BytesSender,
    BytesReceiver,
    "shmq.bytes",
    Bytes,
    {
        /// Creates the queue ``name`` (``/dev/shm/<name>``, exclusively, mode
        /// 0600): a ring of ``capacity_bytes`` bytes (a power of two, 64 to
        /// 2**30) for messages of 0 to ``max_message`` bytes (at most
        /// ``capacity_bytes // 2 - 16``). Each message takes its length rounded
        /// up to 8, plus 8 bytes. Unless ``persist``, the name is removed when
        /// this handle and every endpoint taken from it are closed.
        ///
        /// Raises ``AlreadyExists``; ``InvalidName``; ``InvalidRegion`` for an
        /// invalid geometry.
        #[staticmethod]
        #[pyo3(signature = (name, capacity_bytes = 1 << 20, max_message = 64 << 10, *, persist = false))]
        fn create(
            py: Python<'_>,
            name: &str,
            capacity_bytes: u32,
            max_message: u32,
            persist: bool,
        ) -> PyResult<Self> {
            let q = py
                .detach(|| builder(name, capacity_bytes, max_message, persist).create())
                .map_err(|e| errors::setup(e, name))?;
            Ok(Self(QueueState::new(q, name)))
        }

        /// Opens the queue ``name`` if it exists (whatever its geometry), or
        /// creates it as ``create`` does. Raises as ``create`` and ``open``.
        #[staticmethod]
        #[pyo3(signature = (name, capacity_bytes = 1 << 20, max_message = 64 << 10, *, persist = false))]
        fn open_or_create(
            py: Python<'_>,
            name: &str,
            capacity_bytes: u32,
            max_message: u32,
            persist: bool,
        ) -> PyResult<Self> {
            QueueState::open_or_create(py, name, || {
                builder(name, capacity_bytes, max_message, persist).open_or_create()
            })
            .map(Self)
        }
    }
);

/// Adds the classes to the module `shmq._shmq.bytes`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BytesQueue>()?;
    m.add_class::<BytesSender>()?;
    m.add_class::<BytesReceiver>()?;
    Ok(())
}
