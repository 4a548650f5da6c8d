//! `UsageCore`, the streaming half of `UsageParser`, and `parse_usage_raw`.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::exclusive::Exclusive;
use super::record::record_tuple;
use super::{check_limit, provider_of, with_bytes};
use crate::meter::{self, DEFAULT_MAX_EVENT_BYTES};

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

/// A parser's state: the core while the stream is open, then the raw record it left.
pub(super) struct Stream {
    pub(super) core: Option<meter::UsageCore>,
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
                raw: None,
            }),
        }))
    }

    fn _finish_raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.state.with(py, |stream| {
            if let Some(mut core) = stream.core.take() {
                let record = core.finish_keeping_text();
                stream.raw = Some(record_tuple(py, &record)?.unbind());
            }
            Ok(stream.raw.as_ref().expect("finished").bind(py).clone())
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
