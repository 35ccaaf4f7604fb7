//! Objects inherited across `fork()`.
//!
//! After `fork()` the child holds copies of the parent's queue handles and
//! endpoints. An endpoint's copy shares the parent's role lock (see the
//! `fork()` sections of `shmq::spsc` and `shmq::mpmc`): if the child used it,
//! or merely dropped it (which closes the endpoint and unlocks the role), it
//! would act on the parent's behalf. So an endpoint remembers the process
//! generation it was made in, and in a forked child it refuses to be used.
//! A `Queue` handle may be used in the child (endpoints taken from it there
//! lock through descriptions of their own, as in any process), but a
//! creator's handle dropped in the child would remove the name the parent
//! still uses: neither kind of object is ever dropped in a forked child, only
//! forgotten when closed or collected.
//!
//! The generation is bumped by a hook that `shmq/__init__.py` registers with
//! `os.register_at_fork(after_in_child=...)`, which covers `os.fork()` and
//! `multiprocessing`'s fork start method; a drop also compares the process
//! id, for a fork made behind Python's back.

use crate::errors::py;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Forks this process is the child of (as seen by `os.register_at_fork`).
/// Relaxed: written in the child by the thread that forked, before any other
/// thread exists in it, and read by threads started after.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Called in the child after every `os.fork()` (registered by `shmq/__init__.py`).
#[pyfunction]
pub(crate) fn _after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// A value owned by one process: usable until closed, and never used or
/// dropped in a forked child.
#[derive(Debug)]
pub(crate) struct Owned<T> {
    /// `Mutex` only to make `Owned` `Sync` for PyO3 (an MPMC endpoint is
    /// not); it is never locked, only reached through `&mut` (`get_mut`).
    value: Mutex<Option<T>>,
    generation: u64,
    pid: u32,
    what: &'static str,
    /// Whether a forked child may use it (but still not drop it).
    usable_after_fork: bool,
}

impl<T> Owned<T> {
    /// Owns `value`, made in this process; `what` names it in errors. An
    /// endpoint is not `usable_after_fork`, a queue handle is.
    pub(crate) fn new(value: T, what: &'static str, usable_after_fork: bool) -> Self {
        Owned {
            value: Mutex::new(Some(value)),
            generation: GENERATION.load(Ordering::Relaxed),
            pid: std::process::id(),
            what,
            usable_after_fork,
        }
    }

    fn slot(&mut self) -> &mut Option<T> {
        // Never locked, so never poisoned; `into_inner` for completeness.
        self.value.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// The value, if open and in the process that made it.
    ///
    /// # Errors
    /// `ValueError` once closed; `shmq.Error` in a forked child (unless
    /// `usable_after_fork`).
    pub(crate) fn get(&mut self) -> PyResult<&mut T> {
        let what = self.what;
        if !self.usable_after_fork && self.generation != GENERATION.load(Ordering::Relaxed) {
            return Err(py::Error::new_err(format!(
                "this {what} was inherited across fork(); \
                 take a new endpoint in this process"
            )));
        }
        self.slot()
            .as_mut()
            .ok_or_else(|| PyValueError::new_err(format!("operation on a closed {what}")))
    }

    /// Whether it was closed.
    pub(crate) fn is_closed(&mut self) -> bool {
        self.slot().is_none()
    }

    /// Closes it: drops the value in the process that made it, forgets it
    /// (no side effect on the shared region) in a forked child. Idempotent.
    pub(crate) fn close(&mut self) {
        let inherited =
            self.generation != GENERATION.load(Ordering::Relaxed) || self.pid != std::process::id();
        if let Some(value) = self.slot().take() {
            if inherited {
                std::mem::forget(value);
            } else {
                drop(value);
            }
        }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        self.close();
    }
}
