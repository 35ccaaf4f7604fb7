//! Borrowing the bytes of any object that supports the buffer protocol
//! (PEP 3118: `bytes`, `bytearray`, `memoryview`, `array.array`, NumPy
//! arrays, `mmap`, …) without copying them.
//!
//! PyO3's `PyBuffer` is not available when building for the stable ABI of
//! Python 3.9 (`PyObject_GetBuffer` and `Py_buffer` entered the limited API
//! only in 3.11), so the two functions and the struct are declared here. They
//! are the same in every CPython since 3.3: the 3.11 change added them to the
//! stable-ABI list without changing their signature or layout, and every
//! CPython interpreter exports both symbols, which the dynamic loader binds
//! when it loads the extension. Only flat, C-contiguous buffers are requested
//! (`PyBUF_SIMPLE`, optionally `PyBUF_WRITABLE`); an exporter that cannot
//! provide one raises `BufferError`.
//!
//! The callback may release the GIL while it uses the bytes. That is what
//! CPython's own `os.write`, `socket.send` and `socket.recv_into` do with the
//! buffers they are given: the export keeps the memory alive and unresizable
//! (a `bytearray` with an export refuses to resize), and another thread that
//! writes into the same buffer meanwhile is a data race of the program, as
//! with those functions.

use pyo3::ffi;
use pyo3::prelude::*;
use std::mem::MaybeUninit;
use std::os::raw::{c_char, c_int, c_void};

/// CPython's `Py_buffer` (`Include/pybuffer.h`, unchanged since 3.3). Most
/// fields are written by the exporter and only read by CPython.
#[repr(C)]
#[allow(dead_code)]
struct RawBuffer {
    buf: *mut c_void,
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

/// A flat, C-contiguous buffer of unsigned bytes.
const PYBUF_SIMPLE: c_int = 0;
/// ... that the caller may write.
const PYBUF_WRITABLE: c_int = 0x0001;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut RawBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawBuffer);
}

/// An export of an object's buffer; released (with the GIL held) on drop.
/// It never moves after `PyObject_GetBuffer` filled it: exporters may keep
/// pointers into the struct (e.g. `shape = &view->len`).
struct Export<'a, 'py> {
    view: &'a mut MaybeUninit<RawBuffer>,
    _py: Python<'py>,
}

impl Drop for Export<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: `view` was filled by a successful `PyObject_GetBuffer` (an
        // `Export` is built only then), has not moved since, and is released
        // exactly once, here, with the GIL held (`_py` proves it for 'py).
        unsafe { PyBuffer_Release(self.view.as_mut_ptr()) }
    }
}

impl<'a, 'py> Export<'a, 'py> {
    /// Exports `obj`'s buffer into `view`, as `flags` ask.
    fn new(
        obj: &Bound<'py, PyAny>,
        view: &'a mut MaybeUninit<RawBuffer>,
        flags: c_int,
    ) -> PyResult<Self> {
        let py = obj.py();
        // SAFETY: `obj` is a live object (a `Bound` holds a reference) and we
        // hold the GIL; `view` points to writable memory for one `Py_buffer`
        // that stays in place until `Export::drop` releases it.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), flags) };
        if rc != 0 {
            return Err(PyErr::fetch(py));
        }
        let export = Export { view, _py: py };
        let len = export.raw().len;
        if len < 0 || (len > 0 && export.raw().buf.is_null()) {
            return Err(pyo3::exceptions::PyBufferError::new_err(
                "the object exported an invalid buffer",
            ));
        }
        Ok(export)
    }

    fn raw(&self) -> &RawBuffer {
        // SAFETY: an `Export` exists only after `PyObject_GetBuffer` filled
        // `view` successfully.
        unsafe { self.view.assume_init_ref() }
    }

    /// The exported bytes as a raw pointer and length (the pointer is
    /// dangling-but-aligned for an empty buffer).
    fn parts(&self) -> (*mut u8, usize) {
        let raw = self.raw();
        let len = raw.len as usize; // checked non-negative in `new`
        if len == 0 {
            (std::ptr::NonNull::dangling().as_ptr(), 0)
        } else {
            (raw.buf.cast(), len)
        }
    }
}

/// Calls `f` with the bytes of `obj` (any object exporting a flat buffer),
/// without copying them.
pub(crate) fn with_bytes<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    let mut view = MaybeUninit::uninit();
    let export = Export::new(obj, &mut view, PYBUF_SIMPLE)?;
    let (ptr, len) = export.parts();
    // SAFETY: the exporter guarantees `len` readable bytes at `ptr` (or it is
    // the dangling pointer of an empty slice) until the export is released,
    // which happens after `f` returns (`export` outlives the slice). Writes
    // to them by another thread meanwhile would be the program's data race
    // (module docs).
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    Ok(f(bytes))
}

/// Calls `f` with the writable bytes of `obj` (a `bytearray`, writable
/// `memoryview`, NumPy array, …), without copying them.
///
/// # Errors
/// `BufferError` (or `TypeError`) if `obj` exports no writable flat buffer.
pub(crate) fn with_bytes_mut<R>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&mut [u8]) -> R,
) -> PyResult<R> {
    let mut view = MaybeUninit::uninit();
    let export = Export::new(obj, &mut view, PYBUF_WRITABLE)?;
    if export.raw().readonly != 0 {
        return Err(pyo3::exceptions::PyBufferError::new_err(
            "the object exported a read-only buffer",
        ));
    }
    let (ptr, len) = export.parts();
    // SAFETY: as in `with_bytes`; the exporter granted write access
    // (`PyBUF_WRITABLE`, and `readonly` is 0), and no other reference to
    // these bytes is formed by this thread while `f` runs.
    let bytes = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
    Ok(f(bytes))
}
