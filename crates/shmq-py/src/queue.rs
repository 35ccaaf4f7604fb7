//! The `Queue` class, one per queue kind, generated from one template.
//!
//! Kind-specific constructors (`create`, `open_or_create`, whose geometry
//! arguments differ) are passed in by the kind's module; everything else is
//! common.

use crate::errors;
use crate::fork::Owned;
use crate::kind::Kind;
use pyo3::prelude::*;

/// The shared state of a Python `Queue`.
#[derive(Debug)]
pub(crate) struct QueueState<K: Kind> {
    pub(crate) inner: Owned<shmq::Queue<K>>,
    pub(crate) name: String,
}

impl<K: Kind> QueueState<K> {
    pub(crate) fn new(queue: shmq::Queue<K>, name: &str) -> Self {
        QueueState {
            inner: Owned::new(queue, "Queue", true),
            name: name.to_owned(),
        }
    }

    /// Opens the existing queue `name`, without the GIL (it may wait for
    /// the creator to finish initialising the region).
    pub(crate) fn open(py: Python<'_>, name: &str) -> PyResult<Self> {
        let q = py
            .detach(|| shmq::Queue::<K>::open(name))
            .map_err(|e| errors::setup(e, name))?;
        Ok(Self::new(q, name))
    }

    /// Runs `open_or_create` (a builder's) without the GIL.
    pub(crate) fn open_or_create(
        py: Python<'_>,
        name: &str,
        open_or_create: impl FnOnce() -> Result<shmq::Queue<K>, shmq::Error> + Send,
    ) -> PyResult<Self> {
        let q = py
            .detach(open_or_create)
            .map_err(|e| errors::setup(e, name))?;
        Ok(Self::new(q, name))
    }

    /// `Queue.remove`.
    pub(crate) fn remove(name: &str) -> PyResult<()> {
        shmq::Queue::<K>::remove(name).map_err(|e| errors::setup(e, name))
    }

    pub(crate) fn sender(&mut self) -> PyResult<crate::endpoint::SenderState<shmq::Sender<K>>> {
        let q = self.inner.get()?;
        let tx = q.sender().map_err(|e| errors::setup(e, &self.name))?;
        Ok(crate::endpoint::SenderState::new(
            tx,
            &self.name,
            q.capacity(),
            q.slot_size(),
        ))
    }

    pub(crate) fn receiver(
        &mut self,
    ) -> PyResult<crate::endpoint::ReceiverState<shmq::Receiver<K>>> {
        let q = self.inner.get()?;
        let rx = q.receiver().map_err(|e| errors::setup(e, &self.name))?;
        Ok(crate::endpoint::ReceiverState::new(
            rx,
            &self.name,
            q.capacity(),
            q.slot_size(),
        ))
    }

    pub(crate) fn repr(&mut self, class: &str) -> String {
        match self.inner.get() {
            Ok(q) => format!(
                "<{class} {:?} capacity={} slot_size={}>",
                self.name,
                q.capacity(),
                q.slot_size()
            ),
            Err(_) => format!("<{class} {:?}, closed>", self.name),
        }
    }
}

