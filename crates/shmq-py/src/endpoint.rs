//! The `Sender` and `Receiver` classes, one pair per queue kind, generated
//! from one template.
//!
//! Calls that can succeed at once try first with the GIL held (no system
//! call, no GIL hand-off); only a call that has to wait releases the GIL and
//! waits in slices (`wait::in_slices`). An endpoint is used by one thread at
//! a time: a second thread calling it while the first waits gets PyO3's
//! "Already borrowed" `RuntimeError` (take an endpoint per thread instead).

use crate::buffer;
use crate::errors;
use crate::fork::Owned;
use crate::kind::{Rx, Tx};
use crate::wait;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use shmq::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use std::time::Duration;

/// The shared state of a Python `Sender`.
#[derive(Debug)]
pub(crate) struct SenderState<T> {
    pub(crate) inner: Owned<T>,
    pub(crate) name: String,
    pub(crate) capacity: usize,
    pub(crate) slot_size: usize,
}

impl<T: Tx> SenderState<T> {
    pub(crate) fn new(inner: T, name: &str, capacity: usize, slot_size: usize) -> Self {
        SenderState {
            inner: Owned::new(inner, "Sender", false),
            name: name.to_owned(),
            capacity,
            slot_size,
        }
    }

    /// `Sender.send`.
    pub(crate) fn send(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        self.send_by(py, data, timeout, T::try_send, T::send)
    }

    /// Sends the bytes of `data` with `try_op` at once, with the GIL held,
    /// and if it finds the queue full, with `wait_op` in slices without the
    /// GIL until `timeout` (seconds, `None`: no bound). The shape of every
    /// waiting send: `send`, and a kind's batch call.
    ///
    /// # Errors
    /// As `wait::timeout` and `buffer::with_bytes`; the call's error as
    /// `errors::try_send`/`errors::send` map it; a signal handler's exception.
    pub(crate) fn send_by<R: Send>(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        try_op: impl FnOnce(&mut T, &[u8]) -> Result<R, TrySendError>,
        mut wait_op: impl FnMut(&mut T, &[u8], Duration) -> Result<R, SendTimeoutError> + Send,
    ) -> PyResult<R> {
        let timeout = wait::timeout(timeout)?;
        let tx = self.inner.get()?;
        buffer::with_bytes(data, |msg| {
            match try_op(tx, msg) {
                Ok(r) => return Ok(r),
                Err(TrySendError::Full) => {}
                Err(e) => return Err(errors::try_send(e)),
            }
            wait::in_slices(
                py,
                timeout,
                |slice| wait_op(tx, msg, slice),
                |e| matches!(e, SendTimeoutError::Timeout),
            )?
            .map_err(errors::send)
        })?
    }

    /// `Sender.try_send`.
    pub(crate) fn try_send(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let tx = self.inner.get()?;
        buffer::with_bytes(data, |msg| tx.try_send(msg).map_err(errors::try_send))?
    }

    pub(crate) fn repr(&mut self, class: &str) -> String {
        let closed = if self.inner.is_closed() {
            ", closed"
        } else {
            ""
        };
        format!("<{class} {:?}{closed}>", self.name)
    }
}

/// The shared state of a Python `Receiver`.
#[derive(Debug)]
pub(crate) struct ReceiverState<T> {
    pub(crate) inner: Owned<T>,
    pub(crate) name: String,
    pub(crate) capacity: usize,
    pub(crate) slot_size: usize,
    /// One slot's worth of bytes for `recv`/`try_recv`, which return `bytes`
    /// of a length known only after the message is taken.
    scratch: Vec<u8>,
}

impl<T: Rx> ReceiverState<T> {
    pub(crate) fn new(inner: T, name: &str, capacity: usize, slot_size: usize) -> Self {
        ReceiverState {
            inner: Owned::new(inner, "Receiver", false),
            name: name.to_owned(),
            capacity,
            slot_size,
            scratch: vec![0; slot_size],
        }
    }

