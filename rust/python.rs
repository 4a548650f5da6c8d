//! The PyO3 binding: a thin skin over the core. `feed` borrows `bytes` without copying and
//! builds no Python object per event (the usage parser) or one `Event` per event (the decoder).

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyString, PyTuple, PyType};
use pyo3::IntoPyObjectExt;

use crate::event::{EventBuilder, EventSink, Lines};
use crate::framer::Framer;
use crate::record::RawRecord;
use crate::textstats::TextStats;
use crate::usage::{self, Provider, DEFAULT_MAX_EVENT_BYTES};

/// Runs `f` on the bytes of a chunk: `bytes` borrowed, `bytearray` / `memoryview` copied.
fn with_bytes<R>(chunk: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(b) = chunk.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    if let Ok(b) = chunk.cast::<PyByteArray>() {
        return Ok(f(&b.to_vec()));
    }
    if chunk.is_instance_of::<PyMemoryView>() {
        let copy = chunk.call_method0("tobytes")?;
        return Ok(f(copy.cast::<PyBytes>()?.as_bytes()));
    }
    Err(PyTypeError::new_err(format!(
        "chunk must be bytes, bytearray or memoryview, not {}",
        chunk.get_type().name()?
    )))
}

fn check_limit(max_event_bytes: i64) -> PyResult<usize> {
    usize::try_from(max_event_bytes)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| PyValueError::new_err("max_event_bytes must be positive"))
}

/// One server-sent event.
#[pyclass(frozen, get_all, module = "sseusage_fast._native")]
pub struct Event {
    event: Py<PyString>,
    data: Py<PyString>,
    id: Py<PyString>,
}

#[pymethods]
impl Event {
    #[new]
    #[pyo3(signature = (event = None, data = None, id = None))]
    fn new(
        py: Python<'_>,
        event: Option<Py<PyString>>,
        data: Option<Py<PyString>>,
        id: Option<Py<PyString>>,
    ) -> Self {
        let empty = || PyString::new(py, "").unbind();
        Event {
            event: event.unwrap_or_else(|| PyString::new(py, "message").unbind()),
            data: data.unwrap_or_else(empty),
            id: id.unwrap_or_else(empty),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Event(event={}, data={}, id={})",
            self.event.bind(py).repr()?,
            self.data.bind(py).repr()?,
            self.id.bind(py).repr()?
        ))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Event>() else {
            return Ok(false);
        };
        let other = other.get();
        let same = |a: &Py<PyString>, b: &Py<PyString>| a.bind(py).as_any().eq(b.bind(py));
        Ok(same(&self.event, &other.event)?
            && same(&self.data, &other.data)?
            && same(&self.id, &other.id)?)
    }
}

/// Decodes UTF-8 with U+FFFD for invalid bytes, in one pass: CPython's own decoder, the very
/// one the pure twin's `bytes.decode("utf-8", "replace")` uses.
fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let len = pyo3::ffi::Py_ssize_t::try_from(bytes.len())
        .map_err(|_| PyValueError::new_err("event too large"))?;
    // SAFETY: the pointer and length describe `bytes`; the error handler name is a C string.
    unsafe {
        let obj = pyo3::ffi::PyUnicode_DecodeUTF8(bytes.as_ptr().cast(), len, c"replace".as_ptr());
        Bound::from_owned_ptr_or_err(py, obj).map(|o| o.cast_into_unchecked())
    }
}

/// Python strings of event types and ids seen before: a stream repeats a handful of them.
#[derive(Default)]
struct StringCache {
    entries: Vec<(Vec<u8>, Py<PyString>)>,
    /// The entry found last: the next event most often has the same type.
    last: usize,
}

impl StringCache {
    const MAX: usize = 32;

