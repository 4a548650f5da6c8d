//! `raw_usage` made when it is first read: a record built in the core (`finish::simple_record`)
//! keeps the usage object as the core left it, JSON text or a tree, in the slot ([`UsageText`]),
//! and the class's `raw_usage` descriptor ([`UsageSlot`], installed in place of the slot's own)
//! turns it into the dict the first time the field is read, and keeps the dict. Every read of
//! the field (attribute, `==`, `asdict`, `replace`, pickling: all go through the descriptor)
//! sees the dict; making it was half of what `finish()` cost the core on the usual stream, and
//! most records are never asked for it.

use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

use super::values::{json_text_to_python, to_python};
use crate::record::RawRecord;

/// A usage object waiting in a record's `raw_usage` slot, moved out of the raw record.
#[pyclass(frozen, module = "sseusage_fast._native")]
pub struct UsageText {
    usage: Kept,
}

enum Kept {
    /// The JSON text the skim reader checked.
    Text(String),
    /// The tree a reader made of it.
    Tree(serde_json::Value),
}

impl UsageText {
    /// The usage object of `r` moved out of it (None without one).
    pub(super) fn take(r: &mut RawRecord) -> Option<Self> {
        let usage = match (r.raw_usage_text.take(), r.raw_usage.take()) {
            (Some(text), _) => Kept::Text(text),
            (None, Some(tree)) => Kept::Tree(tree),
            (None, None) => return None,
        };
        Some(UsageText { usage })
    }

    /// The plain Python value `json.loads` gives of it (`record::usage_dict` of the raw
    /// record it came from).
    pub(super) fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.usage {
            Kept::Text(text) => {
                let made = json_text_to_python(py, text)?;
                Ok(made.unwrap_or_else(|| py.None().into_bound(py)))
            }
            Kept::Tree(tree) => to_python(py, tree),
        }
    }
}

/// The `raw_usage` descriptor of a class whose instances a `RecordBuilder` makes: a plain
/// object slot (read, written and deleted as the slot's own descriptor does) whose value, while
/// it is a [`UsageText`], is read as the dict of its usage object.
#[pyclass(frozen, module = "sseusage_fast._native")]
pub struct UsageSlot {
    cls: Py<PyType>,
    /// Where the slot is in an instance (checked by the builder that gave it).
    offset: usize,
    name: Py<PyAny>,
}

impl UsageSlot {
    pub(super) fn new(cls: Py<PyType>, offset: usize, name: Py<PyAny>) -> Self {
        UsageSlot { cls, offset, name }
    }

    pub(super) fn offset(&self) -> usize {
        self.offset
    }

    /// The slot of `obj`, once `obj` is checked to be an instance of the class.
    fn slot(&self, obj: &Bound<'_, PyAny>) -> PyResult<*mut *mut ffi::PyObject> {
        if !obj.is_instance(self.cls.bind(obj.py()))? {
            return Err(PyTypeError::new_err(format!(
                "descriptor {} for {} objects doesn't apply to a {} object",
                self.name.bind(obj.py()),
                self.cls.bind(obj.py()).name()?,
                obj.get_type().name()?,
            )));
        }
        // SAFETY: an instance of the class holds an object slot at `offset` (the builder
        // checked the class's member table).
        Ok(unsafe { obj.as_ptr().cast::<u8>().add(self.offset).cast() })
    }

    fn unset(&self, py: Python<'_>) -> PyErr {
        PyAttributeError::new_err(self.name.clone_ref(py))
    }
}

#[pymethods]
impl UsageSlot {
    fn __get__<'py>(
        slf: &Bound<'py, Self>,
        obj: &Bound<'py, PyAny>,
        _owner: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if obj.is_none() {
            return Ok(slf.clone().into_any()); // read from the class
        }
        let this = slf.get();
        let slot = this.slot(obj)?;
        // SAFETY: the slot holds NULL or a reference the instance owns; under the GIL (the
        // abi3 extension loads only where there is one) no other thread writes it meanwhile.
        let value = unsafe { Bound::from_borrowed_ptr_or_opt(py, *slot) };
        let Some(value) = value else {
            return Err(this.unset(py));
        };
        if !value.is_exact_instance_of::<UsageText>() {
            return Ok(value);
        }
        let made = value.cast_exact::<UsageText>()?.get().to_python(py)?;
        // Making the dict may have run Python code (a collection) and so another thread, which
        // may have read or written the field: the slot keeps what is there by now unless it
        // is still this text.
        // SAFETY: as above; `value` holds its own reference, so the text is alive and the
        // pointer compared is still its own.
        unsafe {
            if *slot != value.as_ptr() {
                return Bound::from_borrowed_ptr_or_opt(py, *slot).ok_or_else(|| this.unset(py));
            }
            *slot = made.clone().into_ptr();
            ffi::Py_DECREF(value.as_ptr()); // the slot's reference to the text
        }
        Ok(made)
    }

    fn __set__(&self, obj: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let slot = self.slot(obj)?;
        // SAFETY: the slot's old reference (or NULL) is released after the new one is in.
        unsafe {
            let old = std::mem::replace(&mut *slot, value.clone().into_ptr());
            ffi::Py_XDECREF(old);
        }
        Ok(())
    }

    fn __delete__(&self, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let slot = self.slot(obj)?;
        // SAFETY: as in `__set__`; an unset slot stays unset and says so, as a slot does.
        unsafe {
            let old = std::mem::replace(&mut *slot, std::ptr::null_mut());
            if old.is_null() {
                return Err(self.unset(obj.py()));
            }
            ffi::Py_DECREF(old);
        }
        Ok(())
    }
}