    /// Receives into `buf`: at once if a message is there, else waiting in
    /// slices without the GIL.
    fn recv_to(
        py: Python<'_>,
        rx: &mut T,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> PyResult<Result<usize, RecvTimeoutError>> {
        Self::recv_by(py, rx, buf, timeout, T::try_recv, T::recv)
    }

    /// Receives into `buf` with `try_op` at once, with the GIL held, and if
    /// it finds the queue empty, with `wait_op` in slices without the GIL
    /// until `timeout` (`None`: no bound). The shape of every waiting
    /// receive: `recv`/`recv_into`, and a kind's batch call. The inner `Err`
    /// is the platform's.
    ///
    /// # Errors
    /// A signal handler's exception.
    pub(crate) fn recv_by<R: Send>(
        py: Python<'_>,
        rx: &mut T,
        buf: &mut [u8],
        timeout: Option<Duration>,
        try_op: impl FnOnce(&mut T, &mut [u8]) -> Result<R, TryRecvError>,
        mut wait_op: impl FnMut(&mut T, &mut [u8], Duration) -> Result<R, RecvTimeoutError> + Send,
    ) -> PyResult<Result<R, RecvTimeoutError>> {
        match try_op(rx, buf) {
            Ok(r) => return Ok(Ok(r)),
            Err(TryRecvError::Empty) => {}
            Err(e) => return Ok(Err(e.into())),
        }
        wait::in_slices(
            py,
            timeout,
            |slice| wait_op(rx, buf, slice),
            |e| matches!(e, RecvTimeoutError::Timeout),
        )
    }

    /// Receives one message as `bytes`; the inner `Err` is the platform's.
    fn recv_bytes<'py>(
        &mut self,
        py: Python<'py>,
        timeout: Option<Duration>,
    ) -> PyResult<Result<Bound<'py, PyBytes>, RecvTimeoutError>> {
        let rx = self.inner.get()?;
        Ok(Self::recv_to(py, rx, &mut self.scratch, timeout)?
            .map(|n| PyBytes::new(py, &self.scratch[..n])))
    }

    /// `Receiver.recv`.
    pub(crate) fn recv<'py>(
        &mut self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let timeout = wait::timeout(timeout)?;
        self.recv_bytes(py, timeout)?.map_err(errors::recv)
    }

    /// `Receiver.__next__`: `recv()`, and `None` (end of iteration) once
    /// disconnected.
    pub(crate) fn next<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        match self.recv_bytes(py, None)? {
            Ok(b) => Ok(Some(b)),
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(e) => Err(errors::recv(e)),
        }
    }

    /// `Receiver.recv_into`.
    pub(crate) fn recv_into(
        &mut self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        let timeout = wait::timeout(timeout)?;
        let rx = self.inner.get()?;
        buffer::with_bytes_mut(buffer, |buf| {
            Self::recv_to(py, rx, buf, timeout)?.map_err(errors::recv)
        })?
    }

    /// `Receiver.try_recv`.
    pub(crate) fn try_recv<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let rx = self.inner.get()?;
        let n = rx.try_recv(&mut self.scratch).map_err(errors::try_recv)?;
        Ok(PyBytes::new(py, &self.scratch[..n]))
    }

    /// `Receiver.try_recv_into`.
    pub(crate) fn try_recv_into(&mut self, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let rx = self.inner.get()?;
        buffer::with_bytes_mut(buffer, |buf| rx.try_recv(buf).map_err(errors::try_recv))?
    }

    pub(crate) fn repr(&mut self, class: &str) -> String {
        let closed = if self.inner.is_closed() {
            ", closed"
        } else {
            ""
        };
        format!("<{class} {:?}{closed}>", self.name)
    }
}

