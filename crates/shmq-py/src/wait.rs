//! Blocking calls that release the GIL and stay interruptible.
//!
//! A blocking `send`/`recv` waits in slices of at most [`SLICE`] with the GIL
//! released; between slices it takes the GIL back and runs Python's signal
//! handlers (`PyErr_CheckSignals`), so Ctrl-C (`KeyboardInterrupt`) or any
//! exception a handler raises ends the wait within about one slice. The
//! platform's own wait (spin, yield, then futex) runs inside each slice.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// Longest stretch spent waiting without the GIL before signals are checked.
pub(crate) const SLICE: Duration = Duration::from_millis(20);

/// A Python timeout argument: `None` (or infinity, or anything too large for
/// a deadline) waits without bound; otherwise a number of seconds `>= 0`.
///
/// # Errors
/// `ValueError` for a negative or NaN timeout.
pub(crate) fn timeout(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_nan() || s < 0.0 => Err(PyValueError::new_err(format!(
            "timeout must be None or a number of seconds >= 0, not {s}"
        ))),
        Some(s) => Ok(Duration::try_from_secs_f64(s).ok()),
    }
}

/// Runs `attempt(slice)` until it returns anything but a timeout (`Ok`, or an
/// `Err` for which `timed_out` is false), or until `timeout` expires (then
/// the last timeout error is returned). Each attempt runs without the GIL
/// and is given at most [`SLICE`]; between attempts, Python signal handlers
/// run and an exception they raise ends the wait.
///
/// # Errors
/// The exception raised by a signal handler (e.g. `KeyboardInterrupt`).
pub(crate) fn in_slices<T, E>(
    py: Python<'_>,
    timeout: Option<Duration>,
    mut attempt: impl FnMut(Duration) -> Result<T, E> + Send,
    timed_out: impl Fn(&E) -> bool,
) -> PyResult<Result<T, E>>
where
    T: Send,
    E: Send,
{
    // No deadline when `timeout` is None or does not fit an `Instant`.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let slice = match deadline {
            None => SLICE,
            Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
        };
        let result = py.detach(|| attempt(slice));
        match result {
            Err(e) if timed_out(&e) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(Err(e));
                }
                py.check_signals()?;
            }
            done => return Ok(done),
        }
    }
}