    fn get(&mut self, py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyString>> {
        if bytes.is_empty() {
            return Ok(pyo3::intern!(py, "").clone().unbind());
        }
        if let Some((b, s)) = self.entries.get(self.last) {
            if b == bytes {
                return Ok(s.clone_ref(py));
            }
        }
        if let Some(at) = self.entries.iter().position(|(b, _)| b == bytes) {
            self.last = at;
            return Ok(self.entries[at].1.clone_ref(py));
        }
        let s = decode(py, bytes)?.unbind();
        if self.entries.len() < Self::MAX && bytes.len() <= 256 {
            self.last = self.entries.len();
            self.entries.push((bytes.to_vec(), s.clone_ref(py)));
        }
        Ok(s)
    }
}

/// Builds `Event` objects into a list.
struct PyEvents<'py, 'c> {
    py: Python<'py>,
    out: Vec<Bound<'py, Event>>,
    error: Option<PyErr>,
    strings: &'c mut StringCache,
}

impl PyEvents<'_, '_> {
    fn build(&mut self, event_type: &[u8], data: &[u8], last_event_id: &[u8]) -> PyResult<()> {
        let py = self.py;
        let event = if event_type.is_empty() {
            pyo3::intern!(py, "message").clone().unbind()
        } else {
            self.strings.get(py, event_type)?
        };
        let id = self.strings.get(py, last_event_id)?;
        let data = decode(py, data)?.unbind();
        self.out.push(Bound::new(py, Event { event, data, id })?);
        Ok(())
    }
}

impl EventSink for PyEvents<'_, '_> {
    fn event(&mut self, event_type: &[u8], data: &[u8], last_event_id: &[u8]) {
        if self.error.is_none() {
            if let Err(err) = self.build(event_type, data, last_event_id) {
                self.error = Some(err);
            }
        }
    }
}

/// Incremental event-stream decoder (WHATWG "interpreting an event stream").
/// One decoder per stream; sharing one between threads raises "Already borrowed".
#[pyclass(module = "sseusage_fast._native")]
pub struct SSEDecoder {
    framer: Framer,
    builder: EventBuilder,
    strings: StringCache,
}

#[pymethods]
impl SSEDecoder {
    #[new]
    #[pyo3(signature = (*, last_event_id = "", max_event_bytes = DEFAULT_MAX_EVENT_BYTES as i64))]
    fn new(last_event_id: &str, max_event_bytes: i64) -> PyResult<Self> {
        let max = check_limit(max_event_bytes)?;
        Ok(SSEDecoder {
            framer: Framer::new(max.saturating_add(64)),
            builder: EventBuilder::new(last_event_id.as_bytes(), max),
            strings: StringCache::default(),
        })
    }

    /// Every event whose blank line has arrived.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        chunk: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut sink = PyEvents {
            py,
            out: Vec::new(),
            error: None,
            strings: &mut self.strings,
        };
        with_bytes(chunk, |bytes| {
            let mut lines = Lines {
                builder: &mut self.builder,
                sink: &mut sink,
            };
            self.framer.feed(bytes, &mut lines);
        })?;
        if let Some(err) = sink.error {
            return Err(err);
        }
        PyList::new(py, sink.out)
    }

    /// End of stream: an unfinished event is discarded, as the spec says.
    fn flush<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyList> {
        self.framer.take_tail();
        PyList::empty(py)
    }

    #[getter]
    fn last_event_id(&self) -> String {
        String::from_utf8_lossy(&self.builder.last_event_id).into_owned()
    }

    /// The reconnection time in ms, exact however long (a Python int).
    #[getter]
    fn retry<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(digits) = &self.builder.retry else {
            return Ok(None);
        };
        let int = py.get_type::<pyo3::types::PyInt>();
        let bytes = PyBytes::new(py, &crate::event::digits_to_be_bytes(digits));
        int.call_method1("from_bytes", (bytes, "big")).map(Some)
    }
}

fn provider_of(name: &str) -> PyResult<Provider> {
    Provider::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown provider {name:?}: expected auto, anthropic, openai, openai-responses or gemini"
        ))
    })
}

