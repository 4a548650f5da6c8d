//! Reading provider JSON defensively: token counts must be non-negative integers of a sane
//! size; anything else is rejected with a note instead of being trusted or wrapped.

use serde_json::{Map, Value};

pub type Object = Map<String, Value>;

/// No single request bills a trillion tokens: a larger count is corrupt, not a count.
pub const MAX_COUNT: u64 = 1_000_000_000_000;

/// Parses one event's data (or a whole body). Invalid UTF-8 is replaced first, so both
/// backends read the same text. Non-finite numbers (`1e309`) make the document invalid.
pub fn parse(data: &[u8]) -> Option<Value> {
    // The usual valid text is checked by `from_utf8`, which skips through ASCII a word at a time.
    match std::str::from_utf8(data) {
        Ok(text) => serde_json::from_str(text).ok(),
        Err(_) => serde_json::from_str(&String::from_utf8_lossy(data)).ok(),
    }
}

/// A token count at `obj[key]`: `Some` for a valid count, `None` when absent or null, and a
/// note (the field is then ignored) when the value is not a count.
pub fn count(obj: &Object, key: &str, notes: &mut Vec<String>) -> Option<u64> {
    match obj.get(key)? {
        Value::Null => None,
        value => match value.as_u64() {
            Some(v) if v <= MAX_COUNT => Some(v),
            _ => {
                note(notes, format!("ignored {key}: not a token count"));
                None
            }
        },
    }
}

/// Adds a note once: a stream that repeats a bad value on every chunk must not grow the list.
pub fn note(notes: &mut Vec<String>, message: String) {
    if !notes.contains(&message) {
        notes.push(message);
    }
}

/// A sum of counts that is still a count (`None` past `MAX_COUNT`).
pub fn sum(a: u64, b: u64) -> Option<u64> {
    a.checked_add(b).filter(|&v| v <= MAX_COUNT)
}

pub fn string(obj: &Object, key: &str) -> Option<String> {
    obj.get(key)?.as_str().map(str::to_owned)
}

pub fn object<'a>(obj: &'a Object, key: &str) -> Option<&'a Object> {
    obj.get(key)?.as_object()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pure twin mirrors these number rules (`scan.tree._int_as_native`).
    #[test]
    fn number_rules_the_twin_mirrors() {
        assert!(parse(b"-0").unwrap().is_f64());
        assert!(parse(b"18446744073709551615").unwrap().is_u64());
        assert!(parse(b"18446744073709551616").unwrap().is_f64());
        assert!(parse(b"-9223372036854775808").unwrap().is_i64());
        assert!(parse(b"1e309").is_none());
        assert!(parse(b"NaN").is_none());
        assert!(parse(
            &[b'['; 127]
                .iter()
                .chain([b']'; 127].iter())
                .copied()
                .collect::<Vec<_>>()
        )
        .is_some());
        assert!(parse(
            &[b'['; 128]
                .iter()
                .chain([b']'; 128].iter())
                .copied()
                .collect::<Vec<_>>()
        )
        .is_none());
        assert!(parse(br#""\ud800""#).is_none());
    }
}
