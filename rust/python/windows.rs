//! `WindowStore`, what a plain `Estimator` learned (`crate::learn::Learned`) when the extension
//! is built: the same methods as the pure twin's `learned._Windows`, and the learning and the
//! output estimate of a `finish()` without a request (`learn_simple`, `estimate_output`)
//! without a Python call. Each method is one step
//! under its lock (an Estimator takes none of its own), held only around Rust work: no
//! Python runs and no Python object is made under it.

use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::learn::{
    estimate_output, kind_index, samples, Estimate, Learned, Priors, Reads, Window, KINDS,
};
use crate::record::RawRecord;

#[pyclass(frozen, module = "sseusage_fast._native")]
pub struct WindowStore {
    /// `model_names.calibration_key`, asked once per model name.
    key_of: Py<PyAny>,
    inner: Mutex<Learned>,
}

/// A window's (calibration key, kind), the kind checked.
fn window_key(key: &Bound<'_, PyTuple>) -> PyResult<(String, usize)> {
    let (name, kind): (String, String) = key.extract()?;
    let kind =
        kind_index(&kind).ok_or_else(|| PyValueError::new_err(format!("unknown kind {kind:?}")))?;
    Ok((name, kind))
}

/// A window's (calibration key, kind) to read: the key as given (its text borrowed, not
/// copied), and the kind's index, None for a kind never learned.
fn read_key<'py>(key: &Bound<'py, PyTuple>) -> PyResult<(Bound<'py, PyString>, Option<usize>)> {
    let (name, kind): (Bound<'py, PyString>, Bound<'py, PyString>) = key.extract()?;
    let kind = kind_index(kind.to_str()?);
    Ok((name, kind))
}

/// `families.stream_priors(key)`: what the family tables say of a calibration key.
fn stream_priors(py: Python<'_>, key: Option<&str>) -> PyResult<Priors> {
    static PRIORS_OF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let of = PRIORS_OF.import(py, "sseusage_fast.estimate.families", "stream_priors")?;
    let (text_ratio, hidden_reasoning, summarizes_thinking) = of.call1((key,))?.extract()?;
    Ok(Priors {
        text_ratio,
        hidden_reasoning,
        summarizes_thinking,
    })
}

/// A window copied out of the store: its key, kind and values in arrival order.
type Copied = (String, &'static str, Vec<f64>);

/// A list of Python floats.
fn float_list<'py>(py: Python<'py>, values: &[f64]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, values)
}

impl WindowStore {
    /// `read` of the window of `key` under the lock, once it holds `need` values; None for a
    /// kind never learned, a window never made or one too short.
    fn read_window<T>(
        &self,
        key: &Bound<'_, PyTuple>,
        need: usize,
        read: impl FnOnce(&Window) -> Option<T>,
    ) -> PyResult<Option<T>> {
        let (name, kind) = read_key(key)?;
        let Some(kind) = kind else {
            return Ok(None); // a kind never learned
        };
        let name = name.to_str()?;
        let inner = self.lock();
        Ok(inner
            .window(name, kind)
            .filter(|w| w.len() >= need)
            .and_then(read))
    }

    fn lock(&self) -> MutexGuard<'_, Learned> {
        // A panic under the lock leaves plain numbers: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `bounds.estimate_output` of `r` for a parser without a request, as an Estimator with
    /// this store and `min_samples` estimates it (`learn::estimate`). The model's calibration
    /// key and its family's priors are asked of Python once; the windows are read under the
    /// lock.
    pub(super) fn estimate_output(
        &self,
        py: Python<'_>,
        r: &RawRecord,
        min_samples: usize,
        truncated: bool,
    ) -> PyResult<Estimate> {
        let at = match r.model.as_deref().filter(|m| !m.is_empty()) {
            None => None,
            Some(model) => {
                let known = self.lock().place_of(model);
                match known {
                    Some(at) => at,
                    None => {
                        let key: Option<String> =
                            self.key_of.bind(py).call1((model,))?.extract()?;
                        self.lock().remember_key(model, key.as_deref())
                    }
                }
            }
        };
        let priors = match at {
            None => {
                static NO_KEY: PyOnceLock<Priors> = PyOnceLock::new();
                *NO_KEY.get_or_try_init(py, || stream_priors(py, None))?
            }
            Some(at) => {
                let known = self.lock().slot(at).1;
                match known {
                    Some(priors) => priors,
                    None => {
                        let key = self.lock().slot(at).0.to_owned();
                        let priors = stream_priors(py, Some(&key))?;
                        self.lock().set_priors(at, priors);
                        priors
                    }
                }
            }
        };
        let inner = self.lock();
        let reads = Reads {
            learned: &inner,
            at,
            min_samples,
        };
        Ok(estimate_output(&reads, &priors, r, truncated))
    }

    /// What `Estimator._observe` learns from `r` made without a request, when it is complete
    /// (the caller checked the rest: see `learn::samples`).
    pub(super) fn learn_simple(&self, py: Python<'_>, r: &RawRecord) -> PyResult<()> {
        let Some(model) = r.model.as_deref().filter(|m| !m.is_empty()) else {
            return Ok(());
        };
        let (samples, n) = samples(r);
        if n == 0 {
            return Ok(());
        }
        let samples = &samples[..n];
        if self.lock().add_for_model(model, samples) {
            return Ok(());
        }
        // A model name not seen yet: its key from Python, outside the lock.
        let key: Option<String> = self.key_of.bind(py).call1((model,))?.extract()?;
        let mut inner = self.lock();
        inner.remember_key(model, key.as_deref());
        if let Some(key) = key {
            for s in samples {
                inner.add(&key, s.kind, s.value, s.counted);
            }
        }
        Ok(())
    }
}