/// A JSON value as the plain Python value `json.loads` would give.
fn to_python<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any(),
            (_, Some(i)) => i.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(usage_key(py, k), to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A usage object's JSON text as the Python value `to_python` makes of its tree, made straight
/// from the text (no tree to build and drop): serde_json's own reader calls back with each
/// value, so numbers, escapes, the depth limit and what is an error are the tree's. An object's
/// keys come in the tree's order (sorted; of equal keys the last one's value), as
/// `serde_json::Map` keeps them. `None` for a text that does not parse, as `from_str(..).ok()`.
fn json_text_to_python<'py>(py: Python<'py>, text: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    use serde::de::DeserializeSeed;
    let failed = std::cell::Cell::new(None);
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = ToPython {
        py,
        failed: &failed,
    }
    .deserialize(&mut reader)
    .and_then(|value| reader.end().map(|()| value));
    match failed.take() {
        Some(err) => Err(err),
        None => Ok(value.ok()),
    }
}

/// Makes the Python value of the JSON value serde_json reads; a Python error (out of memory)
/// is kept in `failed` and stops the reader.
#[derive(Clone, Copy)]
struct ToPython<'a, 'py> {
    py: Python<'py>,
    failed: &'a std::cell::Cell<Option<PyErr>>,
}

impl<'py> ToPython<'_, 'py> {
    fn made<T: IntoPyObjectExt<'py>, E: serde::de::Error>(
        self,
        value: T,
    ) -> Result<Bound<'py, PyAny>, E> {
        value
            .into_bound_py_any(self.py)
            .map_err(|err| self.fail(err))
    }

    fn fail<E: serde::de::Error>(self, err: PyErr) -> E {
        self.failed.set(Some(err));
        E::custom("a Python error")
    }
}

impl<'de, 'py> serde::de::DeserializeSeed<'de> for ToPython<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: serde::Deserializer<'de>>(self, reader: D) -> Result<Self::Value, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de, 'py> serde::de::Visitor<'de> for ToPython<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.made(v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.made(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.made(v)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // A tree keeps a number only when it is finite (null otherwise); the reader makes none
        // that is not, but the rule is the tree's.
        if v.is_finite() {
            self.made(v)
        } else {
            self.visit_unit()
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(self)? {
            list.append(item).map_err(|err| self.fail(err))?;
        }
        Ok(list.into_any())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            entries.push((key, map.next_value_seed(self)?));
        }
        // A stable sort: of equal keys the last is set last, so its value is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let dict = PyDict::new(self.py);
        for (key, value) in entries {
            dict.set_item(usage_key(self.py, &key), value)
                .map_err(|err| self.fail(err))?;
        }
        Ok(dict.into_any())
    }
}

/// An object key, borrowed from the text when it has no escapes.
struct Key;

impl<'de> serde::de::DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, reader: D) -> Result<Self::Value, D::Error> {
        reader.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.to_owned().into())
    }
}

/// One of the fixed names a raw record holds (a status, a body kind, a provider) as a Python
/// string made once per process: interning it anew on every record costs more than the rest
/// of the tuple.
fn fixed_name<'py>(py: Python<'py>, name: &'static str) -> Bound<'py, PyString> {
    use pyo3::intern;
    let made = match name {
        "complete" => intern!(py, "complete"),
        "partial" => intern!(py, "partial"),
        "no_usage" => intern!(py, "no_usage"),
        "error" => intern!(py, "error"),
        "not_sse" => intern!(py, "not_sse"),
        "sse" => intern!(py, "sse"),
        "json" => intern!(py, "json"),
        "anthropic" => intern!(py, "anthropic"),
        "openai" => intern!(py, "openai"),
        "openai-responses" => intern!(py, "openai-responses"),
        "gemini" => intern!(py, "gemini"),
        _ => return PyString::intern(py, name),
    };
    made.clone()
}

/// A value that requests repeat (a model, a stop reason, a service tier, a speed) as a Python
/// string shared by the records that hold it: made once per process instead of once per
/// record, and hashed once (the estimator looks its model up in a cache per record). The first
/// `MAX` such values seen are kept, each at most `MAX_LEN` bytes; others are made anew.
fn repeated_name<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<(Box<str>, Py<PyString>)>> = Mutex::new(Vec::new());
    const MAX: usize = 64;
    const MAX_LEN: usize = 128;
    let find = |seen: &[(Box<str>, Py<PyString>)]| {
        seen.iter()
            .find(|(seen, _)| **seen == *name)
            .map(|(_, made)| made.bind(py).clone())
    };
    // No Python code runs while the lock is held: taking a reference runs none.
    if let Some(made) = SEEN.lock().ok().and_then(|seen| find(&seen)) {
        return made;
    }
    let made = PyString::new(py, name);
    if name.len() <= MAX_LEN {
        if let Ok(mut seen) = SEEN.lock() {
            if seen.len() < MAX && find(&seen).is_none() {
                seen.push((name.into(), made.clone().unbind()));
            }
        }
    }
    made
}

