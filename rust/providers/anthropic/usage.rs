//! The Anthropic usage object: its fields read from a tree or in place, applied to the facts.

use serde_json::Value;

use crate::providers::facts::Facts;
use crate::record::{Iteration, Tokens};
use crate::scan::skim::{once, Skim};
use crate::scan::tree::{self as json, Object};

/// What the meter reads from an Anthropic usage object. Read from a tree
/// ([`UsageFields::from_object`]) or, without one, by the skim reader; applied to the record by
/// [`apply_usage`] either way.
#[derive(Debug, Default)]
pub struct UsageFields {
    pub input: Option<u64>,
    pub cache_creation: Option<u64>,
    pub cache_read: Option<u64>,
    pub output: Option<u64>,
    pub cache_creation_5m: Option<u64>,
    pub cache_creation_1h: Option<u64>,
    pub web_search: Option<u64>,
    pub web_fetch: Option<u64>,
    pub reasoning: Option<u64>,
    pub service_tier: Option<String>,
    pub speed: Option<String>,
    pub inference_geo: Option<String>,
    /// `usage.iterations` (compaction, advisor passes), each billed.
    pub iterations: Option<Vec<Iteration>>,
}

impl UsageFields {
    /// The counts, in the record's buckets (an iteration's).
    fn tokens(&self) -> Tokens {
        Tokens {
            input: self.input,
            cache_creation: self.cache_creation,
            cache_creation_5m: self.cache_creation_5m,
            cache_creation_1h: self.cache_creation_1h,
            cache_read: self.cache_read,
            output: self.output,
            reasoning: self.reasoning,
            web_search: self.web_search,
            web_fetch: self.web_fetch,
        }
    }

    /// The fields of a usage tree; a value that is not a token count is ignored with a note.
    pub fn from_object(usage: &Object, notes: &mut Vec<String>) -> Self {
        let mut count = |obj: &Object, key: &str| json::count(obj, key, notes);
        // In this order: the notes come out in it.
        let mut f = UsageFields {
            input: count(usage, "input_tokens"),
            cache_creation: count(usage, "cache_creation_input_tokens"),
            cache_read: count(usage, "cache_read_input_tokens"),
            output: count(usage, "output_tokens"),
            ..UsageFields::default()
        };
        if let Some(split) = json::object(usage, "cache_creation") {
            f.cache_creation_5m = count(split, "ephemeral_5m_input_tokens");
            f.cache_creation_1h = count(split, "ephemeral_1h_input_tokens");
        }
        if let Some(tools) = json::object(usage, "server_tool_use") {
            f.web_search = count(tools, "web_search_requests");
            f.web_fetch = count(tools, "web_fetch_requests");
        }
        if let Some(details) = json::object(usage, "output_tokens_details") {
            f.reasoning = count(details, "thinking_tokens");
        }
        f.service_tier = json::string(usage, "service_tier");
        f.speed = json::string(usage, "speed");
        f.inference_geo = json::string(usage, "inference_geo");
        if let Some(Value::Array(items)) = usage.get("iterations") {
            let items = items.iter().filter_map(Value::as_object);
            f.iterations = Some(items.map(|item| iteration(item, notes)).collect());
        }
        f
    }
}

/// One item of `usage.iterations`, in the record's buckets.
fn iteration(item: &Object, notes: &mut Vec<String>) -> Iteration {
    let tokens = UsageFields::from_object(item, notes).tokens();
    Iteration {
        kind: json::string(item, "type"),
        model: json::string(item, "model").filter(|m| !m.is_empty()),
        tokens,
        ..Iteration::default()
    }
}

/// Reads one bucket of an iteration's tokens.
type Bucket = fn(&Tokens) -> Option<u64>;

