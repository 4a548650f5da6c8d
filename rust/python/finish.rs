//! The record made in the core, for the usual stream: `finish()` (`_finish.py`) without its
//! Python steps where they decide nothing. When the parser has no request body, its estimator
//! is a plain `Estimator` (checked in Python) and nothing is to be estimated (the output count
//! is final, or estimates are off), the record's values follow from the raw record by the rules below,
//! each the line of `FinishMixin.finish` named beside it; otherwise `None`, and `finish` takes
//! its general path on the same raw record. What `Estimator._observe` learns from the record
//! is learned here too, into the estimator's native `WindowStore`. The parity suites (native
//! == pure, whose `finish` always takes the general path) check that the two agree.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyTuple, PyType};

use std::sync::atomic::Ordering;

use super::lazy::UsageText;
use super::record::{
    raw_items, usage_dict, RawItems, RecordBuilder, RAW_AUDIO_INPUT, RAW_AUDIO_OUTPUT, RAW_FRAMING,
    RAW_GEO, RAW_ITERATIONS, RAW_NOTES, RAW_PROVIDER_COST, RAW_SHARED, RAW_USAGE,
};
use super::windows::WindowStore;
use crate::record::{BodyKind, RawRecord, Status};

/// The values `finish` appends to the raw record's first ones, when it would decide them
/// without an estimate: `None` otherwise.
fn simple_tail(r: &RawRecord, estimate: bool) -> Option<(bool, bool, bool)> {
    let t = &r.tokens;
    // `reported`: any token count proper.
    let reported = [
        t.input,
        t.cache_creation,
        t.cache_creation_5m,
        t.cache_creation_1h,
        t.cache_read,
        t.output,
        t.reasoning,
    ]
    .iter()
    .any(Option::is_some);
    // `error_body`: a JSON error response bills nothing.
    let error_body = r.status == Status::Error && r.body_kind == BodyKind::Json && !reported;
    let mut no_request = false;
    if estimate && !error_body {
        // `estimate_output` runs where the output count is not final.
        if !r.output_final && r.status != Status::NotSse {
            return None;
        }
        // No request (the caller checked): `reasons += ("no_request",)`.
        no_request = t.input.is_none();
    }
    // `review`, with nothing estimated.
    let review =
        !error_body && (r.status != Status::Complete || t.input.is_none() || t.output.is_none());
    Some((!reported, review, no_request))
}

/// `tuple(Iteration(*item) for item in iterations)`, as `finish` makes them.
fn iterations<'py>(py: Python<'py>, raw: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static ITERATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let items = raw.cast::<PyTuple>()?;
    if items.is_empty() {
        return Ok(PyTuple::empty(py).into_any());
    }
    let class = ITERATION.import(py, "sseusage_fast.record", "Iteration")?;
    let made = items
        .iter()
        .map(|item| class.call1(item.cast_into::<PyTuple>()?))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyTuple::new(py, made)?.into_any())
}

/// `None if cost is None else Decimal(cost)`, as `finish` makes it.
fn provider_cost<'py>(py: Python<'py>, raw: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    if raw.is_none() {
        return Ok(raw.clone());
    }
    DECIMAL.import(py, "decimal", "Decimal")?.call1((raw,))
}

/// The record of `r` built by `builder`, and what `_observe` would learn from it taught to
/// `store` (a complete record); `None` where `finish` must decide (see above).
pub(super) fn simple_record<'py>(
    py: Python<'py>,
    builder: &RecordBuilder,
    store: &WindowStore,
    r: &RawRecord,
    estimate: bool,
    interrupted: Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some((no_usage, review, no_request)) = simple_tail(r, estimate) else {
        return Ok(None);
    };
    if !builder.fields_known {
        return Ok(None);
    }
    // The usage object's text, where the class reads it as its dict (`lazy`).
    let usage = match &r.raw_usage_text {
        Some(text) if builder.usage_text.load(Ordering::Relaxed) => {
            Bound::new(py, UsageText::new(text))?.into_any()
        }
        _ => usage_dict(py, r)?,
    };
    let raw: RawItems<'py> = raw_items(py, r, false, usage)?;
    let flag = |v: bool| PyBool::new(py, v).to_owned().into_any();
    let reasons = if no_request {
        PyTuple::new(py, [intern!(py, "no_request")])?
    } else {
        PyTuple::empty(py)
    };
    let tail: [Bound<'py, PyAny>; 14] = [
        flag(no_usage),
        flag(review),
        PyTuple::empty(py).into_any(), // estimated
        PyDict::new(py).into_any(),    // estimate_ranges
        reasons.into_any(),
        interrupted,
        raw[RAW_USAGE].clone(),
        raw[RAW_NOTES].clone(),
        raw[RAW_AUDIO_INPUT].clone(),
        raw[RAW_AUDIO_OUTPUT].clone(),
        iterations(py, &raw[RAW_ITERATIONS])?,
        provider_cost(py, &raw[RAW_PROVIDER_COST])?,
        raw[RAW_GEO].clone(),
        raw[RAW_FRAMING].clone(),
    ];
    let values = raw[..RAW_SHARED].iter().cloned().chain(tail).map(Ok);
    let record = builder.make(py, values)?;
    // `_observe` learns only from complete records.
    if r.status == Status::Complete {
        store.learn_simple(py, r)?;
    }
    Ok(Some(record))
}
