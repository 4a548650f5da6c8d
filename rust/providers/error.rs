//! The error object every provider uses: `{"error": {"type" | "status" | "code", "message"}}`.
//! Read from a serde tree, or by the skim reader where a provider's reader meets one.

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::scan::skim::{once, Skim};
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
fn set_error(ex: &mut Facts, error_type: Option<&str>, message: Option<&str>) {
    ex.set_error(
        error_type.unwrap_or("error"),
        message
            .unwrap_or("the provider reported an error")
            .to_owned(),
    );
}

/// An error object as [`read_error`] reads it, read by [`read_error_object`]: the first of
/// `type`, `status` and `code` that is a string or a number, and the message.
#[derive(Default, Clone, Copy)]
pub struct ErrorSaid<'a> {
    kinds: [Option<&'a str>; 3],
    message: Option<&'a str>,
}

/// Reads an error object; declines (`None`) what only the tree reads the same: a string with
/// escapes, a number other than a plain non-negative integer (serde's text of it may differ).
pub fn read_error_object<'a>(skim: &mut Skim<'a>) -> Option<ErrorSaid<'a>> {
    let mut said = ErrorSaid::default();
    let mut seen = [false; 4];
    skim.object(|skim, name| {
        let at = match name {
            "type" => 0,
            "status" => 1,
            "code" => 2,
            "message" => 3,
            _ => return skim.skip_value(),
        };
        let value = if skim.at_string() {
            skim.null_or_plain()?
        } else if at == 3 {
            // A message that is not a string: none.
            skim.skip_value()?;
            None
        } else {
            // A kind that is neither a string nor a number (`null` too): none.
            match skim.number_or_skip()? {
                Some(span) => {
                    let digits = skim.bytes().get(span.0..span.1)?;
                    let plain = digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit);
                    Some(skim.text_at(span).filter(|_| plain)?)
                }
                None => None,
            }
        };
        match at {
            3 => once(&mut said.message, &mut seen[3], value),
            _ => once(&mut said.kinds[at], &mut seen[at], value),
        }
    })?;
    Some(said)
}

impl ErrorSaid<'_> {
    /// Sets the error as [`read_error`] sets it.
    pub fn apply(&self, ex: &mut Facts) {
        let kind = self.kinds.into_iter().flatten().next();
        set_error(ex, kind, self.message);
    }
}