/// The billed totals over all iterations: each bucket that some iteration reports is their
/// sum (the top-level counts are the last `message` pass only); the others stay as reported.
fn iteration_totals(ex: &mut Facts, items: &[Iteration]) {
    let t = &mut ex.tokens;
    let slots: [(&mut Option<u64>, Bucket); 9] = [
        (&mut t.input, |t| t.input),
        (&mut t.cache_creation, |t| t.cache_creation),
        (&mut t.cache_creation_5m, |t| t.cache_creation_5m),
        (&mut t.cache_creation_1h, |t| t.cache_creation_1h),
        (&mut t.cache_read, |t| t.cache_read),
        (&mut t.output, |t| t.output),
        (&mut t.reasoning, |t| t.reasoning),
        (&mut t.web_search, |t| t.web_search),
        (&mut t.web_fetch, |t| t.web_fetch),
    ];
    for (slot, get) in slots {
        let mut values = items.iter().filter_map(|it| get(&it.tokens)).peekable();
        if values.peek().is_none() {
            continue;
        }
        match values.try_fold(0, json::sum) {
            Some(total) => *slot = Some(total),
            None => json::note(
                &mut ex.notes,
                "ignored iteration totals: a sum is not a token count".into(),
            ),
        }
    }
}

/// A usage object (cumulative counts: each field present replaces the last); it becomes the
/// raw usage.
pub fn read_usage(ex: &mut Facts, usage: Object, is_final: bool) {
    let fields = UsageFields::from_object(&usage, &mut ex.notes);
    apply_usage(ex, fields, is_final);
    ex.set_raw_usage(Value::Object(usage));
}

/// Applies a usage object's fields: each one present replaces the last.
pub fn apply_usage(ex: &mut Facts, f: UsageFields, is_final: bool) {
    let t = &mut ex.tokens;
    let fields = [
        (&mut t.input, f.input),
        (&mut t.cache_creation, f.cache_creation),
        (&mut t.cache_read, f.cache_read),
        (&mut t.output, f.output),
        (&mut t.cache_creation_5m, f.cache_creation_5m),
        (&mut t.cache_creation_1h, f.cache_creation_1h),
        (&mut t.web_search, f.web_search),
        (&mut t.web_fetch, f.web_fetch),
        (&mut t.reasoning, f.reasoning),
    ];
    for (slot, value) in fields {
        if value.is_some() {
            *slot = value;
        }
    }
    if f.service_tier.is_some() {
        ex.service_tier = f.service_tier;
    }
    if f.speed.is_some() {
        ex.speed = f.speed;
    }
    if f.inference_geo.is_some() {
        ex.billing.inference_geo = f.inference_geo;
    }
    if let Some(items) = f.iterations.filter(|items| !items.is_empty()) {
        iteration_totals(ex, &items);
        ex.billing.iterations = items;
    }
    if is_final {
        ex.final_usage = true;
        ex.output_final |= f.output.is_some();
    }
}

/// Bedrock's own counts on `message_stop`, used where the Anthropic fields are missing.
pub(crate) fn read_bedrock_metrics(ex: &mut Facts, metrics: &Object) {
    let notes = &mut ex.notes;
    let t = &mut ex.tokens;
    let mut fill = |slot: &mut Option<u64>, key: &str| {
        if slot.is_none() {
            *slot = json::count(metrics, key, notes);
        }
    };
    fill(&mut t.input, "inputTokenCount");
    fill(&mut t.cache_read, "cacheReadInputTokenCount");
    fill(&mut t.cache_creation, "cacheWriteInputTokenCount");
    if !ex.output_final {
        if let Some(out) = json::count(metrics, "outputTokenCount", notes) {
            t.output = Some(out);
            ex.output_final = true;
        }
    }
    ex.final_usage |= ex.output_final;
}

/// A usage object read in place, without a tree (its text is kept as the raw usage, parsed
/// only if it is the last): the fields `UsageFields::from_object` reads, when each is `null`, a plain count or (the
/// tier and speed) a plain string, and no name comes twice; `None` otherwise (a value to note,
/// a repeated name, of which the tree keeps only the last), leaving the event to the full
/// parse. Read into `f`, a fresh one.
pub(super) fn usage_fields(skim: &mut Skim, f: &mut UsageFields) -> Option<()> {
    fields_in_place(skim, f, None)
}

