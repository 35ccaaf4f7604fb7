//! The native part of the Python package `shmq` (module `shmq._shmq`).
//!
//! Python code imports `shmq.spsc` and `shmq.mpmc` (in `python/shmq/`),
//! which re-export the classes defined here; the exceptions are defined in
//! Python (`shmq.errors`) and raised from here (`errors.rs`). See
//! `docs/python.md` for the user's view.
//!
//! - `buffer`: zero-copy access to bytes-like objects (buffer protocol).
//! - `wait`: blocking calls in GIL-free slices, interruptible by signals.
//! - `fork`: objects inherited across `fork()` are neither used nor dropped.
//! - `kind`: what a queue kind provides (SPSC, MPMC).
//! - `endpoint`, `queue`: the class templates; `spsc`, `mpmc` instantiate them.

mod buffer;
mod endpoint;
mod errors;
mod fork;
mod kind;
mod mpmc;
mod queue;
mod spsc;
mod wait;

use pyo3::prelude::*;

/// The module `shmq._shmq`: classes `SpscQueue`… under their Python names
/// `Queue`, `Sender`, `Receiver` (exported by `shmq.spsc`/`shmq.mpmc`).
#[pymodule]
fn _shmq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let spsc = PyModule::new(py, "spsc")?;
    spsc::register(&spsc)?;
    m.add_submodule(&spsc)?;
    let mpmc = PyModule::new(py, "mpmc")?;
    mpmc::register(&mpmc)?;
    m.add_submodule(&mpmc)?;
    m.add_function(wrap_pyfunction!(fork::_after_fork_in_child, m)?)?;
    m.add("WAIT_SLICE", wait::SLICE.as_secs_f64())?;
    Ok(())
}
