//! What OpenAI-compatible providers bill beyond the token counts, from their usage object: a
//! cost they report (OpenRouter `cost`, Perplexity `cost.total_cost`, xAI `cost_in_usd_ticks`),
//! server-tool requests (OpenRouter `server_tool_use_details`) and a tier inside usage
//! (Mistral `service_tier`).

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::scan::tree::{self as json, Object};

/// xAI bills in ticks of 1e-10 USD.
const TICK_DIGITS: usize = 10;

pub(super) fn read_extras(ex: &mut Facts, usage: &Object) {
    let cost = match usage.get("cost") {
        Some(Value::Object(cost)) => cost.get("total_cost").and_then(decimal_text),
        Some(value) => decimal_text(value),
        None => None,
    };
    let ticks = usage.get("cost_in_usd_ticks").and_then(Value::as_u64);
    if let Some(cost) = cost.or_else(|| ticks.map(ticks_text)) {
        ex.billing.provider_cost = Some(cost);
    }
    let tools = [
        ("server_tool_use_details", "web_search_requests"), // OpenRouter
        ("server_tool_use", "web_search_requests"),
        ("server_side_tool_usage_details", "web_search_calls"), // xAI
    ];
    for (key, name) in tools {
        if let Some(tools) = json::object(usage, key) {
            if let Some(n) = json::count(tools, name, &mut ex.notes) {
                ex.tokens.web_search = Some(n);
            }
        }
    }
    if let Some(tier) = json::string(usage, "service_tier").filter(|t| !t.is_empty()) {
        ex.service_tier = Some(tier);
    }
}

/// A non-negative JSON number as plain decimal text (the shortest digits that read back as
/// the same double, no exponent): the pure twin writes the same text.
pub(crate) fn decimal_text(value: &Value) -> Option<String> {
    if let Some(n) = value.as_u64() {
        return Some(n.to_string());
    }
    let f = value.as_f64().filter(|f| f.is_finite() && *f >= 0.0)?;
    Some(if f == 0.0 { "0".into() } else { format!("{f}") })
}

/// A count of 1e-10 USD ticks as decimal text of USD.
pub(crate) fn ticks_text(ticks: u64) -> String {
    let text = format!("{ticks:0>width$}", width = TICK_DIGITS + 1);
    let (units, fraction) = text.split_at(text.len() - TICK_DIGITS);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        units.to_owned()
    } else {
        format!("{units}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_tenths_of_a_nano_dollar() {
        assert_eq!(ticks_text(1_466_250), "0.000146625");
        assert_eq!(ticks_text(0), "0");
        assert_eq!(ticks_text(25_000_000_000), "2.5");
        assert_eq!(ticks_text(10_000_000_000), "1");
    }

    #[test]
    fn decimal_text_has_no_exponent() {
        let text = |s: &str| decimal_text(&serde_json::from_str(s).unwrap());
        assert_eq!(text("0.0133176").as_deref(), Some("0.0133176"));
        assert_eq!(text("1e-5").as_deref(), Some("0.00001"));
        assert_eq!(text("5.0").as_deref(), Some("5"));
        assert_eq!(text("0").as_deref(), Some("0"));
        assert_eq!(text("-1"), None);
        assert_eq!(text("\"1\""), None);
    }
}
