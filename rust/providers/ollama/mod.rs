//! Ollama's native API (`/api/chat`, `/api/generate`): newline-delimited JSON chunks; the last
//! has `done: true` with `prompt_eval_count` (input) and `eval_count` (output). A whole body
//! is that last chunk alone.

pub mod tree;

use serde_json::Value;

pub fn looks_like(value: &Value) -> bool {
    value.get("created_at").is_some() && value.get("done").is_some_and(Value::is_boolean)
}
