//! `UsageCore`, the streaming half of `UsageParser`, and `parse_usage_raw`.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::exclusive::Exclusive;
use super::finish::simple_record;
use super::record::{record_tuple, RecordBuilder};
use super::windows::WindowStore;
use super::{check_limit, provider_of, with_bytes};
use crate::meter::{self, DEFAULT_MAX_EVENT_BYTES};
use crate::record::RawRecord;

/// The settings of a parser that its Python half (`finish`) reads, as given: `None`, `None`,
/// `True` when not given. A frozen base of `UsageCore`, so that Python reads them as plain
/// members of the object, without a call.
#[pyclass(frozen, subclass, module = "sseusage_fast._native")]
pub struct ParserSettings {
    #[pyo3(get, name = "_request")]
    request: Py<PyAny>,
    #[pyo3(get, name = "_estimator")]
    estimator: Py<PyAny>,
    #[pyo3(get, name = "_estimate")]
    estimate: Py<PyAny>,
}

/// The streaming half of `UsageParser`: `feed` is this method itself (no Python wrapper in
/// between); the Python subclass turns `_finish_raw()` into a `UsageRecord`. It takes the
/// parser's whole signature and keeps the settings, so that making a parser calls no Python
/// `__init__`.
///
/// Frozen to PyO3: its state is `Exclusive`, whose guard is cheaper than PyO3's borrow flag on
/// the per-read call (`feed` is `feed::feed_method`, a `METH_O` function).
#[pyclass(frozen, extends = ParserSettings, subclass, module = "sseusage_fast._native")]
pub struct UsageCore {
    pub(super) state: Exclusive<Stream>,
}

/// A parser's state: the core while the stream is open, then the raw record it left (kept as
/// it is where `finish` built the record in the core, made a tuple when asked for).
pub(super) struct Stream {
    pub(super) core: Option<meter::UsageCore>,
    finished: Option<RawRecord>,
    raw: Option<Py<PyTuple>>,
}

/// An argument as given, `None` included (told apart from an argument not given).
fn as_given(value: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    Ok(Some(value.clone().unbind()))
}

#[pymethods]
impl UsageCore {
    #[new]
    #[pyo3(
        signature = (
            provider = "auto",
            *,
            request = None,
            estimator = None,
            estimate = None,
            max_event_bytes = DEFAULT_MAX_EVENT_BYTES as i64,
            content_type = None,
        ),
        text_signature = "(provider='auto', *, request=None, estimator=None, estimate=True, \
                          max_event_bytes=16777216, content_type=None)"
    )]
    fn new(
        py: Python<'_>,
        provider: &str,
        request: Option<Py<PyAny>>,
        estimator: Option<Py<PyAny>>,
        #[pyo3(from_py_with = as_given)] estimate: Option<Py<PyAny>>,
        max_event_bytes: i64,
        content_type: Option<&str>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let core = meter::UsageCore::new(provider_of(provider)?, check_limit(max_event_bytes)?)
            .with_content_type(content_type);
        let settings = ParserSettings {
            request: request.unwrap_or_else(|| py.None()),
            estimator: estimator.unwrap_or_else(|| py.None()),
            estimate: estimate.unwrap_or_else(|| {
                pyo3::types::PyBool::new(py, true)
                    .to_owned()
                    .into_any()
                    .unbind()
            }),
        };
        Ok(PyClassInitializer::from(settings).add_subclass(UsageCore {
            state: Exclusive::new(Stream {
                core: Some(core),
                finished: None,
                raw: None,
            }),
        }))
    }

    fn _finish_raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.state.with(py, |stream| {
            if let Some(raw) = &stream.raw {
                return Ok(raw.bind(py).clone());
            }
            // The core finished in place (a kilobyte and more: not moved out first).
            let record = match (stream.core.as_mut(), stream.finished.take()) {
                (Some(core), _) => core.finish_keeping_text(),
                (None, Some(record)) => record,
                (None, None) => unreachable!("a stream is open or finished"),
            };
            stream.core = None;
            let raw = record_tuple(py, &record)?;
            stream.raw = Some(raw.clone().unbind());
            Ok(raw)
        })?
    }

    /// The record, built here for a parser without a request (`finish::simple_record`), with
    /// what the estimator learns from it added to its store; `None` when the parser has a
    /// request, or the estimator's store is not a native `WindowStore` (then `_finish_raw()`
    /// gives the raw record). The estimator must be a plain `Estimator` (the caller checks).
    #[pyo3(signature = (builder, interrupted, estimator, /))]
    fn _finish_simple<'py>(
        slf: &Bound<'py, Self>,
        builder: &Bound<'py, RecordBuilder>,
        interrupted: Bound<'py, PyAny>,
        estimator: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = slf.py();
        let settings = slf.as_super().get();
        if !settings.request.is_none(py) {
            return Ok(None);
        }
        let store = estimator.getattr(intern!(py, "_ratios"))?;
        let Ok(store) = store.cast::<WindowStore>() else {
            return Ok(None);
        };
        // Read only where an estimate needs it.
        let min_samples = || estimator.getattr(intern!(py, "_min_samples"))?.extract();
        let estimate = settings.estimate.bind(py).is_truthy()?;
        slf.get().state.with(py, |stream| {
            let Some(core) = stream.core.as_mut() else {
                return Ok(None);
            };
            let record = core.finish_keeping_text();
            stream.core = None;
            let built = simple_record(
                py,
                builder.get(),
                store.get(),
                min_samples,
                &record,
                estimate,
                interrupted,
            );
            stream.finished = Some(record);
            built
        })?
    }
}

/// The raw record of a whole captured body.
#[pyfunction]
#[pyo3(signature = (body, provider = "auto", max_event_bytes = DEFAULT_MAX_EVENT_BYTES as i64))]
pub(super) fn parse_usage_raw<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
    provider: &str,
    max_event_bytes: i64,
) -> PyResult<Bound<'py, PyTuple>> {
    let provider = provider_of(provider)?;
    let max = check_limit(max_event_bytes)?;
    let raw = with_bytes(body, |bytes| meter::parse_usage(bytes, provider, max))?;
    record_tuple(py, &raw)
}