/// Defines the Python class `Queue` of module `$module` for kind `$K`, whose
/// endpoints are the classes `$Sender` and `$Receiver`; `$extra` are the
/// kind's constructors.
macro_rules! queue_class {
    ($Queue:ident, $Sender:ident, $Receiver:ident, $module:tt, $K:ty, { $($extra:tt)* }) => {
        /// A handle to a named queue in ``/dev/shm``; endpoints are taken
        /// from it (``sender()``, ``receiver()``). Made by ``create``,
        /// ``open`` or ``open_or_create``; pickling it (e.g. to a
        /// ``multiprocessing`` child) opens the same queue by name.
        ///
        /// Closing the handle (``close()`` or the end of a ``with`` block)
        /// leaves endpoints taken from it usable. The creator's name is
        /// removed once its handle and all endpoints taken from it are closed,
        /// unless it was created with ``persist=True``.
        #[pyclass(name = "Queue", module = $module)]
        #[derive(Debug)]
        pub(crate) struct $Queue(pub(crate) crate::queue::QueueState<$K>);

        #[pymethods]
        impl $Queue {
            $($extra)*

            /// Opens the existing queue ``name``, validating its header.
            ///
            /// Raises ``NotFound``; ``InvalidName``; ``InvalidRegion`` (not
            /// a queue of this kind, or a corrupt header); ``NotReady`` (its
            /// creator did not finish initialising it within 1 s);
            /// ``PermissionDenied`` (not ours, or writable by others).
            #[staticmethod]
            fn open(py: Python<'_>, name: &str) -> PyResult<Self> {
                crate::queue::QueueState::open(py, name).map(Self)
            }

            /// Removes the queue ``name`` from ``/dev/shm``. Processes that
            /// have it open keep using it; the name can be created anew.
            ///
            /// Raises ``NotFound``; ``InvalidName``.
            #[staticmethod]
            fn remove(name: &str) -> PyResult<()> {
                crate::queue::QueueState::<$K>::remove(name)
            }

            /// Takes a sending endpoint.
            ///
            /// Raises ``RoleTaken`` (SPSC, bytes, dense: a live sender exists
            /// in any process); ``TableFull`` (MPMC); ``Poisoned``;
            /// ``ValueError`` if this handle is closed.
            fn sender(&mut self) -> PyResult<$Sender> {
                self.0.sender().map($Sender)
            }

            /// Takes a receiving endpoint. Raises as ``sender()``.
            fn receiver(&mut self) -> PyResult<$Receiver> {
                self.0.receiver().map($Receiver)
            }

            /// Number of slots (bytes kind: the ring's size in bytes;
            /// dense: records).
            #[getter]
            fn capacity(&mut self) -> PyResult<usize> {
                Ok(self.0.inner.get()?.capacity())
            }

            /// Largest message, in bytes (bytes kind: ``max_message``;
            /// dense: ``record_size``, the only length it accepts).
            #[getter]
            fn slot_size(&mut self) -> PyResult<usize> {
                Ok(self.0.inner.get()?.slot_size())
            }

            /// The queue's name.
            #[getter]
            fn name(&self) -> &str {
                &self.0.name
            }

            /// Whether ``close()`` was called.
            #[getter]
            fn closed(&mut self) -> bool {
                self.0.inner.is_closed()
            }

            /// Messages in the queue: a snapshot (other processes change it
            /// at any moment), between 0 and ``capacity`` (bytes kind: at
            /// most ``capacity // 8``).
            fn len(&mut self) -> PyResult<usize> {
                Ok(self.0.inner.get()?.len())
            }

            /// The queue's counters, a dict (informative: peers write them).
            fn stats<'py>(
                &mut self,
                py: Python<'py>,
            ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                <$K as crate::kind::Kind>::stats(py, &self.0.inner.get()?.stats())
            }

            /// Closes this handle (idempotent). Endpoints taken from it stay
            /// usable; the creator's name is removed once the handle and all
            /// its endpoints are closed (unless created with ``persist=True``).
            fn close(&mut self) {
                self.0.inner.close();
            }

            fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                slf
            }

            #[pyo3(signature = (*_args))]
            fn __exit__(&mut self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
                self.0.inner.close();
                false
            }

            /// Pickling (e.g. to a ``multiprocessing`` child started with
            /// "spawn") opens the queue by name in the receiving process.
            fn __reduce__<'py>(
                slf: &Bound<'py, Self>,
            ) -> PyResult<(Bound<'py, PyAny>, (String,))> {
                let open = slf.get_type().getattr("open")?;
                Ok((open, (slf.borrow().0.name.clone(),)))
            }

            fn __repr__(&mut self) -> String {
                self.0.repr(concat!($module, ".Queue"))
            }
        }
    };
}

pub(crate) use queue_class;