/// A key of a raw usage dict: the providers' usual names are made once per process (with
/// their hash, which the dict needs), anything else anew.
fn usage_key<'py>(py: Python<'py>, key: &str) -> Bound<'py, PyString> {
    use pyo3::intern;
    let made = match key {
        "input_tokens" => intern!(py, "input_tokens"),
        "output_tokens" => intern!(py, "output_tokens"),
        "cache_creation_input_tokens" => intern!(py, "cache_creation_input_tokens"),
        "cache_read_input_tokens" => intern!(py, "cache_read_input_tokens"),
        "cache_creation" => intern!(py, "cache_creation"),
        "ephemeral_5m_input_tokens" => intern!(py, "ephemeral_5m_input_tokens"),
        "ephemeral_1h_input_tokens" => intern!(py, "ephemeral_1h_input_tokens"),
        "server_tool_use" => intern!(py, "server_tool_use"),
        "web_search_requests" => intern!(py, "web_search_requests"),
        "web_fetch_requests" => intern!(py, "web_fetch_requests"),
        "service_tier" => intern!(py, "service_tier"),
        "prompt_tokens" => intern!(py, "prompt_tokens"),
        "completion_tokens" => intern!(py, "completion_tokens"),
        "total_tokens" => intern!(py, "total_tokens"),
        "prompt_tokens_details" => intern!(py, "prompt_tokens_details"),
        "completion_tokens_details" => intern!(py, "completion_tokens_details"),
        "input_tokens_details" => intern!(py, "input_tokens_details"),
        "output_tokens_details" => intern!(py, "output_tokens_details"),
        "cached_tokens" => intern!(py, "cached_tokens"),
        "reasoning_tokens" => intern!(py, "reasoning_tokens"),
        "audio_tokens" => intern!(py, "audio_tokens"),
        "accepted_prediction_tokens" => intern!(py, "accepted_prediction_tokens"),
        "rejected_prediction_tokens" => intern!(py, "rejected_prediction_tokens"),
        "promptTokenCount" => intern!(py, "promptTokenCount"),
        "candidatesTokenCount" => intern!(py, "candidatesTokenCount"),
        "totalTokenCount" => intern!(py, "totalTokenCount"),
        "cachedContentTokenCount" => intern!(py, "cachedContentTokenCount"),
        "thoughtsTokenCount" => intern!(py, "thoughtsTokenCount"),
        _ => return PyString::new(py, key),
    };
    made.clone()
}

