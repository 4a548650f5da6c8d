//! `UsageCore.finish` as a plain `METH_FASTCALL | METH_KEYWORDS` C function, as `feed` is one
//! (see `feed` for what PyO3's trampoline does that this keeps and skips): the call once per
//! stream, without PyO3's pass over its pool of deferred reference drops (a mutex locked and
//! freed) and its general argument parser, for the one keyword it takes. What `finish` does
//! is `parser::finish`; a Python reference it drops while in here (none on the usual path) is
//! dropped at PyO3's next call, as any dropped outside PyO3's calls.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple, PyType};
use pyo3::Borrowed;

use super::feed::panicked;
use super::parser::{finish, UsageCore};

/// The `interrupted` argument of a call that gives `nargs` positional arguments and the
/// keywords named in `kwnames` (NULL: none), their values after the positional ones in `args`;
/// a TypeError for anything `finish(*, interrupted=None)` does not take.
///
/// # Safety
/// As CPython calls a `METH_FASTCALL | METH_KEYWORDS` function: `args` holds `nargs` values
/// and then one per name in `kwnames`, a tuple of strings, all alive for the call.
unsafe fn interrupted_argument<'py>(
    py: Python<'py>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if nargs != 0 {
        let s = if nargs == 1 { "was" } else { "were" };
        return Err(PyTypeError::new_err(format!(
            "UsageCore.finish() takes 0 positional arguments but {nargs} {s} given"
        )));
    }
    if kwnames.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    let names = unsafe { Borrowed::from_ptr(py, kwnames).cast_unchecked::<PyTuple>() };
    let mut interrupted = None;
    for (at, name) in names.iter().enumerate() {
        // A call site's keyword is the interned name; another string with its text is it too.
        let known = intern!(py, "interrupted");
        let is_known = name.is(known) || name.cast::<PyString>().is_ok_and(|n| n == "interrupted");
        if !is_known {
            return Err(PyTypeError::new_err(format!(
                "UsageCore.finish() got an unexpected keyword argument '{name}'"
            )));
        }
        // SAFETY: the caller's contract: the value of the `at`-th keyword, alive for the call.
        interrupted = Some(unsafe { Bound::from_borrowed_ptr(py, *args.add(at)) });
    }
    Ok(interrupted)
}

/// The C function behind `UsageCore.finish`.
///
/// # Safety
/// Called by CPython with the interpreter attached: `slf` an instance of `UsageCore` (the
/// method descriptor checks it), the arguments as `interrupted_argument` takes them.
unsafe extern "C" fn finish_method(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a method with the interpreter attached.
    let py = unsafe { Python::assume_attached() };
    let run = AssertUnwindSafe(|| {
        // SAFETY: the caller's contract.
        let interrupted = unsafe { interrupted_argument(py, args, nargs, kwnames) }?;
        // SAFETY: `slf` is a live instance of `UsageCore` or a subclass, borrowed for the call.
        let slf = unsafe { Borrowed::from_ptr(py, slf).cast_unchecked::<UsageCore>() };
        finish(&slf, interrupted)
    });
    match catch_unwind(run) {
        Ok(Ok(record)) => record.into_ptr(),
        Ok(Err(err)) => {
            err.restore(py);
            std::ptr::null_mut()
        }
        Err(payload) => panicked(py, payload),
    }
}

const FINISH_DOC: &CStr = c"finish($self, /, *, interrupted=None)\n--\n\n`finish()`: the record, made in the core where it can be, else by `FinishMixin.finish` (the pure twin's), which also answers later calls.";

/// Puts `finish` on the class `UsageCore`.
pub(super) fn install(core_type: &Bound<'_, PyType>) -> PyResult<()> {
    let py = core_type.py();
    // The method table entry must outlive the class: made once per module, never freed.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"finish".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: finish_method,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: FINISH_DOC.as_ptr().cast::<c_char>(),
    }));
    // SAFETY: a live type and a 'static method entry; a new reference or NULL with an error.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(core_type.as_type_ptr(), def))?
    };
    core_type.setattr("finish", descr)
}