/// Defines the Python classes `Sender` and `Receiver` of module `$module`
/// over the endpoint types `$tx` and `$rx`; the optional blocks
/// `sender { .. }` and `receiver { .. }` are a kind's own methods of each
/// class (the dense kind's batch calls), as `queue_class!` takes a kind's
/// constructors.
macro_rules! endpoint_classes {
    ($Sender:ident, $Receiver:ident, $module:tt, $tx:ty, $rx:ty) => {
        $crate::endpoint::endpoint_classes!(
            $Sender, $Receiver, $module, $tx, $rx, sender {}, receiver {}
        );
    };
    (
        $Sender:ident, $Receiver:ident, $module:tt, $tx:ty, $rx:ty,
        sender { $($tx_extra:tt)* }, receiver { $($rx_extra:tt)* }
    ) => {
        /// The sending end of a queue: ``send``/``try_send`` any bytes-like
        /// object (``bytes``, ``bytearray``, ``memoryview``, NumPy array, …;
        /// its bytes are copied straight into the queue's slot).
        ///
        /// Use as a context manager, or call ``close()``, to detach: a
        /// receiver then drains what was sent and gets ``Disconnected``.
        /// An endpoint is for one thread at a time.
        #[pyclass(name = "Sender", module = $module)]
        #[derive(Debug)]
        pub(crate) struct $Sender(pub(crate) crate::endpoint::SenderState<$tx>);

        #[pymethods]
        impl $Sender {
            /// Sends the bytes of ``data`` as one message, waiting up to
            /// ``timeout`` seconds for a free slot (``None``: no bound).
            /// The GIL is released while waiting, and the wait ends with the
            /// exception of a signal handler (``KeyboardInterrupt`` on Ctrl-C).
            ///
            /// Raises ``Timeout``; ``Disconnected`` if the queue is full and
            /// every receiver is gone; ``TooLarge`` if ``data`` is longer than
            /// ``slot_size``; ``WrongSize`` (dense) if ``data`` is not exactly
            /// one record of ``slot_size`` bytes; ``Poisoned``;
            /// ``BufferError``/``TypeError`` if ``data`` is not a contiguous
            /// bytes-like object.
            #[pyo3(signature = (data, timeout = None))]
            fn send(
                &mut self,
                py: Python<'_>,
                data: &Bound<'_, PyAny>,
                timeout: Option<f64>,
            ) -> PyResult<()> {
                self.0.send(py, data, timeout)
            }

            /// Sends the bytes of ``data`` if a slot is free; never waits.
            ///
            /// Raises ``Full``; ``Disconnected`` (full, and every receiver is
            /// gone); ``TooLarge``; ``WrongSize`` (dense); ``Poisoned``.
            fn try_send(&mut self, data: &Bound<'_, PyAny>) -> PyResult<()> {
                self.0.try_send(data)
            }

            $($tx_extra)*

            /// Detaches this sender (idempotent). Later calls raise ``ValueError``.
            fn close(&mut self) {
                self.0.inner.close();
            }

            /// Whether ``close()`` was called.
            #[getter]
            fn closed(&mut self) -> bool {
                self.0.inner.is_closed()
            }

            /// Number of slots of the queue (bytes kind: the ring's size in
            /// bytes; dense: records).
            #[getter]
            fn capacity(&self) -> usize {
                self.0.capacity
            }

            /// Largest message, in bytes (bytes kind: ``max_message``;
            /// dense: ``record_size``, the only length it accepts).
            #[getter]
            fn slot_size(&self) -> usize {
                self.0.slot_size
            }

            /// The queue's name.
            #[getter]
            fn name(&self) -> &str {
                &self.0.name
            }

            fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                slf
            }

            #[pyo3(signature = (*_args))]
            fn __exit__(&mut self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
                self.0.inner.close();
                false
            }

            fn __repr__(&mut self) -> String {
                self.0.repr(concat!($module, ".Sender"))
            }
        }

        /// The receiving end of a queue: ``recv``/``try_recv`` return
        /// ``bytes``; ``recv_into``/``try_recv_into`` write into a caller's
        /// writable buffer (``bytearray``, ``memoryview``, NumPy array) and
        /// return the message's length. Iterating (``for msg in rx``)
        /// receives until every sender is gone and the queue is drained.
        ///
        /// Use as a context manager, or call ``close()``, to detach.
        /// An endpoint is for one thread at a time.
        #[pyclass(name = "Receiver", module = $module)]
        #[derive(Debug)]
        pub(crate) struct $Receiver(pub(crate) crate::endpoint::ReceiverState<$rx>);

        #[pymethods]
        impl $Receiver {
            /// Receives one message, waiting up to ``timeout`` seconds
            /// (``None``: no bound). The GIL is released while waiting, and
            /// the wait ends with the exception of a signal handler
            /// (``KeyboardInterrupt`` on Ctrl-C).
            ///
            /// Raises ``Timeout``; ``Disconnected`` once drained and every
            /// sender is gone; ``Poisoned``.
            #[pyo3(signature = (timeout = None))]
            fn recv<'py>(
                &mut self,
                py: Python<'py>,
                timeout: Option<f64>,
            ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
                self.0.recv(py, timeout)
            }

            /// Receives one message into the writable buffer ``buffer`` (no
            /// allocation) and returns its length; waits as ``recv`` does.
            ///
            /// Raises as ``recv``; ``TooLarge`` if the message is longer than
            /// ``buffer`` (it stays queued; dense: ``buffer`` must hold a
            /// whole record); ``BufferError``/``TypeError`` if
            /// ``buffer`` is not a writable contiguous buffer.
            #[pyo3(signature = (buffer, timeout = None))]
            fn recv_into(
                &mut self,
                py: Python<'_>,
                buffer: &Bound<'_, PyAny>,
                timeout: Option<f64>,
            ) -> PyResult<usize> {
                self.0.recv_into(py, buffer, timeout)
            }

            /// Receives one message if there is one; never waits.
            ///
            /// Raises ``Empty``; ``Disconnected`` (drained, and every sender
            /// is gone); ``Poisoned``.
            fn try_recv<'py>(
                &mut self,
                py: Python<'py>,
            ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
                self.0.try_recv(py)
            }

            /// ``recv_into`` without waiting: raises ``Empty`` if there is no message.
            fn try_recv_into(&mut self, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
                self.0.try_recv_into(buffer)
            }

            $($rx_extra)*

            /// Detaches this receiver (idempotent). Later calls raise ``ValueError``.
            fn close(&mut self) {
                self.0.inner.close();
            }

            /// Whether ``close()`` was called.
            #[getter]
            fn closed(&mut self) -> bool {
                self.0.inner.is_closed()
            }

            /// Number of slots of the queue (bytes kind: the ring's size in
            /// bytes; dense: records).
            #[getter]
            fn capacity(&self) -> usize {
                self.0.capacity
            }

            /// Largest message, in bytes (bytes kind: ``max_message``;
            /// dense: ``record_size``, the only length it accepts).
            #[getter]
            fn slot_size(&self) -> usize {
                self.0.slot_size
            }

            /// The queue's name.
            #[getter]
            fn name(&self) -> &str {
                &self.0.name
            }

            fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                slf
            }

            fn __next__<'py>(
                &mut self,
                py: Python<'py>,
            ) -> PyResult<Option<Bound<'py, pyo3::types::PyBytes>>> {
                self.0.next(py)
            }

            fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                slf
            }

            #[pyo3(signature = (*_args))]
            fn __exit__(&mut self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
                self.0.inner.close();
                false
            }

            fn __repr__(&mut self) -> String {
                self.0.repr(concat!($module, ".Receiver"))
            }
        }
    };
}

pub(crate) use endpoint_classes;