/// [`usage_fields`], for a usage object (`item` is `None`) or an item of its `iterations`
/// (whose `type` and `model` go to `item`, and whose own `iterations` must be `null`), into
/// `f`: filled where it is, not moved (240 bytes: each move a copy).
fn fields_in_place<'a>(
    skim: &mut Skim<'a>,
    f: &mut UsageFields,
    mut item: Option<&mut ItemNames<'a>>,
) -> Option<()> {
    let mut seen = [false; 13];
    skim.object(|skim, key| match key {
        "input_tokens" => once(&mut f.input, &mut seen[0], skim.null_or_count()?),
        "cache_creation_input_tokens" => {
            once(&mut f.cache_creation, &mut seen[1], skim.null_or_count()?)
        }
        "cache_read_input_tokens" => once(&mut f.cache_read, &mut seen[2], skim.null_or_count()?),
        "output_tokens" => once(&mut f.output, &mut seen[3], skim.null_or_count()?),
        "cache_creation" => {
            once(&mut None::<()>, &mut seen[4], Some(()))?;
            let mut seen = [false; 2];
            skim.object_or_skip(|skim, key| match key {
                "ephemeral_5m_input_tokens" => once(
                    &mut f.cache_creation_5m,
                    &mut seen[0],
                    skim.null_or_count()?,
                ),
                "ephemeral_1h_input_tokens" => once(
                    &mut f.cache_creation_1h,
                    &mut seen[1],
                    skim.null_or_count()?,
                ),
                _ => skim.skip_value(),
            })
        }
        "server_tool_use" => {
            once(&mut None::<()>, &mut seen[5], Some(()))?;
            let mut seen = [false; 2];
            skim.object_or_skip(|skim, key| match key {
                "web_search_requests" => {
                    once(&mut f.web_search, &mut seen[0], skim.null_or_count()?)
                }
                "web_fetch_requests" => once(&mut f.web_fetch, &mut seen[1], skim.null_or_count()?),
                _ => skim.skip_value(),
            })
        }
        "output_tokens_details" => {
            once(&mut None::<()>, &mut seen[6], Some(()))?;
            let mut seen = false;
            skim.object_or_skip(|skim, key| match key {
                "thinking_tokens" => once(&mut f.reasoning, &mut seen, skim.null_or_count()?),
                _ => skim.skip_value(),
            })
        }
        "service_tier" => {
            let tier = skim.null_or_plain()?.map(str::to_owned);
            once(&mut f.service_tier, &mut seen[7], tier)
        }
        "speed" => {
            let speed = skim.null_or_plain()?.map(str::to_owned);
            once(&mut f.speed, &mut seen[8], speed)
        }
        "inference_geo" => {
            let geo = skim.null_or_plain()?.map(str::to_owned);
            once(&mut f.inference_geo, &mut seen[9], geo)
        }
        "type" | "model" if item.is_some() => {
            let names = item.as_deref_mut()?;
            let (slot, at) = match key {
                "type" => (&mut names.0, 10),
                _ => (&mut names.1, 11),
            };
            once(slot, &mut seen[at], skim.null_or_plain()?)
        }
        "iterations" if item.is_some() => skim.expect_null(),
        // Several billed passes: objects read as the tree reads them (anything else skipped).
        "iterations" => {
            let items = if skim.expect_null().is_some() {
                None
            } else {
                Some(iterations_in_place(skim)?)
            };
            once(&mut f.iterations, &mut seen[12], items)
        }
        _ => skim.skip_value(),
    })
}

/// An iteration's `type` and `model`, where they are strings.
type ItemNames<'a> = (Option<&'a str>, Option<&'a str>);

/// `usage.iterations`, an array, as [`iteration`] reads each object in it.
fn iterations_in_place(skim: &mut Skim) -> Option<Vec<Iteration>> {
    let mut items = Vec::new();
    skim.array(|skim| {
        if !skim.at_object() {
            return skim.skip_value();
        }
        let mut names = (None, None);
        let mut f = UsageFields::default();
        fields_in_place(skim, &mut f, Some(&mut names))?;
        items.push(Iteration {
            kind: names.0.map(str::to_owned),
            model: names.1.filter(|m| !m.is_empty()).map(str::to_owned),
            tokens: f.tokens(),
            ..Iteration::default()
        });
        Some(())
    })?;
    Some(items)
}
