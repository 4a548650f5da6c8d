//! The names a record holds (a provider, a status, a body kind, a framing, and the values that
//! requests repeat: a model, a stop reason, a service tier, a speed) as Python strings made once
//! per process, not once per record.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::learn::names::hash_bytes;
use crate::record::{BodyKind, Framing, Status};

/// A provider's name as a Python string made once per process: interning it anew on every
/// record costs more than the rest of the tuple.
pub(super) fn provider_name<'py>(py: Python<'py>, name: &'static str) -> Bound<'py, PyString> {
    let made = match name {
        "anthropic" => intern!(py, "anthropic"),
        "openai" => intern!(py, "openai"),
        "openai-responses" => intern!(py, "openai-responses"),
        "gemini" => intern!(py, "gemini"),
        "cohere" => intern!(py, "cohere"),
        "ollama" => intern!(py, "ollama"),
        "bedrock" => intern!(py, "bedrock"),
        _ => return PyString::intern(py, name),
    };
    made.clone()
}

/// A status's name, made once per process (as `provider_name`).
pub(super) fn status_name(py: Python<'_>, status: Status) -> Bound<'_, PyString> {
    let made = match status {
        Status::Complete => intern!(py, "complete"),
        Status::Partial => intern!(py, "partial"),
        Status::NoUsage => intern!(py, "no_usage"),
        Status::Error => intern!(py, "error"),
        Status::NotSse => intern!(py, "not_sse"),
    };
    debug_assert_eq!(made.to_str().ok(), Some(status.as_str()));
    made.clone()
}

/// A body kind's name, made once per process.
pub(super) fn body_kind_name(py: Python<'_>, kind: BodyKind) -> Bound<'_, PyString> {
    let made = match kind {
        BodyKind::EventStream => intern!(py, "sse"),
        BodyKind::Json => intern!(py, "json"),
        BodyKind::NotSse => intern!(py, "not_sse"),
    };
    debug_assert_eq!(made.to_str().ok(), Some(kind.as_str()));
    made.clone()
}

/// A framing's name, made once per process.
pub(super) fn framing_name(py: Python<'_>, framing: Framing) -> Bound<'_, PyString> {
    let made = match framing {
        Framing::Sse => intern!(py, "sse"),
        Framing::Json => intern!(py, "json"),
        Framing::JsonArray => intern!(py, "json-array"),
        Framing::Ndjson => intern!(py, "ndjson"),
        Framing::AwsEventStream => intern!(py, "aws-eventstream"),
    };
    debug_assert_eq!(made.to_str().ok(), Some(framing.as_str()));
    made.clone()
}

/// A value that requests repeat (a model, a stop reason, a service tier, a speed) as a Python
/// string shared by the records that hold it: made once per process instead of once per
/// record, and hashed once (the estimator looks its model up in a cache per record). The first
/// `MAX` such values seen are kept, each at most `MAX_LEN` bytes; others are made anew.
///
/// Kept in an open-addressed table of write-once slots, half of them left empty (so a probe
/// ends at one): a lookup takes no lock and compares one name, mostly.
pub(super) fn repeated_name<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    const SLOTS: usize = 128;
    const MAX: usize = SLOTS / 2;
    const MAX_LEN: usize = 128;
    static SEEN: [OnceLock<(Box<str>, Py<PyString>)>; SLOTS] = [const { OnceLock::new() }; SLOTS];
    static KEPT: AtomicUsize = AtomicUsize::new(0);
    // The hash's top bits: a multiply mixes a word's bits upwards only.
    let mut at = (hash_bytes(name.as_bytes()) >> (64 - SLOTS.trailing_zeros())) as usize;
    // No Python code runs while a slot is read: taking a reference runs none.
    let empty = loop {
        match SEEN[at].get() {
            Some((seen, made)) if **seen == *name => return made.bind(py).clone(),
            Some(_) => at = (at + 1) % SLOTS,
            None => break at,
        }
    };
    let made = PyString::new(py, name);
    // Another thread may fill the slot first: this name is then made anew next time.
    if name.len() <= MAX_LEN
        && KEPT.load(Ordering::Relaxed) < MAX
        && KEPT.fetch_add(1, Ordering::Relaxed) < MAX
    {
        let _ = SEEN[empty].set((name.into(), made.clone().unbind()));
    }
    made
}
