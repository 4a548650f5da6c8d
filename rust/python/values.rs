//! JSON values, and usage objects kept as JSON text, as the plain Python values `json.loads`
//! gives.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;

/// A JSON value as the plain Python value `json.loads` would give.
pub(super) fn to_python<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
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
pub(super) fn json_text_to_python<'py>(
    py: Python<'py>,
    text: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
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
        // Room for a usage object's keys at once (growing the vector cost more than the sort).
        let mut entries = Vec::with_capacity(16);
        while let Some(key) = map.next_key_seed(Key)? {
            entries.push((key, map.next_value_seed(self)?));
        }
        // A stable sort: of equal keys the last is set last, so its value is the one kept.
        // A sorted object (one key, as Anthropic's final usage) is left as it is.
        if entries.windows(2).any(|pair| pair[0].0 > pair[1].0) {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
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