/// The raw record as a tuple in the order of `record.RAW_FIELDS` (a test checks it against the
/// pure twin's field by field): one tuple per request costs a fraction of a dict.
fn record_tuple<'py>(py: Python<'py>, r: &RawRecord) -> PyResult<Bound<'py, PyTuple>> {
    let t = &r.tokens;
    let raw_usage = match (&r.raw_usage_text, &r.raw_usage) {
        (Some(text), _) => json_text_to_python(py, text)?,
        (None, tree) => tree.as_ref().map(|u| to_python(py, u)).transpose()?,
    };
    let provider = r.provider.map(|p| fixed_name(py, p));
    let repeated = |value: &Option<String>| value.as_deref().map(|v| repeated_name(py, v));
    let items: [Bound<'py, PyAny>; 26] = [
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
        fixed_name(py, r.status.as_str()).into_any(),
        r.error_type.as_deref().into_bound_py_any(py)?,
        r.error_message.as_deref().into_bound_py_any(py)?,
        raw_usage.into_bound_py_any(py)?,
        PyTuple::new(py, &r.notes)?.into_any(),
        fixed_name(py, r.body_kind.as_str()).into_any(),
        r.output_final.into_bound_py_any(py)?,
        r.output_text.as_tuple().into_bound_py_any(py)?,
        r.saw_thinking.into_bound_py_any(py)?,
        r.saw_tool_use.into_bound_py_any(py)?,
        r.events.into_bound_py_any(py)?,
    ];
    PyTuple::new(py, items)
}

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
#[pyclass(extends = ParserSettings, subclass, module = "sseusage_fast._native")]
pub struct UsageCore {
    core: Option<usage::UsageCore>,
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
        ),
        text_signature = "(provider='auto', *, request=None, estimator=None, estimate=True, \
                          max_event_bytes=16777216)"
    )]
    fn new(
        py: Python<'_>,
        provider: &str,
        request: Option<Py<PyAny>>,
        estimator: Option<Py<PyAny>>,
        #[pyo3(from_py_with = as_given)] estimate: Option<Py<PyAny>>,
        max_event_bytes: i64,
    ) -> PyResult<PyClassInitializer<Self>> {
        let core = usage::UsageCore::new(provider_of(provider)?, check_limit(max_event_bytes)?);
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
            core: Some(core),
            raw: None,
        }))
    }

    /// Feeds one network read. Cheap: no Python object is built.
    #[pyo3(signature = (chunk, /))]
    fn feed(&mut self, chunk: &Bound<'_, PyAny>) -> PyResult<()> {
        let core = self.core.as_mut().ok_or_else(|| {
            PyRuntimeError::new_err("feed() after finish(): use one parser per stream")
        })?;
        with_bytes(chunk, |bytes| core.feed(bytes))
    }

    fn _finish_raw<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        if let Some(core) = self.core.as_mut() {
            let record = core.finish_keeping_text();
            self.core = None;
            self.raw = Some(record_tuple(py, &record)?.unbind());
        }
        Ok(self.raw.as_ref().expect("finished").bind(py).clone())
    }
}

/// The raw record of a whole captured body.
#[pyfunction]
#[pyo3(signature = (body, provider = "auto", max_event_bytes = DEFAULT_MAX_EVENT_BYTES as i64))]
fn parse_usage_raw<'py>(
    py: Python<'py>,
    body: &Bound<'py, PyAny>,
    provider: &str,
    max_event_bytes: i64,
) -> PyResult<Bound<'py, PyTuple>> {
    let provider = provider_of(provider)?;
    let max = check_limit(max_event_bytes)?;
    let raw = with_bytes(body, |bytes| usage::parse_usage(bytes, provider, max))?;
    record_tuple(py, &raw)
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
}

#[pymethods]
impl RecordBuilder {
    #[new]
    #[pyo3(signature = (cls, names, /))]
    fn new(cls: &Bound<'_, PyType>, names: &Bound<'_, PyTuple>) -> PyResult<Self> {
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
        let builder = RecordBuilder {
            cls: cls.clone().unbind(),
            alloc,
            offsets,
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
        // SAFETY: tp_alloc gives a zeroed instance (its slots NULL) or NULL with an error set.
        let object = unsafe {
            Bound::from_owned_ptr_or_err(py, (self.alloc)(self.cls.bind(py).as_type_ptr(), 0))?
        };
        for (i, &offset) in self.offsets.iter().enumerate() {
            let value = match (&tuple, &list) {
                _ if i >= from_head => tail.get_item(i - from_head)?,
                (Some(tuple), _) => tuple.get_item(i)?,
                (_, Some(list)) => list.get_item(i)?,
                _ => unreachable!("head is a tuple or a list"),
            };
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

/// Character-class counts of a text (the estimator's input).
#[pyfunction]
fn text_stats(text: &str) -> (u64, u64, u64, u64, u64, u64) {
    let mut stats = TextStats::default();
    stats.add(text);
    stats.as_tuple()
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Event>()?;
    m.add_class::<SSEDecoder>()?;
    m.add_class::<ParserSettings>()?;
    m.add_class::<UsageCore>()?;
    m.add_function(wrap_pyfunction!(parse_usage_raw, m)?)?;
    m.add_function(wrap_pyfunction!(text_stats, m)?)?;
    m.add_class::<RecordBuilder>()?;
    Ok(())
}
