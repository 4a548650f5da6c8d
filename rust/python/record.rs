//! The raw record as a tuple, and the `UsageRecord` made from it.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple, PyType};
use pyo3::IntoPyObjectExt;

use std::sync::atomic::{AtomicBool, Ordering};

use super::lazy::UsageSlot;
use super::names::{body_kind_name, framing_name, provider_name, repeated_name, status_name};
use super::values::{json_text_to_python, to_python};
use crate::record::{Iteration, RawRecord};

/// The raw record as a tuple in the order of `record.RAW_FIELDS` (a test checks it against the
/// pure twin's field by field), with `raw_usage` as given: one tuple per request costs a
/// fraction of a dict.
pub(super) fn record_tuple<'py>(
    py: Python<'py>,
    r: &RawRecord,
    raw_usage: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, raw_items(py, r, raw_usage)?)
}

/// The raw record's usage object as the plain Python value `json.loads` gives (None without
/// one).
pub(super) fn usage_dict<'py>(py: Python<'py>, r: &RawRecord) -> PyResult<Bound<'py, PyAny>> {
    let made = match (&r.raw_usage_text, &r.raw_usage) {
        (Some(text), _) => json_text_to_python(py, text)?,
        (None, tree) => tree.as_ref().map(|u| to_python(py, u)).transpose()?,
    };
    made.into_bound_py_any(py)
}

/// The raw record's first `RAW_SHARED` values, which are also the record's first: the token
/// counts and the names.
pub(super) fn shared_items<'py>(
    py: Python<'py>,
    r: &RawRecord,
) -> PyResult<[Bound<'py, PyAny>; RAW_SHARED]> {
    let t = &r.tokens;
    let provider = r.provider.map(|p| provider_name(py, p));
    let repeated = |value: &Option<String>| value.as_deref().map(|v| repeated_name(py, v));
    Ok([
        t.input.into_bound_py_any(py)?,
        t.cache_creation.into_bound_py_any(py)?,
        t.cache_creation_5m.into_bound_py_any(py)?,
        t.cache_creation_1h.into_bound_py_any(py)?,
        t.cache_read.into_bound_py_any(py)?,
        t.output.into_bound_py_any(py)?,
        t.reasoning.into_bound_py_any(py)?,
        t.web_search.into_bound_py_any(py)?,
        t.web_fetch.into_bound_py_any(py)?,
        repeated(&r.service_tier).into_bound_py_any(py)?,
        repeated(&r.speed).into_bound_py_any(py)?,
        provider.into_bound_py_any(py)?,
        repeated(&r.model).into_bound_py_any(py)?,
        r.message_id.as_deref().into_bound_py_any(py)?,
        repeated(&r.stop_reason).into_bound_py_any(py)?,
        status_name(py, r.status).into_any(),
        r.error_type.as_deref().into_bound_py_any(py)?,
        r.error_message.as_deref().into_bound_py_any(py)?,
    ])
}

/// The raw record's values after the shared ones that the record holds too (the `raw_usage`
/// and `notes` fields and the second round's), each given by the caller.
pub(super) struct Second<'py> {
    pub(super) notes: Bound<'py, PyAny>,
    pub(super) audio_input: Bound<'py, PyAny>,
    pub(super) audio_output: Bound<'py, PyAny>,
    pub(super) provider_cost: Bound<'py, PyAny>,
    pub(super) inference_geo: Bound<'py, PyAny>,
    pub(super) framing: Bound<'py, PyAny>,
}

/// The record's values after the shared ones, as the raw record holds them (the provider's
/// cost as its text).
pub(super) fn second_items<'py>(py: Python<'py>, r: &RawRecord) -> PyResult<Second<'py>> {
    let b = &r.billing;
    Ok(Second {
        notes: PyTuple::new(py, &r.notes)?.into_any(),
        audio_input: b.audio_input.into_bound_py_any(py)?,
        audio_output: b.audio_output.into_bound_py_any(py)?,
        provider_cost: b.provider_cost.as_deref().into_bound_py_any(py)?,
        inference_geo: b
            .inference_geo
            .as_deref()
            .map(|v| repeated_name(py, v))
            .into_bound_py_any(py)?,
        framing: r
            .framing
            .map(|f| framing_name(py, f))
            .into_bound_py_any(py)?,
    })
}

