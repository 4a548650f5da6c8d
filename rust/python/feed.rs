//! `UsageCore.feed` as a plain `METH_O` C function, called by CPython without PyO3's method
//! machinery: no argument parsing (`METH_FASTCALL | METH_KEYWORDS` and its keyword check), and
//! no pass over PyO3's pool of deferred reference drops, which locks a mutex on every call once
//! the pool exists (PyO3 makes it when the module's first class is made). A parser takes one
//! call per network read; this is most of what a read of one event costs.
//!
//! What PyO3's trampoline does and this keeps: a panic becomes a Python exception (never an
//! unwind into C), errors are set as Python exceptions, the object is borrowed mutably through
//! its `Exclusive` state ("Already borrowed" on concurrent use, as before). What it skips: the
//! pool pass (nothing here drops a `Py<T>`) and PyO3's per-thread attach count (read only by
//! `Py<T>` drops, of which there are none here).

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicIsize, Ordering};

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::Borrowed;

use super::parser::UsageCore;
use super::with_bytes;

/// The offset of a `bytes` object's first byte from the object's start, as this interpreter
/// lays the object out (`PyBytes_AS_STRING`, which the stable ABI has only as a call);
/// measured once, when the module is made; -1 until then.
static BYTES_DATA_AT: AtomicIsize = AtomicIsize::new(-1);

/// The bytes of `chunk` when it is exactly a `bytes` object, read in place without a call.
///
/// # Safety
/// `chunk` is a live object; the interpreter is attached.
unsafe fn exact_bytes<'a>(chunk: *mut ffi::PyObject) -> Option<&'a [u8]> {
    let at = BYTES_DATA_AT.load(Ordering::Relaxed);
    // SAFETY: `chunk` is live; an exact `bytes` object holds `ob_size` bytes at `at`, the
    // offset measured on one when the module was made (the same struct for every one).
    unsafe {
        if at < 0 || ffi::PyBytes_CheckExact(chunk) == 0 {
            return None;
        }
        let len = usize::try_from(ffi::Py_SIZE(chunk)).ok()?;
        Some(std::slice::from_raw_parts(
            chunk.cast::<u8>().offset(at).cast_const(),
            len,
        ))
    }
}

/// Feeds one read to the parser `slf`.
fn feed(py: Python<'_>, slf: &UsageCore, chunk: *mut ffi::PyObject) -> PyResult<()> {
    // SAFETY: `chunk` is the argument CPython passed, alive for the call.
    let fast = unsafe { exact_bytes(chunk) };
    slf.state.with(py, |stream| {
        let core = stream.core.as_mut().ok_or_else(|| {
            PyRuntimeError::new_err("feed() after finish(): use one parser per stream")
        })?;
        match fast {
            Some(bytes) => {
                core.feed(bytes);
                Ok(())
            }
            None => {
                // SAFETY: as above; borrowed for the call.
                let chunk = unsafe { Borrowed::from_ptr(py, chunk) };
                with_bytes(&chunk, |bytes| core.feed(bytes))
            }
        }
    })?
}

/// The C function behind `UsageCore.feed`: the usual read (an exact `bytes` into an open
/// stream that no other call is in) here, anything else out of line, so that this path keeps
/// few registers across the core's call.
///
/// # Safety
/// Called by CPython with the interpreter attached: `slf` an instance of `UsageCore` (the
/// method descriptor checks it), `chunk` the one argument.
unsafe extern "C" fn feed_method(
    slf: *mut ffi::PyObject,
    chunk: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a method with the interpreter attached.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: `chunk` is the argument CPython passed, alive for the call.
    if let Some(bytes) = unsafe { exact_bytes(chunk) } {
        let fed = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: as in `feed_general`.
            let slf = unsafe { Borrowed::from_ptr(py, slf).cast_unchecked::<UsageCore>() };
            let open = |stream: &mut super::parser::Stream| match stream.core.as_mut() {
                Some(core) => {
                    core.feed(bytes);
                    true
                }
                None => false,
            };
            slf.get().state.try_with(py, open) == Some(true)
        }));
        match fed {
            // SAFETY: a new reference to `None`, handed to the caller.
            Ok(true) => return unsafe { new_none() },
            Ok(false) => {} // busy or finished: the general path says which
            Err(payload) => return panicked(py, payload),
        }
    }
    // SAFETY: the caller's contract.
    unsafe { feed_general(py, slf, chunk) }
}

/// A new reference to `None`.
///
/// # Safety
/// The interpreter is attached.
#[inline(always)]
unsafe fn new_none() -> *mut ffi::PyObject {
    // SAFETY: the caller's contract; the reference is the caller's to hand over.
    unsafe {
        let none = ffi::Py_None();
        ffi::Py_IncRef(none);
        none
    }
}

/// A panic in `feed` as a Python exception (never an unwind into C): NULL, the error set.
#[cold]
#[inline(never)]
pub(super) fn panicked(
    py: Python<'_>,
    payload: Box<dyn std::any::Any + Send>,
) -> *mut ffi::PyObject {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic in UsageParser.feed".to_owned());
    PanicException::new_err(message).restore(py);
    std::ptr::null_mut()
}

/// `feed_method` for any other read: other buffer types, a parser in use or finished.
///
/// # Safety
/// As `feed_method`'s.
#[cold]
#[inline(never)]
unsafe fn feed_general(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    chunk: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let run = AssertUnwindSafe(|| {
        // SAFETY: `slf` is a live instance of `UsageCore` or a subclass (see above), borrowed
        // for the call; the class is frozen, so `get` reads it without a borrow flag.
        let slf = unsafe { Borrowed::from_ptr(py, slf).cast_unchecked::<UsageCore>() };
        feed(py, slf.get(), chunk)
    });
    match catch_unwind(run) {
        // SAFETY: a new reference to `None`, handed to the caller.
        Ok(Ok(())) => unsafe { new_none() },
        Ok(Err(err)) => {
            err.restore(py);
            std::ptr::null_mut()
        }
        Err(payload) => panicked(py, payload),
    }
}

const FEED_DOC: &CStr = c"feed($self, chunk, /)\n--\n\nFeeds one network read (bytes, bytearray or memoryview). Cheap: no Python object is built.";

/// Puts `feed` on the class `UsageCore` as a `METH_O` method, and measures where a `bytes`
/// object keeps its bytes.
pub(super) fn install(core_type: &Bound<'_, PyType>) -> PyResult<()> {
    let py = core_type.py();
    let probe = pyo3::types::PyBytes::new(py, b"x");
    // SAFETY: `probe` is a live `bytes` object.
    let data = unsafe { ffi::PyBytes_AsString(probe.as_ptr()) };
    if data.is_null() {
        return Err(PyErr::fetch(py));
    }
    let at = (data as isize).wrapping_sub(probe.as_ptr() as isize);
    // The offset lies inside the object's header, and reads the probe's byte back.
    let sane = (1..=64).contains(&at)
        // SAFETY: `at` was just measured on `probe`, whose one byte is there.
        && unsafe { *probe.as_ptr().cast::<u8>().offset(at) } == b'x';
    BYTES_DATA_AT.store(if sane { at } else { -1 }, Ordering::Relaxed);

    // The method table entry must outlive the class: made once per module, never freed.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"feed".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: feed_method,
        },
        ml_flags: ffi::METH_O,
        ml_doc: FEED_DOC.as_ptr().cast::<c_char>(),
    }));
    // SAFETY: a live type and a 'static method entry; a new reference or NULL with an error.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(core_type.as_type_ptr(), def))?
    };
    core_type.setattr("feed", descr)
}
