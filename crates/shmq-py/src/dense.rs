//! `shmq.dense`: fixed-size records back to back (single producer, single
//! consumer).

use crate::buffer;
use crate::endpoint::{endpoint_classes, ReceiverState, SenderState};
use crate::errors;
use crate::queue::{queue_class, QueueState};
use crate::wait;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use shmq::dense::{Dense, Receiver, Sender};

fn builder(name: &str, capacity: u32, record_size: u32, persist: bool) -> shmq::dense::Builder {
    let config = shmq::dense::Config {
        capacity,
        record_size,
    };
    shmq::dense::Queue::builder(name)
        .config(config)
        .persist(persist)
}

/// The batch calls: records back to back, `slot_size` (the record size)
/// bytes each; counts are records.
impl SenderState<Sender> {
    /// `Sender.send_records`: a prefix of the whole records of `data` (at
    /// least one unless `data` is empty), waiting for room for one.
    fn send_records(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        self.send_by(
            py,
            data,
            timeout,
            Sender::try_send_records,
            Sender::send_records,
        )
    }

    /// `Sender.try_send_records`.
    fn try_send_records(&mut self, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let tx = self.inner.get()?;
        buffer::with_bytes(data, |records| {
            tx.try_send_records(records).map_err(errors::try_send)
        })?
    }
}

impl ReceiverState<Receiver> {
    /// `Receiver.recv_records_into`: as many records as `buffer` holds
    /// whole, at least one unless `buffer` is empty.
    fn recv_records_into(
        &mut self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        let timeout = wait::timeout(timeout)?;
        let rx = self.inner.get()?;
        buffer::with_bytes_mut(buffer, |buf| {
            Self::recv_by(
                py,
                rx,
                buf,
                timeout,
                Receiver::try_recv_records,
                Receiver::recv_records,
            )?
            .map_err(errors::recv)
        })?
    }

    /// `Receiver.try_recv_records_into`.
    fn try_recv_records_into(&mut self, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let rx = self.inner.get()?;
        buffer::with_bytes_mut(buffer, |buf| {
            rx.try_recv_records(buf).map_err(errors::try_recv)
        })?
    }

    /// A zeroed buffer for up to `max_records` records: never more than the
    /// queue holds (`capacity`), so its size is bounded by the region's.
    fn records_buffer(&self, max_records: usize) -> Vec<u8> {
        let records = max_records.min(self.capacity);
        // capacity * slot_size fits: the region holds that many records.
        vec![0; records.saturating_mul(self.slot_size)]
    }

    /// `Receiver.recv_records`.
    fn recv_records<'py>(
        &mut self,
        py: Python<'py>,
        max_records: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let timeout = wait::timeout(timeout)?;
        let mut buf = self.records_buffer(max_records);
        let rx = self.inner.get()?;
        let n = Self::recv_by(
            py,
            rx,
            &mut buf,
            timeout,
            Receiver::try_recv_records,
            Receiver::recv_records,
        )?
        .map_err(errors::recv)?;
        Ok(PyBytes::new(py, &buf[..n * self.slot_size]))
    }

    /// `Receiver.try_recv_records`.
    fn try_recv_records<'py>(
        &mut self,
        py: Python<'py>,
        max_records: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut buf = self.records_buffer(max_records);
        let rx = self.inner.get()?;
        let n = rx.try_recv_records(&mut buf).map_err(errors::try_recv)?;
        Ok(PyBytes::new(py, &buf[..n * self.slot_size]))
    }
}