/// The raw record's values, in the order of `record.RAW_FIELDS`, with `raw_usage` as given.
pub(super) fn raw_items<'py>(
    py: Python<'py>,
    r: &RawRecord,
    raw_usage: Bound<'py, PyAny>,
) -> PyResult<RawItems<'py>> {
    let [t0, t1, t2, t3, t4, t5, t6, t7, t8, s9, s10, s11, s12, s13, s14, s15, s16, s17] =
        shared_items(py, r)?;
    let second = second_items(py, r)?;
    let iterations = iteration_tuples(py, r)?;
    Ok([
        t0,
        t1,
        t2,
        t3,
        t4,
        t5,
        t6,
        t7,
        t8,
        s9,
        s10,
        s11,
        s12,
        s13,
        s14,
        s15,
        s16,
        s17,
        raw_usage,
        second.notes,
        body_kind_name(py, r.body_kind).into_any(),
        r.output_final.into_bound_py_any(py)?,
        r.output_text.as_tuple().into_bound_py_any(py)?,
        r.saw_thinking.into_bound_py_any(py)?,
        r.saw_tool_use.into_bound_py_any(py)?,
        (r.encrypted_reasoning.chars, r.encrypted_reasoning.items).into_bound_py_any(py)?,
        r.events.into_bound_py_any(py)?,
        second.audio_input,
        second.audio_output,
        iterations,
        second.provider_cost,
        second.inference_geo,
        second.framing,
    ])
}

/// The raw record's iterations, each a tuple in the order of `record.ITERATION_FIELDS`.
fn iteration_tuples<'py>(py: Python<'py>, r: &RawRecord) -> PyResult<Bound<'py, PyAny>> {
    let items = r
        .billing
        .iterations
        .iter()
        .map(|it| iteration_tuple(py, it))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyTuple::new(py, items)?.into_any())
}

/// The values of a raw record (`record.RAW_FIELDS`).
pub(super) type RawItems<'py> = [Bound<'py, PyAny>; RAW_FIELDS];

/// How many values a raw record has, how many of them start the record too, and where the
/// output count is among them.
pub(super) const RAW_FIELDS: usize = 33;
pub(super) const RAW_SHARED: usize = 18;
pub(super) const RAW_OUTPUT: usize = 5;

/// `UsageRecord`'s fields (`record.FIELD_NAMES`), as the core's own record builder
/// (`finish::simple_record`) writes them: a builder made with other names does not build there.
pub(super) const RECORD_FIELDS: [&str; 32] = [
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
    "web_fetch_requests",
    "service_tier",
    "speed",
    "provider",
    "model",
    "message_id",
    "stop_reason",
    "status",
    "error_type",
    "error_message",
    "no_usage_data",
    "requires_manual_review",
    "estimated",
    "estimate_ranges",
    "estimate_reasons",
    "interrupted",
    "raw_usage",
    "notes",
    "audio_input_tokens",
    "audio_output_tokens",
    "iterations",
    "provider_cost",
    "inference_geo",
    "framing",
];

/// One iteration as a tuple in the order of `record.ITERATION_FIELDS`.
fn iteration_tuple<'py>(py: Python<'py>, it: &Iteration) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, iteration_items(py, it)?)
}

/// One iteration's values, in the order of `record.ITERATION_FIELDS`.
pub(super) fn iteration_items<'py>(
    py: Python<'py>,
    it: &Iteration,
) -> PyResult<[Bound<'py, PyAny>; 13]> {
    let t = &it.tokens;
    Ok([
        it.kind.as_deref().into_bound_py_any(py)?,
        it.model.as_deref().into_bound_py_any(py)?,
        t.input.into_bound_py_any(py)?,
        t.cache_creation.into_bound_py_any(py)?,
        t.cache_creation_5m.into_bound_py_any(py)?,
        t.cache_creation_1h.into_bound_py_any(py)?,
        t.cache_read.into_bound_py_any(py)?,
        t.output.into_bound_py_any(py)?,
        t.reasoning.into_bound_py_any(py)?,
        t.web_search.into_bound_py_any(py)?,
        t.web_fetch.into_bound_py_any(py)?,
        it.audio_input.into_bound_py_any(py)?,
        it.audio_output.into_bound_py_any(py)?,
    ])
}
/// Builds instances of a class with `__slots__` (the frozen `UsageRecord`) from values in a
/// fixed field order: the object that `object.__new__(cls)` and then `object.__setattr__` per
/// field make (how a frozen dataclass's `__init__` fills its slots), for the cost of writing
/// the slots. A parser builds one record per request.
///
/// The slots' offsets come from the class's member table (`tp_members`, in the stable ABI),
/// and are checked once by reading an instance back through Python's attribute lookup.
#[pyclass(frozen, module = "sseusage_fast._native")]
pub struct RecordBuilder {
    cls: Py<PyType>,
    alloc: pyo3::ffi::allocfunc,
    /// Of each field, in order: where its slot is in the object.
    offsets: Vec<usize>,
    /// Its fields are [`RECORD_FIELDS`], in that order.
    pub(super) fields_known: bool,
    /// The class's `raw_usage` is a [`UsageSlot`] of this builder's (`keep_usage_text`): the
    /// core's own record may hold the usage object's text there.
    pub(super) usage_text: AtomicBool,
}

