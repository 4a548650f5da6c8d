//! The record made in the core, for a parser without a request body: `finish()` (`_finish.py`)
//! without its Python steps. When the parser has no request body and its estimator is a plain
//! `Estimator` (checked in Python), the record's values follow from the raw record by the rules
//! below, each the line of `FinishMixin.finish` named beside it; the output count, where it is
//! not final, is estimated as `bounds.estimate_output` does (`learn::estimate`, from the
//! estimator's native `WindowStore`). What `Estimator._observe` learns from the record is
//! learned here too, into that store. The parity suites (native == pure, whose `finish` always
//! takes the general path) check that the two agree.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyString, PyTuple, PyType};
use pyo3::IntoPyObjectExt;

use std::sync::atomic::Ordering;

use super::lazy::UsageText;
use super::record::{
    iteration_items, second_items, shared_items, usage_dict, RecordBuilder, RAW_OUTPUT,
};
use super::windows::WindowStore;
use crate::learn::{NO_REQUEST, REASONS};
use crate::record::{BodyKind, Iteration, RawRecord, Status};

/// What `finish` decides of a raw record made without a request: the output estimate to make
/// (where the count is not final), and the flags and reasons it appends.
struct Tail {
    /// `estimate_output` runs, with `truncated` as `finish` gives it.
    estimate: Option<bool>,
    no_usage: bool,
    review: bool,
    /// `reasons += ("no_request",)`: input unknown and no request to estimate it from.
    no_request: bool,
}

fn tail(r: &RawRecord, estimate: bool, interrupted: bool) -> Tail {
    let t = &r.tokens;
    // `reported`: any token count proper.
    let reported = t.any();
    // `error_body`: a JSON error response bills nothing.
    let error_body = r.status == Status::Error && r.body_kind == BodyKind::Json && !reported;
    let (mut output, mut no_request) = (None, false);
    if estimate && !error_body {
        // `estimate_output` runs where the output count is not final; the stream was cut
        // before its end when interrupted, or when it is not complete and gave no stop reason.
        if !r.output_final && r.status != Status::NotSse {
            output = Some(interrupted || (r.status != Status::Complete && r.stop_reason.is_none()));
        }
        no_request = t.input.is_none();
    }
    // `review`: a figure of the bill unknown or estimated.
    let review = !error_body
        && (output.is_some()
            || r.status != Status::Complete
            || t.input.is_none()
            || t.output.is_none());
    Tail {
        estimate: output,
        no_usage: !reported,
        review,
        no_request,
    }
}

/// `tuple(Iteration(*item) for item in iterations)`, as `finish` makes them: each made by a
/// `RecordBuilder` (the frozen dataclass's `__init__` sets its 13 fields one
/// `object.__setattr__` at a time, six times the cost).
fn iterations<'py>(py: Python<'py>, items: &[Iteration]) -> PyResult<Bound<'py, PyAny>> {
    static BUILDER: PyOnceLock<Py<RecordBuilder>> = PyOnceLock::new();
    if items.is_empty() {
        return Ok(PyTuple::empty(py).into_any());
    }
    let builder = BUILDER
        .get_or_try_init(py, || {
            let module = py.import("sseusage_fast.record")?;
            let class = module.getattr("Iteration")?.cast_into::<PyType>()?;
            let names = module.getattr("ITERATION_FIELDS")?.cast_into::<PyTuple>()?;
            Py::new(py, RecordBuilder::new(&class, &names)?)
        })?
        .get();
    let made = items
        .iter()
        .map(|it| builder.make(py, iteration_items(py, it)?.into_iter().map(Ok)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyTuple::new(py, made)?.into_any())
}

/// `None if cost is None else Decimal(cost)`, as `finish` makes it.
fn provider_cost<'py>(py: Python<'py>, raw: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    if raw.is_none() {
        return Ok(raw);
    }
    DECIMAL.import(py, "decimal", "Decimal")?.call1((raw,))
}