#[pymethods]
impl WindowStore {
    #[new]
    #[pyo3(signature = (size, key_of, /))]
    fn new(size: usize, key_of: Py<PyAny>) -> PyResult<Self> {
        if size < 1 {
            return Err(PyValueError::new_err("window must be at least 1"));
        }
        Ok(WindowStore {
            key_of,
            inner: Mutex::new(Learned::new(size)),
        })
    }

    #[getter]
    fn size(&self) -> usize {
        self.lock().size()
    }

    #[getter]
    fn get_learned(&self) -> u64 {
        self.lock().learned
    }

    #[setter]
    fn set_learned(&self, value: u64) {
        self.lock().learned = value;
    }

    /// Each ((key, kind), value, counted) into its window, in order.
    #[pyo3(signature = (samples, /))]
    fn add_all(&self, samples: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut taken = Vec::new();
        for item in samples.try_iter()? {
            let (key, value, counted): (Bound<'_, PyTuple>, f64, bool) = item?.extract()?;
            let (name, kind) = window_key(&key)?;
            taken.push((name, kind, value, counted));
        }
        let mut inner = self.lock();
        for (name, kind, value, counted) in &taken {
            inner.add(name, *kind, *value, *counted);
        }
        Ok(())
    }

    /// How many values the window of `key` holds (none for a kind never learned).
    #[pyo3(signature = (key, /))]
    fn count(&self, key: &Bound<'_, PyTuple>) -> PyResult<usize> {
        Ok(self.read_window(key, 0, |w| Some(w.len()))?.unwrap_or(0))
    }

    /// The window's median with `prior` counted as `weight` values more, once it holds `need`
    /// values; else None.
    #[pyo3(signature = (key, need, prior = 0.0, weight = 0, /))]
    fn median(
        &self,
        key: &Bound<'_, PyTuple>,
        need: usize,
        prior: f64,
        weight: usize,
    ) -> PyResult<Option<f64>> {
        self.read_window(key, need, |w| w.median(prior, weight))
    }

    /// The window's values at 5% and 95% of its order, once it holds `need`; else None.
    #[pyo3(signature = (key, need, /))]
    fn spread(&self, key: &Bound<'_, PyTuple>, need: usize) -> PyResult<Option<(f64, f64)>> {
        self.read_window(key, need, Window::spread)
    }

    /// Every window as ((key, kind), values in arrival order), and the count learned, at one
    /// moment.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, u64)> {
        let (copied, learned): (Vec<Copied>, u64) = {
            let inner = self.lock();
            let windows = inner
                .windows()
                .into_iter()
                .map(|(key, kind, values)| (key.to_owned(), kind, values))
                .collect();
            (windows, inner.learned)
        };
        let items = copied
            .iter()
            .map(|(key, kind, values)| {
                let key = PyTuple::new(py, [key.as_str(), kind])?;
                PyTuple::new(py, [key.into_any(), float_list(py, values)?.into_any()])
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok((PyList::new(py, items)?, learned))
    }

    /// The window of `key` made anew from `values` (the last `size` of them).
    #[pyo3(signature = (key, values, /))]
    fn put(&self, key: &Bound<'_, PyTuple>, values: Vec<f64>) -> PyResult<()> {
        let (name, kind) = window_key(key)?;
        self.lock().put(&name, kind, &values);
        Ok(())
    }

    /// Windows learned before this store's own, (key, values) each, and how many samples they
    /// counted: each goes first in its window.
    #[pyo3(signature = (windows, learned, /))]
    fn merge(&self, windows: &Bound<'_, PyAny>, learned: u64) -> PyResult<()> {
        let mut taken = Vec::new();
        for item in windows.try_iter()? {
            let (key, values): (Bound<'_, PyTuple>, Vec<f64>) = item?.extract()?;
            let (name, kind) = window_key(&key)?;
            taken.push((name, kind, values));
        }
        let mut inner = self.lock();
        for (name, kind, mut values) in taken {
            if let Some(own) = inner.window(&name, kind) {
                values.extend(own.recent());
            }
            inner.put(&name, kind, &values);
        }
        inner.learned += learned;
        Ok(())
    }

    /// The figures the output estimate reads (`learn::estimate`), as the pure twin names them
    /// (a test compares them with `bounds`, `families`, `learned` and `record`).
    #[staticmethod]
    fn estimate_constants(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        use crate::learn::estimate::*;
        (
            (TEXT_SPREAD, MARGIN, SLACK, ENCRYPTED_SPREAD),
            (MIN_BASE_TOKENS, SPREAD_SAMPLES),
            (
                TOOL_CALL_RATIO,
                SUMMARIZED_THINKING_RATIO,
                HIDDEN_REASONING_DEFAULT,
            ),
            (TOOL_CALL_TOKENS.to_vec(), TOOL_CALL_TOKENS_DEFAULT),
            (SHORT_REPLY.to_vec(), SHORT_REPLY_DEFAULT),
            REASONS.to_vec(),
        )
            .into_pyobject(py)
    }

    /// The kinds, limits and coefficients this store learns by (a test compares them with
    /// the pure twin's).
    #[staticmethod]
    fn constants(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        use crate::learn::{
            COEFFICIENTS, LIMITS, MIN_BASE, MIN_SEALED_TOKENS, REPORTS_REASONING, SEALED_GEMINI,
            SEALED_OTHERS,
        };
        (
            KINDS.to_vec(),
            LIMITS.to_vec(),
            MIN_BASE.to_vec(),
            REPORTS_REASONING.to_vec(),
            COEFFICIENTS.to_vec(),
            (
                MIN_SEALED_TOKENS,
                [("gemini", SEALED_GEMINI)],
                SEALED_OTHERS,
            ),
        )
            .into_pyobject(py)
    }
}