endpoint_classes!(
    DenseSender,
    DenseReceiver,
    "shmq.dense",
    Sender,
    Receiver,
    sender {
        /// Sends the leading whole records of ``data`` (records back to
        /// back, ``slot_size`` bytes each) in one batch, published at once,
        /// and returns how many records: at least one (unless ``data`` is
        /// empty: 0), fewer than given if the queue has room for fewer. Call
        /// again with the rest (``data[n * slot_size:]``) to send it all.
        /// Waits up to ``timeout`` seconds (``None``: no bound) for room for
        /// one record; the GIL is released while waiting, and the wait ends
        /// with the exception of a signal handler (``KeyboardInterrupt`` on
        /// Ctrl-C).
        ///
        /// Raises ``WrongSize`` if ``len(data)`` is not a multiple of
        /// ``slot_size`` (nothing sent, checked before waiting);
        /// ``Timeout``; ``Disconnected`` (full, and the receiver is gone);
        /// ``Poisoned``; ``BufferError``/``TypeError`` if ``data`` is not a
        /// contiguous bytes-like object.
        ///
        /// >>> with shmq.dense.Queue.create("doc-dense-send", capacity=4, record_size=2) as q:
        /// ...     with q.sender() as tx, q.receiver() as rx:
        /// ...         tx.send_records(b"aabbccddee"), rx.recv_records(8)
        /// (4, b'aabbccdd')
        #[pyo3(signature = (data, timeout = None))]
        fn send_records(
            &mut self,
            py: Python<'_>,
            data: &Bound<'_, PyAny>,
            timeout: Option<f64>,
        ) -> PyResult<usize> {
            self.0.send_records(py, data, timeout)
        }

        /// ``send_records`` without waiting: raises ``Full`` if not one
        /// record fits.
        fn try_send_records(&mut self, data: &Bound<'_, PyAny>) -> PyResult<usize> {
            self.0.try_send_records(data)
        }
    },
    receiver {
        /// Receives up to ``max_records`` records in one batch and returns
        /// them as ``bytes``, back to back (``slot_size`` bytes each): at
        /// least one, as many as are queued up to ``max_records``
        /// (``max_records=0``: ``b""`` at once). Waits as ``recv`` does.
        ///
        /// Raises ``Timeout``; ``Disconnected`` once drained and the sender
        /// is gone; ``Poisoned``.
        ///
        /// >>> with shmq.dense.Queue.create("doc-dense-recv", capacity=8, record_size=3) as q:
        /// ...     with q.sender() as tx, q.receiver() as rx:
        /// ...         tx.send_records(b"onetwo"), rx.recv_records(100, timeout=1)
        /// (2, b'onetwo')
        #[pyo3(signature = (max_records, timeout = None))]
        fn recv_records<'py>(
            &mut self,
            py: Python<'py>,
            max_records: usize,
            timeout: Option<f64>,
        ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
            self.0.recv_records(py, max_records, timeout)
        }

        /// ``recv_records`` without waiting: raises ``Empty`` if no record
        /// is queued.
        fn try_recv_records<'py>(
            &mut self,
            py: Python<'py>,
            max_records: usize,
        ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
            self.0.try_recv_records(py, max_records)
        }

        /// Receives as many records as the writable ``buffer`` holds whole
        /// (``len // slot_size``; a ``bytearray``, ``memoryview``, NumPy
        /// array such as a structured array of the record's dtype) in one
        /// batch, back to back from its start, and returns how many records:
        /// at least one (an empty ``buffer``: 0 at once). Bytes past them are
        /// left as they were. Waits as ``recv`` does.
        ///
        /// Raises as ``recv_records``; ``TooLarge`` if ``buffer`` is not
        /// empty but shorter than one record; ``BufferError``/``TypeError``
        /// if ``buffer`` is not a writable contiguous buffer.
        ///
        /// >>> import numpy as np
        /// >>> with shmq.dense.Queue.create("doc-dense-into", capacity=8, record_size=8) as q:
        /// ...     with q.sender() as tx, q.receiver() as rx:
        /// ...         tx.send_records(np.arange(3, dtype=np.int64))
        /// ...         out = np.zeros(4, dtype=np.int64)
        /// ...         rx.recv_records_into(out, timeout=1), out.tolist()
        /// 3
        /// (3, [0, 1, 2, 0])
        #[pyo3(signature = (buffer, timeout = None))]
        fn recv_records_into(
            &mut self,
            py: Python<'_>,
            buffer: &Bound<'_, PyAny>,
            timeout: Option<f64>,
        ) -> PyResult<usize> {
            self.0.recv_records_into(py, buffer, timeout)
        }

        /// ``recv_records_into`` without waiting: raises ``Empty`` if no
        /// record is queued.
        fn try_recv_records_into(&mut self, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
            self.0.try_recv_records_into(buffer)
        }
    }
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
