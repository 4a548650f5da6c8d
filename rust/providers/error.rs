//! The error object every provider uses: `{"error": {"type" | "status" | "code", "message"}}`.

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::scan::tree::{self, Object};

pub fn read_error(ex: &mut Facts, obj: &Object) {
    let error = tree::object(obj, "error");
    let field = |key| error.and_then(|e| e.get(key)).filter(|v| !v.is_null());
    let error_type = ["type", "status", "code"]
        .into_iter()
        .find_map(|key| match field(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let message = field("message").and_then(Value::as_str).map(str::to_owned);
    ex.set_error(
        error_type.as_deref().unwrap_or("error"),
        message.unwrap_or_else(|| "the provider reported an error".to_owned()),
    );
}