/// Where `raw_usage` is in [`RECORD_FIELDS`].
const RECORD_RAW_USAGE: usize = 24;
const _: () = {
    let (name, want) = (RECORD_FIELDS[RECORD_RAW_USAGE].as_bytes(), b"raw_usage");
    assert!(name.len() == want.len());
    let mut i = 0;
    while i < want.len() {
        assert!(name[i] == want[i]);
        i += 1;
    }
};

#[pymethods]
impl RecordBuilder {
    #[new]
    #[pyo3(signature = (cls, names, /))]
    pub(super) fn new(cls: &Bound<'_, PyType>, names: &Bound<'_, PyTuple>) -> PyResult<Self> {
        use pyo3::ffi;
        let py = cls.py();
        let tp = cls.as_type_ptr();
        let fail = |why: &str| Err(PyTypeError::new_err(format!("RecordBuilder: {why}")));
        // SAFETY: `tp` is a live type object; these slots are readable from any type on 3.10+
        // (the abi3 floor), and the member table ends with a nameless entry.
        let (new, object_new, flags, alloc, members) = unsafe {
            (
                ffi::PyType_GetSlot(tp, ffi::Py_tp_new),
                ffi::PyType_GetSlot(&raw mut ffi::PyBaseObject_Type, ffi::Py_tp_new),
                ffi::PyType_GetFlags(tp),
                ffi::PyType_GetSlot(tp, ffi::Py_tp_alloc),
                ffi::PyType_GetSlot(tp, ffi::Py_tp_members).cast::<ffi::PyMemberDef>(),
            )
        };
        // `object.__new__(cls)` is `cls->tp_alloc(cls, 0)` when no arguments are given and the
        // class is not abstract; a class with its own `__new__` would have it run.
        if new != object_new || flags & ffi::Py_TPFLAGS_IS_ABSTRACT != 0 || alloc.is_null() {
            return fail("the class must be made by object.__new__");
        }
        // SAFETY: `alloc` is the type's tp_alloc slot, an allocfunc.
        let alloc: ffi::allocfunc = unsafe { std::mem::transmute(alloc) };
        let basic_size: usize = cls.getattr(pyo3::intern!(py, "__basicsize__"))?.extract()?;
        let word = std::mem::size_of::<*mut ffi::PyObject>();
        let mut offsets = Vec::with_capacity(names.len());
        for name in names.iter() {
            let name = name.cast::<PyString>()?.to_str()?;
            let mut found = None;
            let mut member = members;
            // SAFETY: walks the member table up to its nameless end; names are C strings.
            unsafe {
                while !member.is_null() && !(*member).name.is_null() {
                    let m = &*member;
                    if std::ffi::CStr::from_ptr(m.name).to_bytes() == name.as_bytes() {
                        found = Some(m);
                        break;
                    }
                    member = member.add(1);
                }
            }
            let Some(m) = found else {
                return fail(&format!("no slot {name:?}"));
            };
            let offset = usize::try_from(m.offset).unwrap_or(0);
            if m.type_code != ffi::Py_T_OBJECT_EX
                || m.flags & (ffi::Py_READONLY | ffi::Py_RELATIVE_OFFSET) != 0
                || offset < word
                || offset % word != 0
                || offset + word > basic_size
                || offsets.contains(&offset)
            {
                return fail(&format!("slot {name:?} is not a plain object slot"));
            }
            offsets.push(offset);
        }
        let fields_known = names.len() == RECORD_FIELDS.len()
            && names
                .iter()
                .zip(RECORD_FIELDS)
                .all(|(name, known)| name.cast::<PyString>().is_ok_and(|n| n == known));
        let builder = RecordBuilder {
            cls: cls.clone().unbind(),
            alloc,
            offsets,
            fields_known,
            usage_text: AtomicBool::new(false),
        };
        // Read back through Python: each name must find the value written at its offset (no
        // property or other descriptor in front of a slot).
        let probes: Vec<_> = (0..names.len()).map(|_| PyList::empty(py)).collect();
        let object = builder.build(PyTuple::new(py, &probes)?.as_any(), &PyTuple::empty(py))?;
        for (name, probe) in names.iter().zip(&probes) {
            if !object.getattr(name.cast::<PyString>()?)?.is(probe) {
                return fail(&format!("slot {name} does not read back"));
            }
        }
        Ok(builder)
    }

