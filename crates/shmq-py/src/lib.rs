//! The native part of the Python package `shmq` (module `shmq._shmq`).
//!
//! Python code imports `shmq.spsc`, `shmq.mpmc`, `shmq.bytes` and
//! `shmq.dense` (in `python/shmq/`),
//! which re-export the classes defined here; the exceptions are defined in
//! Python (`shmq.errors`) and raised from here (`errors.rs`). See
//! `docs/python.md` for the user's view.
//!
//! - `buffer`: zero-copy access to bytes-like objects (buffer protocol).
//! - `wait`: blocking calls in GIL-free slices, interruptible by signals.
//! - `fork`: objects inherited across `fork()` are neither used nor dropped.
//! - `kind`: what the binding needs of a queue kind (its stats as a dict).
//! - `endpoint`, `queue`: the class templates; `spsc`, `mpmc`, `bytes` and
//!   `dense` instantiate them.

mod buffer;
mod bytes;
mod dense;
mod endpoint;
mod errors;
mod fork;
mod kind;
mod mpmc;
mod queue;
mod spsc;
mod wait;

use pyo3::prelude::*;

/// Adds a kind's classes to its submodule.
type Register = fn(&Bound<'_, PyModule>) -> PyResult<()>;

/// The module `shmq._shmq`: classes `SpscQueue`… under their Python names
/// `Queue`, `Sender`, `Receiver` (exported by `shmq.spsc`, `shmq.mpmc`,
/// `shmq.bytes` and `shmq.dense`).
#[pymodule]
fn _shmq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let kinds: [(&str, Register); 4] = [
        ("spsc", spsc::register),
        ("mpmc", mpmc::register),
        ("bytes", bytes::register),
        ("dense", dense::register),
    ];
    for (name, register) in kinds {
        let sub = PyModule::new(py, name)?;
        register(&sub)?;
        m.add_submodule(&sub)?;
    }
    m.add_function(wrap_pyfunction!(fork::_after_fork_in_child, m)?)?;
    m.add("WAIT_SLICE", wait::SLICE.as_secs_f64())?;
    Ok(())
}
