//! The PyO3 binding: a thin skin over the core. `feed` borrows `bytes` without copying and
//! builds no Python object per event (the usage parser) or one `Event` per event (the decoder).
//!
//! - [`core_box`]: a parser's boxed core, whose allocation the next parser takes over.
//! - [`decoder`]: `SSEDecoder` and its `Event`s.
//! - [`exclusive`]: the state of a frozen object that one call at a time may change.
//! - [`feed`]: `UsageCore.feed`, a `METH_O` C function (the per-read call).
//! - [`finish`]: the record made in the core for a parser without a request body.
//! - [`finish_call`]: `UsageCore.finish`, a `METH_FASTCALL | METH_KEYWORDS` C function.
//! - [`lazy`]: a record's `raw_usage` kept as JSON text until it is first read.
//! - [`names`]: the names a record holds, as Python strings made once per process.
//! - [`parser`]: `UsageCore`, the streaming half of `UsageParser`, and `parse_usage_raw`.
//! - [`record`]: the raw record as a tuple, and `RecordBuilder`, which makes a `UsageRecord`.
//! - [`values`]: JSON values and usage objects as Python values.
//! - [`windows`]: `WindowStore`, what a plain `Estimator` learned, and its learning and
//!   estimate at `finish()`.

mod core_box;
mod decoder;
mod exclusive;
mod feed;
mod finish;
mod finish_call;
mod lazy;
mod names;
mod parser;
mod record;
mod values;
mod windows;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};

use crate::providers::facts::Provider;
use crate::textstats::TextStats;

use decoder::{Event, SSEDecoder};
use parser::{parse_usage_raw, ParserSettings, UsageCore};
use record::RecordBuilder;

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

fn provider_of(name: &str) -> PyResult<Provider> {
    Provider::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown provider {name:?}: expected one of auto, anthropic, openai, openai-responses, gemini, bedrock, cohere, ollama"
        ))
    })
}

/// Character-class counts of a text (the estimator's input).
#[pyfunction]
fn text_stats(text: &str) -> (u64, u64, u64, u64, u64, u64, u64) {
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
    exclusive::init(m.py())?;
    feed::install(&m.py().get_type::<UsageCore>())?;
    finish_call::install(&m.py().get_type::<UsageCore>())?;
    m.add_function(wrap_pyfunction!(parse_usage_raw, m)?)?;
    m.add_function(wrap_pyfunction!(text_stats, m)?)?;
    m.add_class::<RecordBuilder>()?;
    m.add_class::<lazy::UsageSlot>()?;
    m.add_class::<windows::WindowStore>()?;
    Ok(())
}
