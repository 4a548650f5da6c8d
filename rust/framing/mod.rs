//! The framings other than the event stream: newline-delimited JSON (Ollama).

pub mod ndjson;
