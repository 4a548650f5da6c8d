//! `UsageCore`, the streaming half of `UsageParser`, and `parse_usage_raw`.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::core_box::CoreBox;
use super::exclusive::Exclusive;
use super::finish::{simple_record, Finished};
use super::record::{record_tuple, usage_dict, RecordBuilder};
use super::windows::WindowStore;
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

/// A parser's state: the core while the stream is open, then the raw record it left (kept as
/// it is where `finish` built the record in the core, made a tuple when asked for), and the
/// record `finish()` gave.
pub(super) struct Stream {
    /// Boxed: the Python object stays small (its allocation and zeroing cheap), and the
    /// core, a kilobyte and more, is not copied on its way into it.
    pub(super) core: Option<CoreBox>,
    /// Boxed as the core is (a state of four words is cheap to move into the object).
    finished: Option<Box<Finished>>,
    raw: Option<Py<PyTuple>>,
    record: Option<Py<PyAny>>,
}

/// The builder of the records `finish` makes in the core (`UsageCore._set_record_builder`).
static RECORD_BUILDER: PyOnceLock<Py<RecordBuilder>> = PyOnceLock::new();

/// The record made in the core for a parser without a request body whose estimator is a plain
/// `Estimator` (the one given, else the process-wide default once made), on the first call
/// (`finish::simple_record`); None where `FinishMixin.finish` decides.
fn core_record<'py>(
    slf: &Bound<'py, UsageCore>,
    interrupted: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    static ESTIMATORS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    static ESTIMATOR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let py = slf.py();
    let settings = slf.as_super().get();
    let Some(builder) = RECORD_BUILDER.get(py) else {
        return Ok(None);
    };
    if !settings.request.is_none(py) {
        return Ok(None);
    }
    // `self._estimator or _estimator_module._default`: an Estimator subclass may refine what
    // it learns, so only a plain one (anything else, or no default yet: the general path).
    let estimator = if settings.estimator.is_none(py) {
        // Read from the module's dict (what its attribute lookup finds first, for a cheap
        // dict lookup in place of the lookup's call); a name not there, as the lookup would.
        let module = ESTIMATORS.get_or_try_init(py, || {
            let module = py.import("sseusage_fast.estimate.estimator")?;
            Ok::<_, PyErr>(module.dict().unbind())
        })?;
        let name = intern!(py, "_default");
        match module.bind(py).get_item(name)? {
            Some(estimator) => estimator,
            None => py
                .import("sseusage_fast.estimate.estimator")?
                .getattr(name)?,
        }
    } else {
        settings.estimator.bind(py).clone()
    };
    let plain = ESTIMATOR.import(py, "sseusage_fast.estimate.estimator", "Estimator")?;
    if !estimator.get_type().is(plain) {
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
        let Some(core) = stream.core.as_mut().filter(|_| stream.record.is_none()) else {
            return Ok(None);
        };
        let mut kept = Box::new(Finished::new(core.finish_keeping_text()));
        stream.core = None;
        let built = simple_record(
            py,
            builder.get(),
            store.get(),
            min_samples,
            &mut kept,
            estimate,
            interrupted.clone(),
        );
        stream.finished = Some(kept);
        if let Ok(Some(made)) = &built {
            stream.record = Some(made.clone().unbind());
        }
        built
    })?
}

/// `finish()`: the record, made in the core where it can be (`core_record`), else by
/// `FinishMixin.finish` (`_finish.py`, the pure twin's), which also answers later calls. The
/// method is `finish_call::finish_method`.
pub(super) fn finish<'py>(
    slf: &Bound<'py, UsageCore>,
    interrupted: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    static GENERAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = slf.py();
    let interrupted = interrupted.unwrap_or_else(|| py.None().into_bound(py));
    if let Some(record) = core_record(slf, &interrupted)? {
        return Ok(record);
    }
    let general = GENERAL.get_or_try_init(py, || {
        let mixin = py.import("sseusage_fast._finish")?.getattr("FinishMixin")?;
        Ok::<_, PyErr>(mixin.getattr("finish")?.unbind())
    })?;
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "interrupted"), interrupted)?;
    general.bind(py).call((slf,), Some(&kwargs))
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
        let (provider, max) = (provider_of(provider)?, check_limit(max_event_bytes)?);
        let mut core = CoreBox::new(|| meter::UsageCore::new(provider, max));
        core.set_content_type(content_type);
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
                record: None,
            }),
        }))
    }

    fn _finish_raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.state.with(py, |stream| {
            if let Some(raw) = &stream.raw {
                return Ok(raw.bind(py).clone());
            }
            // The core finished in place (a kilobyte and more: not moved out first).
            let (record, usage) = match (stream.core.as_mut(), stream.finished.take()) {
                (Some(core), _) => {
                    let record = core.finish_keeping_text();
                    let usage = usage_dict(py, &record);
                    (record, usage)
                }
                (None, Some(kept)) => {
                    let usage = kept.usage_dict(py);
                    (kept.record, usage)
                }
                (None, None) => unreachable!("a stream is open or finished"),
            };
            stream.core = None;
            let raw = record_tuple(py, &record, usage?)?;
            stream.raw = Some(raw.clone().unbind());
            Ok(raw)
        })?
    }

    /// The record `finish()` gave (None before), as `FinishMixin.finish` keeps it.
    #[getter(_record)]
    fn record(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.state
            .with(py, |stream| stream.record.as_ref().map(|r| r.clone_ref(py)))
    }

    #[setter(_record)]
    fn set_record(&self, py: Python<'_>, record: Py<PyAny>) -> PyResult<()> {
        self.state.with(py, |stream| {
            stream.record = (!record.is_none(py)).then_some(record);
        })
    }

    /// The builder of the records made in the core (once per process: `native.py`).
    #[staticmethod]
    fn _set_record_builder(builder: &Bound<'_, RecordBuilder>) -> PyResult<()> {
        let py = builder.py();
        let set = RECORD_BUILDER.get_or_init(py, || builder.clone().unbind());
        if !set.is(builder) {
            return Err(PyValueError::new_err("a record builder is already set"));
        }
        Ok(())
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
    record_tuple(py, &raw, usage_dict(py, &raw)?)
}