/// `learn::REASONS[at]` as a Python string made once per process.
fn reason_name<'py>(py: Python<'py>, at: usize) -> Bound<'py, PyString> {
    let name = match at {
        0 => intern!(py, "hidden_reasoning"),
        1 => intern!(py, "summarized_thinking"),
        2 => intern!(py, "tool_calls"),
        3 => intern!(py, "server_tools"),
        4 => intern!(py, "no_request"),
        _ => intern!(py, "truncated"),
    };
    debug_assert_eq!(name.to_str().ok(), Some(REASONS[at]));
    name.clone()
}

/// A finished stream's raw record, kept for `_finish_raw` once the core is gone; and its usage
/// object, where the record made in the core holds it (moved there: `lazy`).
pub(super) struct Finished {
    pub(super) record: RawRecord,
    pub(super) usage: Option<Py<UsageText>>,
}

impl Finished {
    pub(super) fn new(record: RawRecord) -> Self {
        Finished {
            record,
            usage: None,
        }
    }

    /// The raw record's usage object as `record::usage_dict` makes it.
    pub(super) fn usage_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.usage {
            Some(usage) => usage.get().to_python(py),
            None => usage_dict(py, &self.record),
        }
    }
}

/// The record of `kept` built by `builder`, with its output estimated where `finish` would
/// (as an Estimator with `store` and `min_samples` estimates it), and what `_observe` would
/// learn from it taught to `store` (a complete record with nothing estimated); `None` where
/// the builder is not `UsageRecord`'s. The usage object moves from the raw record into the
/// record, where the class keeps it as it is until first read.
pub(super) fn simple_record<'py>(
    py: Python<'py>,
    builder: &RecordBuilder,
    store: &WindowStore,
    min_samples: impl FnOnce() -> PyResult<usize>,
    kept: &mut Finished,
    estimate: bool,
    interrupted: Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if !builder.fields_known {
        return Ok(None);
    }
    let r = &mut kept.record;
    let tail_of = tail(r, estimate, !interrupted.is_none());
    let guess = match tail_of.estimate {
        Some(truncated) => Some(store.estimate_output(py, r, min_samples()?, truncated)?),
        None => None,
    };
    let usage = if builder.usage_text.load(Ordering::Relaxed) {
        match UsageText::take(r) {
            Some(usage) => {
                let usage = Bound::new(py, usage)?;
                kept.usage = Some(usage.clone().unbind());
                usage.into_any()
            }
            None => py.None().into_bound(py),
        }
    } else {
        usage_dict(py, r)?
    };
    let r = &kept.record;
    let mut shared = shared_items(py, r)?;
    let second = second_items(py, r)?;
    let flag = |v: bool| PyBool::new(py, v).to_owned().into_any();
    let (estimated, ranges, mut reasons) = match guess {
        None => (PyTuple::empty(py), PyDict::new(py), 0),
        Some(guess) => {
            shared[RAW_OUTPUT] = guess.value.into_bound_py_any(py)?;
            let name = intern!(py, "output_tokens");
            let ranges = PyDict::new(py);
            ranges.set_item(name, (guess.low, guess.high))?;
            (PyTuple::new(py, [name])?, ranges, guess.reasons)
        }
    };
    if tail_of.no_request {
        reasons |= NO_REQUEST;
    }
    // The reasons, each once, in `ESTIMATE_REASONS` order (most records have none).
    let reasons = if reasons == 0 {
        PyTuple::empty(py)
    } else {
        let names = (0..REASONS.len())
            .filter(|&at| reasons & (1 << at) != 0)
            .map(|at| reason_name(py, at));
        PyTuple::new(py, names.collect::<Vec<_>>())?
    };
    let tail: [Bound<'py, PyAny>; 14] = [
        flag(tail_of.no_usage),
        flag(tail_of.review),
        estimated.into_any(),
        ranges.into_any(),
        reasons.into_any(),
        interrupted,
        usage,
        second.notes,
        second.audio_input,
        second.audio_output,
        iterations(py, &r.billing.iterations)?,
        provider_cost(py, second.provider_cost)?,
        second.inference_geo,
        second.framing,
    ];
    let record = builder.make_parts(py, shared, tail)?;
    // `_observe` learns only from complete records, and without a request nothing from an
    // estimated one.
    if r.status == Status::Complete && guess.is_none() {
        store.learn_simple(py, r)?;
    }
    Ok(Some(record))
}
