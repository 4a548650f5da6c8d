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
    let message = field("message").and_then(Value::as_str);
    set_error(ex, error_type.as_deref(), message);
}

/// What an error object says, with the defaults of a missing kind or message.
pub fn set_error(ex: &mut Facts, error_type: Option<&str>, message: Option<&str>) {
    ex.set_error(
        error_type.unwrap_or("error"),
        message
            .unwrap_or("the provider reported an error")
            .to_owned(),
    );
}
