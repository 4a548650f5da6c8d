//! `SSEDecoder`: events as Python `Event` objects.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use super::{check_limit, with_bytes};
use crate::meter::DEFAULT_MAX_EVENT_BYTES;
use crate::sse::Framer;
use crate::sse::{EventBuilder, EventSink, Lines};

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
        let bytes = PyBytes::new(py, &crate::sse::events::digits_to_be_bytes(digits));
        int.call_method1("from_bytes", (bytes, "big")).map(Some)
    }
}
