//! Platform errors as the Python exceptions of `shmq.errors`.
//!
//! The exception classes are defined in Python (`python/shmq/errors.py`), so
//! that they can derive from built-ins such as `TimeoutError` and
//! `FileNotFoundError` as well as from `shmq.Error`; they are imported on
//! first use.

use pyo3::PyErr;
use shmq::{Error, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use std::io;

/// The exception classes of `shmq.errors`, as Rust types.
pub(crate) mod py {
    #![allow(missing_docs, missing_debug_implementations)]
    pyo3::import_exception!(shmq.errors, Error);
    pyo3::import_exception!(shmq.errors, Full);
    pyo3::import_exception!(shmq.errors, Empty);
    pyo3::import_exception!(shmq.errors, Timeout);
    pyo3::import_exception!(shmq.errors, Disconnected);
    pyo3::import_exception!(shmq.errors, TooLarge);
    pyo3::import_exception!(shmq.errors, WrongSize);
    pyo3::import_exception!(shmq.errors, RoleTaken);
    pyo3::import_exception!(shmq.errors, TableFull);
    pyo3::import_exception!(shmq.errors, Poisoned);
    pyo3::import_exception!(shmq.errors, InvalidRegion);
    pyo3::import_exception!(shmq.errors, NotReady);
    pyo3::import_exception!(shmq.errors, InvalidName);
    pyo3::import_exception!(shmq.errors, NotFound);
    pyo3::import_exception!(shmq.errors, AlreadyExists);
    pyo3::import_exception!(shmq.errors, PermissionDenied);
    pyo3::import_exception!(shmq.errors, IoError);
}

/// An error of creating or opening the queue `name`, or of taking an endpoint.
pub(crate) fn setup(e: Error, name: &str) -> PyErr {
    let msg = format!("{name}: {e}");
    match e {
        Error::Io(io) => io_error(&io, msg, name),
        Error::InvalidName { .. } => py::InvalidName::new_err(msg),
        Error::Layout(_) | Error::NotRegularFile => py::InvalidRegion::new_err(msg),
        Error::NotReady { .. } => py::NotReady::new_err(msg),
        Error::Permissions { .. } => py::PermissionDenied::new_err(msg),
        Error::RoleTaken(_) => py::RoleTaken::new_err(msg),
        Error::TableFull { .. } => py::TableFull::new_err(msg),
        Error::Violation(_) => py::Poisoned::new_err(msg),
        // `Error` is non-exhaustive: a future variant is still a shmq.Error.
        _ => py::Error::new_err(msg),
    }
}

/// An `OSError` subclass with `errno`, `strerror` and `filename` set when the
/// system gave an error number.
fn io_error(io: &io::Error, msg: String, name: &str) -> PyErr {
    let args = |strerror: String| match io.raw_os_error() {
        Some(errno) => (Some(errno), strerror, Some(name.to_owned())),
        None => (None, strerror, None),
    };
    match io.kind() {
        io::ErrorKind::NotFound => py::NotFound::new_err(args(msg)),
        io::ErrorKind::AlreadyExists => py::AlreadyExists::new_err(args(msg)),
        io::ErrorKind::PermissionDenied => py::PermissionDenied::new_err(args(msg)),
        _ => py::IoError::new_err(args(msg)),
    }
}

/// A failed `try_send`.
pub(crate) fn try_send(e: TrySendError) -> PyErr {
    let msg = e.to_string();
    match e {
        TrySendError::Full => py::Full::new_err(msg),
        TrySendError::TooLarge { .. } => py::TooLarge::new_err(msg),
        TrySendError::WrongSize { .. } => py::WrongSize::new_err(msg),
        TrySendError::Disconnected => py::Disconnected::new_err(msg),
        TrySendError::Poisoned(_) => py::Poisoned::new_err(msg),
        _ => py::Error::new_err(msg),
    }
}

/// A failed `send`.
pub(crate) fn send(e: SendTimeoutError) -> PyErr {
    let msg = e.to_string();
    match e {
        SendTimeoutError::Timeout => py::Timeout::new_err(msg),
        SendTimeoutError::TooLarge { .. } => py::TooLarge::new_err(msg),
        SendTimeoutError::WrongSize { .. } => py::WrongSize::new_err(msg),
        SendTimeoutError::Disconnected => py::Disconnected::new_err(msg),
        SendTimeoutError::Poisoned(_) => py::Poisoned::new_err(msg),
        _ => py::Error::new_err(msg),
    }
}

/// A failed `try_recv`.
pub(crate) fn try_recv(e: TryRecvError) -> PyErr {
    let msg = e.to_string();
    match e {
        TryRecvError::Empty => py::Empty::new_err(msg),
        TryRecvError::Disconnected => py::Disconnected::new_err(msg),
        TryRecvError::Size { .. } => py::TooLarge::new_err(msg),
        TryRecvError::Poisoned(_) => py::Poisoned::new_err(msg),
        _ => py::Error::new_err(msg),
    }
}

/// A failed `recv`.
pub(crate) fn recv(e: RecvTimeoutError) -> PyErr {
    let msg = e.to_string();
    match e {
        RecvTimeoutError::Timeout => py::Timeout::new_err(msg),
        RecvTimeoutError::Disconnected => py::Disconnected::new_err(msg),
        RecvTimeoutError::Size { .. } => py::TooLarge::new_err(msg),
        RecvTimeoutError::Poisoned(_) => py::Poisoned::new_err(msg),
        _ => py::Error::new_err(msg),
    }
}
