//! What OpenAI-compatible providers bill beyond the token counts, from their usage object: a
//! cost they report (OpenRouter `cost`, Perplexity `cost.total_cost`, xAI `cost_in_usd_ticks`),
//! server-tool requests (OpenRouter `server_tool_use_details`) and a tier inside usage
//! (Mistral `service_tier`).

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::scan::skim::{once, Skim};
use crate::scan::tree::{self as json, Object};

/// xAI bills in ticks of 1e-10 USD.
const TICK_DIGITS: usize = 10;

/// Where server-tool requests are counted: (object, count) names, in the order read (the last
/// one given wins).
const TOOLS: [(&str, &str); 3] = [
    ("server_tool_use_details", "web_search_requests"), // OpenRouter
    ("server_tool_use", "web_search_requests"),
    ("server_side_tool_usage_details", "web_search_calls"), // xAI
];

/// What a usage object bills beyond the token counts, from its tree or read in place.
#[derive(Debug, Default)]
pub(super) struct Extras<'a> {
    cost: Option<String>,
    ticks: Option<u64>,
    tools: [Option<u64>; 3],
    tier: Option<&'a str>,
}

/// [`Extras`] read in place: the cost and tier as spans of the text (a chunk read from a
/// stream's prefix keeps them as spans of the prefix's bytes).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SkimExtras {
    cost: Option<(usize, usize)>,
    ticks: Option<u64>,
    tools: [Option<u64>; 3],
    tier: Option<(usize, usize)>,
    seen: [bool; 6],
}

pub(super) fn read_extras(ex: &mut Facts, usage: &Object) {
    let cost = match usage.get("cost") {
        Some(Value::Object(cost)) => cost.get("total_cost").and_then(decimal_text),
        Some(value) => decimal_text(value),
        None => None,
    };
    let tools = TOOLS.map(|(key, name)| {
        json::object(usage, key).and_then(|tools| json::count(tools, name, &mut ex.notes))
    });
    let extras = Extras {
        cost,
        ticks: usage.get("cost_in_usd_ticks").and_then(Value::as_u64),
        tools,
        tier: usage.get("service_tier").and_then(Value::as_str),
    };
    apply(ex, extras);
}

pub(super) fn apply(ex: &mut Facts, extras: Extras) {
    if let Some(cost) = extras.cost.or_else(|| extras.ticks.map(ticks_text)) {
        ex.billing.provider_cost = Some(cost);
    }
    if let Some(n) = extras.tools.into_iter().flatten().last() {
        ex.tokens.web_search = Some(n);
    }
    if let Some(tier) = extras.tier.filter(|t| !t.is_empty()) {
        ex.service_tier = Some(tier.to_owned());
    }
}

impl SkimExtras {
    /// Reads the value of `name` if it is one of the extras (`Some(true)`), as `read_extras`
    /// reads it from the tree; `Some(false)` leaves the value unread; `None` declines (a name
    /// read twice, a request count to note, a tier with escapes).
    pub(super) fn read(&mut self, skim: &mut Skim, name: &str) -> Option<bool> {
        let seen = &mut self.seen;
        match name {
            "cost" => {
                let cost = if skim.at_object() {
                    let (mut total, mut seen) = (None, false);
                    skim.object(|skim, name| match name {
                        "total_cost" => once(&mut total, &mut seen, skim.number_or_skip()?),
                        _ => skim.skip_value(),
                    })?;
                    total
                } else {
                    skim.number_or_skip()?
                };
                once(&mut self.cost, &mut seen[0], cost)?;
            }
            "cost_in_usd_ticks" => {
                let ticks = skim
                    .number_or_skip()?
                    .and_then(|at| number(skim.bytes(), at));
                once(
                    &mut self.ticks,
                    &mut seen[1],
                    ticks.as_ref().and_then(Value::as_u64),
                )?;
            }
            "service_tier" => {
                let tier = if skim.at_string() {
                    let bytes = skim.bytes();
                    skim.null_or_plain()?.map(|tier| {
                        let start = tier.as_ptr() as usize - bytes.as_ptr() as usize;
                        (start, start + tier.len())
                    })
                } else {
                    skim.skip_value()?;
                    None
                };
                once(&mut self.tier, &mut seen[2], tier)?;
            }
            _ => {
                let Some(at) = TOOLS.iter().position(|&(key, _)| key == name) else {
                    return Some(false);
                };
                let count = TOOLS[at].1;
                let mut n = None;
                let mut seen_count = false;
                skim.object_or_skip(|skim, name| match name {
                    _ if name == count => once(&mut n, &mut seen_count, skim.null_or_count()?),
                    _ => skim.skip_value(),
                })?;
                once(&mut self.tools[at], &mut seen[3 + at], n)?;
            }
        }
        Some(true)
    }

    /// The extras, their spans in what `skim` read.
    pub(super) fn resolve<'a>(self, skim: &Skim<'a>) -> Extras<'a> {
        Extras {
            cost: self
                .cost
                .and_then(|at| number(skim.bytes(), at))
                .and_then(|v| decimal_text(&v)),
            ticks: self.ticks,
            tools: self.tools,
            tier: self.tier.and_then(|span| skim.text_at(span)),
        }
    }
}

/// The number at `data[start..end]` (a plain decimal the skim reader checked), as serde_json
/// reads it.
fn number(data: &[u8], (start, end): (usize, usize)) -> Option<Value> {
    serde_json::from_slice(data.get(start..end)?).ok()
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