    /// A new instance with the fields in `names` order: the first ones from `head` (a tuple
    /// or list, which may hold more), the last ones from `tail`. A parser passes its core's raw
    /// record as the head (its first fields are the record's), so it copies nothing.
    #[pyo3(signature = (head, tail, /))]
    fn build<'py>(
        &self,
        head: &Bound<'py, PyAny>,
        tail: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = head.py();
        let fields = self.offsets.len();
        let (tuple, list) = (head.cast::<PyTuple>().ok(), head.cast::<PyList>().ok());
        let head_len = match (&tuple, &list) {
            (Some(tuple), _) => tuple.len(),
            (_, Some(list)) => list.len(),
            _ => return Err(PyTypeError::new_err("head must be a tuple or a list")),
        };
        let from_head = fields.checked_sub(tail.len()).filter(|&n| n <= head_len);
        let Some(from_head) = from_head else {
            return Err(PyValueError::new_err(format!(
                "{fields} fields but {head_len} values in head and {} in tail",
                tail.len()
            )));
        };
        let values = (0..fields).map(|i| match (&tuple, &list) {
            _ if i >= from_head => tail.get_item(i - from_head),
            (Some(tuple), _) => tuple.get_item(i),
            (_, Some(list)) => list.get_item(i),
            _ => unreachable!("head is a tuple or a list"),
        });
        self.make(py, values)
    }

    /// Makes the class's `raw_usage` a [`UsageSlot`] over its slot, so that the records made
    /// in the core keep the usage object's text until the field is first read (see `lazy`).
    /// The class's descriptor must be the slot's own, or one this method put there.
    fn keep_usage_text(&self, py: Python<'_>) -> PyResult<()> {
        let name = intern!(py, "raw_usage");
        if !self.fields_known {
            return Err(PyTypeError::new_err(
                "RecordBuilder: not UsageRecord's fields",
            ));
        }
        let cls = self.cls.bind(py);
        let offset = self.offsets[RECORD_RAW_USAGE];
        let current = cls.getattr(intern!(py, "__dict__"))?.get_item(name)?;
        let ours = current
            .cast::<UsageSlot>()
            .is_ok_and(|slot| slot.get().offset() == offset);
        let member = current.get_type().name()? == "member_descriptor";
        if !ours && !member {
            return Err(PyTypeError::new_err(
                "RecordBuilder: raw_usage is not a plain slot",
            ));
        }
        if !ours {
            let slot = UsageSlot::new(
                cls.clone().unbind(),
                offset,
                name.clone().into_any().unbind(),
            );
            cls.setattr(name, Bound::new(py, slot)?)?;
        }
        self.usage_text.store(true, Ordering::Relaxed);
        Ok(())
    }
}

impl RecordBuilder {
    /// A new instance of the builder's class, its slots NULL.
    fn alloc<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: tp_alloc gives a zeroed instance (its slots NULL) or NULL with an error set.
        unsafe {
            Bound::from_owned_ptr_or_err(py, (self.alloc)(self.cls.bind(py).as_type_ptr(), 0))
        }
    }

    /// A new instance with the values of `head` and then of `tail` in the builder's field
    /// order, which must be as many as it has fields: the core's own record, each value
    /// written straight into its slot.
    pub(super) fn make_parts<'py, const H: usize, const T: usize>(
        &self,
        py: Python<'py>,
        head: [Bound<'py, PyAny>; H],
        tail: [Bound<'py, PyAny>; T],
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.offsets.len() != H + T {
            return Err(PyValueError::new_err(
                "not as many values as the record has fields",
            ));
        }
        let object = self.alloc(py)?;
        let (first, last) = self.offsets.split_at(H);
        let at = object.as_ptr().cast::<u8>();
        let put = |value: Bound<'py, PyAny>, offset: usize| {
            // SAFETY: as in `make`: a distinct object slot of the new instance, still NULL,
            // takes the reference `into_ptr` hands over.
            unsafe { *at.add(offset).cast::<*mut pyo3::ffi::PyObject>() = value.into_ptr() };
        };
        for (value, &offset) in head.into_iter().zip(first) {
            put(value, offset);
        }
        for (value, &offset) in tail.into_iter().zip(last) {
            put(value, offset);
        }
        Ok(object)
    }

    /// A new instance with `values` in the builder's field order (as many as it has fields).
    pub(super) fn make<'py>(
        &self,
        py: Python<'py>,
        values: impl IntoIterator<Item = PyResult<Bound<'py, PyAny>>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let object = self.alloc(py)?;
        let mut values = values.into_iter();
        for &offset in &self.offsets {
            let value = values
                .next()
                .ok_or_else(|| PyValueError::new_err("too few values for the record"))??;
            // SAFETY: `offset` is a distinct object slot inside the instance (checked when the
            // builder was made), still NULL; the slot takes the reference `into_ptr` hands over.
            // (On an error above, the instance is freed with the slots set so far.)
            unsafe {
                let slot = object.as_ptr().cast::<u8>().add(offset);
                *slot.cast::<*mut pyo3::ffi::PyObject>() = value.into_ptr();
            }
        }
        Ok(object)
    }
}
