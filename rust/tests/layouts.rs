//! Differential: each kind of event (deltas of every kind, the usage-carrying events, the quiet
//! events; OpenAI content, tool-call and usage chunks) written in random layouts (key order,
//! white space, unknown fields anywhere, escapes in strings and names), over random SSE
//! framings (with or without `event:` and `id:` lines, `data:` with or without the space,
//! comments, LF, CRLF or CR) and fed in random chunks: the record is the one that parsing every
//! event's data with serde_json and reading the tree gives.

use super::support::{feed_chunks, Rng};
use crate::meter::DEFAULT_MAX_EVENT_BYTES;
use crate::providers::facts::{Facts, Provider};
use crate::providers::{self, anthropic, error, gemini, openai_chat, openai_responses};
use crate::record::{BodyKind, RawRecord};
use crate::scan::tree;

/// A JSON value whose layout the writer chooses.
#[derive(Clone)]
pub(super) enum J {
    Obj(Vec<(&'static str, J)>),
    Arr(Vec<J>),
    Str(String),
    Num(String),
    Raw(&'static str),
}

pub(super) fn s(text: &str) -> J {
    J::Str(text.to_owned())
}

pub(super) fn n(v: u64) -> J {
    J::Num(v.to_string())
}

pub(super) const NULL: J = J::Raw("null");

/// How one stream writes its JSON.
#[derive(Clone, Copy)]
pub(super) struct Style {
    pub(super) shuffle: bool,
    pub(super) space: u8,
    pub(super) unknown: bool,
    pub(super) escape: bool,
}

fn blank(rng: &mut Rng, style: &Style, out: &mut String) {
    if style.space > 0 && rng.below(3) == 0 {
        for _ in 0..=rng.below(usize::from(style.space)) {
            out.push([' ', '\t', ' ', '\n', '\r'][rng.below(5)]);
        }
    }
}

fn write_str(rng: &mut Rng, style: &Style, text: &str, out: &mut String) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '/' if style.escape && rng.below(2) == 0 => out.push_str("\\/"),
            c if style.escape && rng.below(8) == 0 => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn unknown_value(rng: &mut Rng) -> J {
    match rng.below(6) {
        0 => s("unknown \u{e9}\u{4f60} value"),
        1 => n(rng.below(1000) as u64),
        2 => J::Raw("-12.5"),
        3 => J::Arr(vec![NULL, J::Raw("true"), J::Obj(vec![("k", s("v"))])]),
        4 => J::Obj(vec![("filtered", J::Raw("false")), ("severity", s("safe"))]),
        _ => NULL,
    }
}

fn write(rng: &mut Rng, style: &Style, value: &J, out: &mut String) {
    match value {
        J::Str(text) => write_str(rng, style, text, out),
        J::Num(digits) => out.push_str(digits),
        J::Raw(raw) => out.push_str(raw),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                blank(rng, style, out);
                write(rng, style, item, out);
                blank(rng, style, out);
            }
            out.push(']');
        }
        J::Obj(fields) => {
            let mut fields = fields.clone();
            if style.unknown && rng.below(2) == 0 {
                let at = rng.below(fields.len() + 1);
                fields.insert(at, ("x_unknown", unknown_value(rng)));
            }
            if style.shuffle {
                for i in (1..fields.len()).rev() {
                    fields.swap(i, rng.below(i + 1));
                }
            }
            out.push('{');
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                blank(rng, style, out);
                // A name with an escape is the same name to serde_json.
                if style.escape && rng.below(16) == 0 {
                    write_str(
                        rng,
                        &Style {
                            escape: true,
                            ..*style
                        },
                        name,
                        out,
                    );
                } else {
                    out.push_str(&format!("\"{name}\""));
                }
                blank(rng, style, out);
                out.push(':');
                blank(rng, style, out);
                write(rng, style, value, out);
                blank(rng, style, out);
            }
            out.push('}');
        }
    }
}

pub(super) const TEXTS: [&str; 8] = [
    "Hello, world",
    "",
    "a \"quoted\" word\\ and a\nnew line\tand tab",
    "\u{4f60}\u{597d}\u{4e16}\u{754c}, caf\u{e9} \u{1f600}",
    "words_and 42 digits and a longer run of plain text past thirty-two bytes",
    "{\"query\": \"weather\", \"limit\": 3}",
    "x",
    "/path/to/file",
];

pub(super) fn usage(rng: &mut Rng) -> J {
    let mut fields = vec![
        ("input_tokens", n(rng.below(5000) as u64)),
        ("output_tokens", n(rng.below(900) as u64)),
    ];
    if rng.below(2) == 0 {
        fields.push(("cache_read_input_tokens", n(rng.below(9000) as u64)));
        fields.push(("cache_creation_input_tokens", NULL));
        fields.push((
            "cache_creation",
            J::Obj(vec![
                ("ephemeral_5m_input_tokens", n(rng.below(99) as u64)),
                ("ephemeral_1h_input_tokens", n(0)),
            ]),
        ));
        fields.push(("service_tier", s("standard")));
    }
    J::Obj(fields)
}

/// An Anthropic stream: (event type, data) per event.
pub(super) fn anthropic_events(rng: &mut Rng) -> Vec<(&'static str, J)> {
    let mut out = vec![(
        "message_start",
        J::Obj(vec![
            ("type", s("message_start")),
            (
                "message",
                J::Obj(vec![
                    ("id", s("msg_01")),
                    ("type", s("message")),
                    ("role", s("assistant")),
                    ("content", J::Arr(vec![])),
                    ("model", s("claude-sonnet-4-5")),
                    ("stop_reason", NULL),
                    ("usage", usage(rng)),
                ]),
            ),
        ]),
    )];
    let blocks = [
        ("text", "text_delta", "text"),
        ("thinking", "thinking_delta", "thinking"),
        ("tool_use", "input_json_delta", "partial_json"),
    ];
    for index in 0..1 + rng.below(3) {
        let (block, delta_type, key) = blocks[rng.below(blocks.len())];
        let mut start = vec![("type", s(block))];
        match block {
            "tool_use" => {
                start.push(("id", s("toolu_1")));
                start.push(("name", s("get_weather")));
                start.push(("input", J::Obj(vec![])));
            }
            _ => start.push((block, s(""))),
        }
        let index_j = n(index as u64);
        out.push((
            "content_block_start",
            J::Obj(vec![
                ("type", s("content_block_start")),
                ("index", index_j.clone()),
                ("content_block", J::Obj(start)),
            ]),
        ));
        for _ in 0..1 + rng.below(6) {
            let text = TEXTS[rng.below(TEXTS.len())];
            out.push((
                "content_block_delta",
                J::Obj(vec![
                    ("type", s("content_block_delta")),
                    ("index", index_j.clone()),
                    (
                        "delta",
                        J::Obj(vec![("type", s(delta_type)), (key, s(text))]),
                    ),
                ]),
            ));
            if rng.below(5) == 0 {
                out.push(("ping", J::Obj(vec![("type", s("ping"))])));
            }
        }
        if block == "thinking" {
            out.push((
                "content_block_delta",
                J::Obj(vec![
                    ("type", s("content_block_delta")),
                    ("index", index_j.clone()),
                    (
                        "delta",
                        J::Obj(vec![
                            ("type", s("signature_delta")),
                            ("signature", s("EqQBCgIYAhIM")),
                        ]),
                    ),
                ]),
            ));
        }
        out.push((
            "content_block_stop",
            J::Obj(vec![("type", s("content_block_stop")), ("index", index_j)]),
        ));
    }
    out.push((
        "message_delta",
        J::Obj(vec![
            ("type", s("message_delta")),
            (
                "delta",
                J::Obj(vec![
                    ("stop_reason", s("end_turn")),
                    ("stop_sequence", NULL),
                ]),
            ),
            ("usage", usage(rng)),
        ]),
    ));
    out.push(("message_stop", J::Obj(vec![("type", s("message_stop"))])));
    out
}

/// An OpenAI Chat stream: content, tool-call and usage chunks, with `obfuscation` or Azure's
/// filter results when `extra` says so.
fn openai_events(rng: &mut Rng, extra: usize) -> Vec<(&'static str, J)> {
    let head = |choices: J, usage: J, rng: &mut Rng| {
        let mut fields = vec![
            ("id", s("chatcmpl-1")),
            ("object", s("chat.completion.chunk")),
            ("created", n(1_769_279_197)),
            ("model", s("gpt-4.1")),
            ("service_tier", s("default")),
            ("system_fingerprint", s("fp_a9")),
            ("choices", choices),
            ("usage", usage),
        ];
        if extra == 1 {
            let pad = "abcdefghijklmnop"[..1 + rng.below(15)].to_owned();
            fields.push(("obfuscation", J::Str(pad)));
        }
        J::Obj(fields)
    };
    let choice = |delta: J, finish: J| {
        let mut fields = vec![
            ("index", n(0)),
            ("delta", delta),
            ("logprobs", NULL),
            ("finish_reason", finish),
        ];
        if extra == 2 {
            let filter = J::Obj(vec![("filtered", J::Raw("false")), ("severity", s("safe"))]);
            fields.push(("content_filter_results", J::Obj(vec![("hate", filter)])));
        }
        J::Arr(vec![J::Obj(fields)])
    };
    let mut out = Vec::new();
    if extra == 2 && rng.below(2) == 0 {
        // Azure's first chunk: the prompt's filter results, an empty id, model and object.
        let filter = J::Obj(vec![("filtered", J::Raw("false")), ("severity", s("safe"))]);
        let results = J::Obj(vec![
            ("prompt_index", n(0)),
            ("content_filter_results", J::Obj(vec![("hate", filter)])),
        ]);
        out.push((
            "",
            J::Obj(vec![
                ("choices", J::Arr(vec![])),
                ("created", n(0)),
                ("id", s("")),
                ("model", s("")),
                ("object", s("")),
                ("prompt_filter_results", J::Arr(vec![results])),
            ]),
        ));
    }
    out.push((
        "",
        head(
            choice(
                J::Obj(vec![("role", s("assistant")), ("content", s(""))]),
                NULL,
            ),
            NULL,
            rng,
        ),
    ));
    for _ in 0..1 + rng.below(8) {
        let text = TEXTS[rng.below(TEXTS.len())];
        let delta = match rng.below(5) {
            0 => J::Obj(vec![("reasoning_content", s(text))]),
            // Mistral: content as an array of parts, thinking parts among them.
            4 => J::Obj(vec![("content", content_parts(rng, text))]),
            1 => J::Obj(vec![(
                "tool_calls",
                J::Arr(vec![J::Obj(vec![
                    ("index", n(0)),
                    ("function", J::Obj(vec![("arguments", s(text))])),
                ])]),
            )]),
            _ => J::Obj(vec![("content", s(text))]),
        };
        out.push(("", head(choice(delta, NULL), NULL, rng)));
    }
    out.push(("", head(choice(J::Obj(vec![]), s("stop")), NULL, rng)));
    let mut usage = vec![
        ("prompt_tokens", n(rng.below(9000) as u64 + 100)),
        ("completion_tokens", n(rng.below(900) as u64)),
        ("total_tokens", n(10_000)),
        (
            "prompt_tokens_details",
            J::Obj(vec![("cached_tokens", n(64)), ("audio_tokens", n(0))]),
        ),
        (
            "completion_tokens_details",
            J::Obj(vec![("reasoning_tokens", n(rng.below(50) as u64))]),
        ),
    ];
    if rng.below(8) == 0 {
        usage[1].1 = s("12"); // a value to note
    }
    gateway_fields(rng, &mut usage, "prompt_tokens_details");
    let usage = J::Obj(usage);
    // Where compatible servers put it: Groq under `x_groq`, Moonshot in a choice (and again at
    // the top level, or not), now and then beside a top-level one (which wins).
    let other = J::Obj(vec![("prompt_tokens", n(7)), ("completion_tokens", n(1))]);
    let (top, groq, in_choice) = match rng.below(7) {
        0 => (NULL, Some(usage), None),
        1 => (NULL, None, Some(usage)),
        2 => (usage, Some(other.clone()), Some(other.clone())),
        3 => (usage, None, Some(other.clone())),
        4 => (NULL, Some(usage), Some(other.clone())),
        _ => (usage, None, None),
    };
    let choices = match in_choice {
        Some(usage) => J::Arr(vec![
            J::Obj(vec![
                ("index", n(0)),
                ("delta", J::Obj(vec![])),
                ("finish_reason", NULL),
            ]),
            J::Obj(vec![("index", n(1)), ("usage", n(3))]),
            J::Obj(vec![("index", n(2)), ("usage", usage)]),
            J::Obj(vec![("index", n(3)), ("usage", other)]),
        ]),
        None => J::Arr(vec![]),
    };
    let mut last = head(choices, top, rng);
    if let (Some(usage), J::Obj(fields)) = (groq, &mut last) {
        let x_groq = J::Obj(vec![("id", s("req_01")), ("usage", usage)]);
        fields.push(("x_groq", x_groq));
    }
    out.push(("", last));
    out
}

/// What gateways and compatible servers add to an OpenAI usage object (Chat or Responses,
/// whose input details are `details`), a random few of them in a random order: costs, request
/// counts, tiers, cache counts under other names, unknown fields and nested objects, now and
/// then a `null` count, a name given twice or a count to note.
pub(super) fn gateway_fields(rng: &mut Rng, usage: &mut Vec<(&'static str, J)>, details: &str) {
    let tools = |rng: &mut Rng, name: &'static str| {
        let count =
            [n(rng.below(5) as u64), NULL, s("2")][rng.below(6) / 4 * (1 + rng.below(2))].clone();
        let mut fields = vec![(name, count), ("x_calls", n(0))];
        if rng.below(2) == 0 {
            fields.push((
                "nested",
                J::Obj(vec![("deep", J::Arr(vec![J::Obj(vec![(name, n(9))])]))]),
            ));
        }
        J::Obj(fields)
    };
    for _ in 0..rng.below(5) {
        let field = match rng.below(16) {
            0 => (
                "cost",
                [
                    J::Raw("0.00501"),
                    J::Raw("0"),
                    J::Raw("-1"),
                    J::Raw("12"),
                    s("0.1"),
                ][rng.below(5)]
                .clone(),
            ),
            1 => (
                "cost",
                J::Obj(vec![
                    ("input_tokens_cost", J::Raw("0.00001")),
                    (
                        "total_cost",
                        [J::Raw("0.005"), NULL, J::Raw("3")][rng.below(3)].clone(),
                    ),
                    ("parts", J::Obj(vec![("total_cost", J::Raw("9"))])),
                ]),
            ),
            2 => (
                "cost_in_usd_ticks",
                [n(1_466_250), J::Raw("-5"), J::Raw("1.5"), s("7")][rng.below(4)].clone(),
            ),
            3 => ("server_tool_use_details", tools(rng, "web_search_requests")),
            4 => ("server_tool_use", tools(rng, "web_search_requests")),
            5 => (
                "server_side_tool_usage_details",
                tools(rng, "web_search_calls"),
            ),
            6 => ("prompt_cache_hit_tokens", n(rng.below(64) as u64)),
            7 => (
                "cached_tokens",
                [n(rng.below(64) as u64), NULL][rng.below(2)].clone(),
            ),
            8 => ("cache_creation_input_tokens", n(rng.below(64) as u64)),
            9 => (
                "service_tier",
                [s("priority"), s(""), n(3), J::Raw(r#""fl\u00e9x""#)][rng.below(4)].clone(),
            ),
            10 => ("is_byok", J::Raw("false")),
            11 => (
                "cost_details",
                J::Obj(vec![(
                    "upstream_inference_cost",
                    J::Obj(vec![("prompt", J::Raw("0.25"))]),
                )]),
            ),
            12 => ("search_context_size", s("low")),
            13 => ("total_tokens", n(rng.below(10_000) as u64)), // maybe a name twice
            _ => ("queue_time", J::Raw("0.019675652")),
        };
        let at = rng.below(usage.len() + 1);
        usage.insert(at, field);
    }
    // The input details with more than the counts read, or `null`.
    if let Some((_, J::Obj(fields))) = usage.iter_mut().find(|(name, _)| *name == details) {
        match rng.below(4) {
            0 => fields.extend([
                ("text_tokens", n(12)),
                ("image_tokens", n(0)),
                ("cache_write_tokens", n(rng.below(9) as u64)),
            ]),
            1 => fields.push(("audio_tokens", NULL)),
            _ => {}
        }
    }
}

/// A content array as Mistral streams it: text parts and thinking parts (the thinking an
/// array of text parts, or a string), now and then an empty thinking array or a part that is
/// not an object.
fn content_parts(rng: &mut Rng, text: &str) -> J {
    let mut parts = Vec::new();
    for _ in 0..1 + rng.below(2) {
        parts.push(match rng.below(6) {
            0 => J::Obj(vec![("type", s("text")), ("text", s(text))]),
            1 => J::Obj(vec![("type", s("thinking")), ("thinking", s(text))]),
            2 => J::Obj(vec![("type", s("thinking")), ("thinking", J::Arr(vec![]))]),
            3 => NULL,
            _ => J::Obj(vec![
                ("type", s("thinking")),
                (
                    "thinking",
                    J::Arr(vec![J::Obj(vec![("type", s("text")), ("text", s(text))])]),
                ),
                ("closed", J::Raw("true")),
            ]),
        });
    }
    J::Arr(parts)
}

/// The stream's bytes in a random framing; `[DONE]` ends an OpenAI stream.
/// Also whether it wrote the `event:` lines (the types the events are dispatched with).
pub(super) fn frame(rng: &mut Rng, events: &[(&str, Vec<u8>)], done: bool) -> (Vec<u8>, bool) {
    let eol: &[u8] = [&b"\n"[..], b"\r\n", b"\r"][rng.below(3)];
    let (event_lines, ids, comments) = (rng.below(2) == 0, rng.below(3) == 0, rng.below(3) == 0);
    let field: &[u8] = [&b"data: "[..], b"data:", b"data:  "][rng.below(3)];
    let mut out = Vec::new();
    let line = |out: &mut Vec<u8>, parts: &[&[u8]]| {
        for part in parts {
            out.extend_from_slice(part);
        }
        out.extend_from_slice(eol);
    };
    for (i, (event_type, data)) in events.iter().enumerate() {
        if comments && rng.below(3) == 0 {
            line(&mut out, &[b": keep-alive"]);
        }
        if event_lines && !event_type.is_empty() {
            let sep: &[u8] = if rng.below(4) == 0 {
                b"event:"
            } else {
                b"event: "
            };
            line(&mut out, &[sep, event_type.as_bytes()]);
        }
        if ids {
            line(&mut out, &[b"id: ", i.to_string().as_bytes()]);
        }
        line(&mut out, &[field, data]);
        line(&mut out, &[]);
    }
    if done {
        line(&mut out, &[b"data: [DONE]"]); // one space: the data is `[DONE]` exactly
        line(&mut out, &[]);
    }
    (out, event_lines)
}

/// What parsing every event's data with serde_json and reading the tree gives.
fn full_parse(provider: Provider, events: &[(&str, Vec<u8>)], done: bool, typed: bool) -> String {
    let mut ex = Facts::new(provider);
    let mut gemini_counts = gemini::Counts::default();
    let done_event = [("", b"[DONE]".to_vec())];
    let dones: &[(&str, Vec<u8>)] = if done { &done_event } else { &[] };
    for (event_type, data) in events.iter().chain(dones) {
        ex.events += 1;
        if data == b"[DONE]" {
            continue;
        }
        let Some(value) = tree::parse(data) else {
            ex.invalid_events += 1;
            continue;
        };
        if ex.provider == Provider::Auto {
            ex.provider = providers::detect(&value);
        }
        match ex.provider {
            Provider::Anthropic => {
                let event_type = if typed { event_type.as_bytes() } else { b"" };
                anthropic::tree::on_event(&mut ex, event_type, &value);
            }
            Provider::OpenAiChat => openai_chat::tree::on_event(&mut ex, &value),
            Provider::OpenAiResponses => openai_responses::tree::on_event(&mut ex, &value),
            Provider::Gemini => gemini::tree::on_event(&mut ex, &mut gemini_counts, &value),
            // As the meter: an undetected event is read only for its error object.
            Provider::Auto => {
                if let Some(obj) = value
                    .as_object()
                    .filter(|o| tree::object(o, "error").is_some())
                {
                    error::read_error(&mut ex, obj);
                }
            }
            Provider::Cohere | Provider::Ollama | Provider::Bedrock => {
                unreachable!("the layouts generator makes Anthropic and OpenAI events only")
            }
        }
    }
    if ex.invalid_events > 0 {
        let n = ex.invalid_events;
        ex.notes
            .push(format!("ignored {n} event(s) whose data is not valid JSON"));
    }
    let status = ex.status(BodyKind::EventStream);
    // The record's tier is lower-case (ASCII), whatever the provider's spelling.
    let tier = ex.service_tier.as_deref().map(|t| match t.is_ascii() {
        true => t.to_ascii_lowercase(),
        false => t.to_owned(),
    });
    view(
        ex.provider.name(),
        &[
            format!("{:?}", ex.tokens),
            format!("{:?}", (&ex.model, &ex.message_id, &ex.stop_reason)),
            format!("{:?}", (&tier, &ex.speed, &ex.last_usage)),
            format!("{:?}", ex.output_text.as_tuple()),
            format!("{:?}", (ex.saw_thinking, ex.saw_tool_use, ex.events)),
            format!("{:?}", ex.encrypted_reasoning),
            format!("{:?}", (ex.output_final, status.as_str(), &ex.notes)),
            format!("{:?}", ex.billing),
            format!("{:?}", (&ex.error_type, &ex.error_message)),
        ],
    )
}

fn from_record(r: &RawRecord) -> String {
    view(
        r.provider,
        &[
            format!("{:?}", r.tokens),
            format!("{:?}", (&r.model, &r.message_id, &r.stop_reason)),
            format!("{:?}", (&r.service_tier, &r.speed, &r.raw_usage)),
            format!("{:?}", r.output_text.as_tuple()),
            format!("{:?}", (r.saw_thinking, r.saw_tool_use, r.events)),
            format!("{:?}", r.encrypted_reasoning),
            format!("{:?}", (r.output_final, r.status.as_str(), &r.notes)),
            format!("{:?}", r.billing),
            format!("{:?}", (&r.error_type, &r.error_message)),
        ],
    )
}

fn view(provider: Option<&str>, fields: &[String]) -> String {
    format!("provider={provider:?} {}", fields.join(" "))
}

/// The stream fed whole and in random pieces (some of a few bytes, some of many): each record
/// must be the full parse's.
pub(super) fn check(rng: &mut Rng, provider: Provider, events: &[(&str, Vec<u8>)], done: bool) {
    let (body, typed) = frame(rng, events, done);
    let expected = full_parse(provider, events, done, typed);
    for sizes in [usize::MAX, 7, 64, 700] {
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let take = if sizes == usize::MAX {
                body.len()
            } else {
                1 + rng.below(sizes)
            };
            let take = take.min(body.len() - at);
            pieces.push(&body[at..at + take]);
            at += take;
        }
        let got = from_record(&feed_chunks(provider, DEFAULT_MAX_EVENT_BYTES, pieces));
        assert_eq!(
            got,
            expected,
            "pieces of up to {sizes}:\n{}",
            String::from_utf8_lossy(&body)
        );
    }
}

pub(super) fn styles(rng: &mut Rng) -> Style {
    Style {
        shuffle: rng.below(2) == 0,
        space: [0, 0, 1, 3][rng.below(4)],
        unknown: rng.below(2) == 0,
        escape: rng.below(3) == 0,
    }
}

pub(super) fn written(
    rng: &mut Rng,
    style: &Style,
    events: Vec<(&'static str, J)>,
) -> Vec<(&'static str, Vec<u8>)> {
    events
        .into_iter()
        .map(|(event_type, value)| {
            let mut out = String::new();
            blank(rng, style, &mut out);
            write(rng, style, &value, &mut out);
            blank(rng, style, &mut out);
            // No line end inside a data line: the framing writes one data line per event.
            let data = out.replace(['\n', '\r'], " ");
            (event_type, data.into_bytes())
        })
        .collect()
}

#[test]
fn anthropic_events_in_random_layouts_read_as_the_full_parse() {
    let mut rng = Rng(0xA17A);
    for _ in 0..600 {
        let style = styles(&mut rng);
        let events = anthropic_events(&mut rng);
        let events = written(&mut rng, &style, events);
        let provider = [Provider::Auto, Provider::Anthropic][rng.below(2)];
        check(&mut rng, provider, &events, false);
    }
}

/// An Anthropic event with a `choices` field (a chat chunk's) is left by the walk to the
/// other readers and the tree: read as the full parse either way.
#[test]
fn anthropic_events_with_a_choices_field_read_as_the_full_parse() {
    let mut rng = Rng(0xC401);
    for _ in 0..200 {
        let style = styles(&mut rng);
        let mut events = anthropic_events(&mut rng);
        for (_, event) in &mut events {
            if let (J::Obj(fields), 0) = (event, rng.below(3)) {
                let at = rng.below(fields.len() + 1);
                let value = [J::Arr(vec![]), J::Raw("null"), J::Arr(vec![J::Obj(vec![])])];
                fields.insert(
                    at,
                    ("choices", value.into_iter().nth(rng.below(3)).unwrap()),
                );
            }
        }
        let events = written(&mut rng, &style, events);
        let provider = [Provider::Auto, Provider::Anthropic][rng.below(2)];
        check(&mut rng, provider, &events, false);
    }
}

#[test]
fn openai_chunks_in_random_layouts_read_as_the_full_parse() {
    let mut rng = Rng(0x0A1);
    for _ in 0..600 {
        let style = styles(&mut rng);
        let extra = rng.below(3);
        let events = openai_events(&mut rng, extra);
        let events = written(&mut rng, &style, events);
        let provider = [Provider::Auto, Provider::OpenAiChat][rng.below(2)];
        check(&mut rng, provider, &events, true);
    }
}

/// A chunk with an error object (OpenRouter ends a stream cut short with one, usage beside
/// it): its error and usage, nothing else of it, read as the full parse reads them, whatever
/// the error's fields (strings, numbers, escapes and what the reader declines) and layout.
#[test]
fn openai_error_chunks_read_as_the_full_parse() {
    let mut rng = Rng(0xE4404);
    let errors = [
        r#"{"code":400,"message":"Token limit reached"}"#,
        r#"{"message":"word","type":"server_error"}"#,
        r#"{"status":"x","code":429}"#,
        r#"{"type":null,"code":"rate_limit","message":null}"#,
        r#"{"type":true,"status":503,"message":7}"#,
        r#"{"message":"a \"quoted\" word \u00e9"}"#,
        r#"{"type":"\u0078","code":1}"#,
        r#"{"code":4.5}"#,
        r#"{"code":-1}"#,
        r#"{"code":1e3}"#,
        r#"{"code":12345678901234567890123}"#,
        r#"{"code":1,"code":2}"#,
        r#"{}"#,
        "null",
        r#""overloaded""#,
        "5",
        "[]",
    ];
    for round in 0..400 {
        let style = styles(&mut rng);
        let extra = rng.below(3);
        let mut events = openai_events(&mut rng, extra);
        let victim = rng.below(events.len());
        if let J::Obj(fields) = &mut events[victim].1 {
            let at = rng.below(fields.len() + 1);
            fields.insert(at, ("error", J::Raw(errors[round % errors.len()])));
        }
        let events = written(&mut rng, &style, events);
        let provider = [Provider::Auto, Provider::OpenAiChat][rng.below(2)];
        check(&mut rng, provider, &events, true);
    }
}

/// Small damage to an event (a byte changed, cut, doubled): whatever the fast readers make of
/// it, the record is the full parse's (they decline what they cannot read exactly).
#[test]
fn damaged_events_read_as_the_full_parse() {
    let mut rng = Rng(0xDA3A6E);
    for _ in 0..400 {
        let style = styles(&mut rng);
        let anthropic = rng.below(2) == 0;
        let events = if anthropic {
            anthropic_events(&mut rng)
        } else {
            let extra = rng.below(3);
            openai_events(&mut rng, extra)
        };
        let mut events = written(&mut rng, &style, events);
        let victim = rng.below(events.len());
        let data = &mut events[victim].1;
        if !data.is_empty() {
            let at = rng.below(data.len());
            match rng.below(4) {
                0 => data[at] = b"{}[]\",:0a\\ \x01\xff"[rng.below(13)],
                1 => data.truncate(at),
                2 => data.insert(at, data[at]),
                _ => {
                    let dup = data.clone();
                    data.extend_from_slice(&dup[..at]);
                }
            }
            data.retain(|&b| b != b'\n' && b != b'\r');
        }
        let provider = if anthropic {
            Provider::Anthropic
        } else {
            Provider::OpenAiChat
        };
        check(&mut rng, provider, &events, !anthropic);
    }
}

/// Streams that keep their layouts (as real ones do), each delta or chunk repeated: the
/// events after the first of each layout are read by the stream's learned skeletons, and the
/// record is still the full parse's, however the stream is framed and cut.
#[test]
fn repeated_layouts_are_read_by_skeletons_as_the_full_parse() {
    let mut rng = Rng(0x5EE1);
    let (mut taken, mut events_seen) = ([0; 2], [0; 2]);
    for round in 0..300 {
        let anthropic = round % 2 == 0;
        let mut style = styles(&mut rng);
        // One layout a stream (random key order or white space would change every event's);
        // in every other stream no escapes or unknown fields either (placed at random too).
        (style.shuffle, style.space) = (false, 0);
        let plain = round % 4 < 2;
        if plain {
            (style.escape, style.unknown) = (false, false);
        }
        let events = if anthropic {
            anthropic_events(&mut rng)
        } else {
            let extra = rng.below(3);
            openai_events(&mut rng, extra)
        };
        let mut repeated = Vec::new();
        for (event_type, value) in events {
            let copies = if matches!(event_type, "content_block_delta" | "") {
                1 + rng.below(12)
            } else {
                1
            };
            repeated.extend(std::iter::repeat_n((event_type, value), copies));
        }
        let events = written(&mut rng, &style, repeated);
        let provider = match (anthropic, rng.below(2)) {
            (_, 0) => Provider::Auto,
            (true, _) => Provider::Anthropic,
            (false, _) => Provider::OpenAiChat,
        };
        check(&mut rng, provider, &events, !anthropic);
        let (body, _) = frame(&mut rng, &events, !anthropic);
        // Whole reads (whole events) and 64-byte reads (every event dispatched line by line).
        for piece in [body.len(), 64] {
            let mut core = crate::meter::UsageCore::new(provider, DEFAULT_MAX_EVENT_BYTES);
            for chunk in body.chunks(piece) {
                core.feed(chunk);
            }
            if plain {
                taken[usize::from(piece == 64)] += core.sink.taken;
                events_seen[usize::from(piece == 64)] += events.len() as u64;
            }
        }
    }
    // Most repeated events are read by a skeleton (the rest: firsts, usage events, bare CR
    // framing, events whose escapes or unknown values change).
    for (taken, seen) in taken.into_iter().zip(events_seen) {
        assert!(taken * 2 > seen, "{taken} of {seen}");
    }
}

/// A delta without text (a thinking block's signature, which comes once a block) is read, its
/// layout not learned: repeated, each one is read by the reader while the thinking deltas
/// after the first are read by their skeleton; the record is the full parse's either way.
#[test]
fn deltas_without_text_are_read_not_learned() {
    let mut rng = Rng(0x5165);
    let delta = |kind: &str, field: &'static str, text: &str| {
        let delta = J::Obj(vec![("type", s(kind)), (field, s(text))]);
        let event = vec![
            ("type", s("content_block_delta")),
            ("index", n(0)),
            ("delta", delta),
        ];
        ("content_block_delta", J::Obj(event))
    };
    let plain = Style {
        shuffle: false,
        space: 0,
        unknown: false,
        escape: false,
    };
    let mut events = anthropic_events(&mut rng)[..1].to_vec();
    events.extend((0..6).map(|i| delta("thinking_delta", "thinking", &"Hm. ".repeat(i))));
    events.extend((0..5).map(|_| delta("signature_delta", "signature", "EqQBCgIYAhIM")));
    let events = written(&mut rng, &plain, events);
    check(&mut rng, Provider::Anthropic, &events, false);
    let body: Vec<u8> = events
        .iter()
        .flat_map(|(kind, data)| [b"event: ", kind.as_bytes(), b"\ndata: ", data, b"\n\n"].concat())
        .collect();
    let mut core = crate::meter::UsageCore::new(Provider::Anthropic, DEFAULT_MAX_EVENT_BYTES);
    core.feed(&body);
    assert_eq!(core.sink.taken, 5, "the thinking deltas after the first");
}

/// JSON string bodies as written in a chunk, valid and not (an escaped quote and line end,
/// non-ASCII, a lone surrogate, a bad escape, a raw control character): where a reader skips
/// or counts them, its skeleton must take what the full parse takes, and nothing else.
const RAW_TEXTS: [&str; 8] = [
    "This",
    " is",
    "",
    r#"a \"q\" \n é"#,
    "你好",
    r"\ud800",
    "x\\",
    "\u{1}",
];

/// OpenRouter's chunks repeat the reasoning text in `reasoning_details`, which the reader
/// skips whole: the list is one hole, whatever its shape (empty, one item, a signature), so a
/// run of such chunks is learned and read by its skeleton, and reads as the full parse does,
/// whatever the texts (escaped, non-ASCII, invalid JSON in either place).
#[test]
fn reasoning_details_are_holes() {
    let mut rng = Rng(0x0de7);
    let chunk = |reasoning: &str, details: &str| {
        format!(
            r#"{{"id":"gen-1","provider":"Google","model":"m","object":"chat.completion.chunk","created":1,"choices":[{{"index":0,"delta":{{"role":"assistant","content":"","reasoning":"{reasoning}","reasoning_details":{details}}},"finish_reason":null,"native_finish_reason":null,"logprobs":null}}]}}"#
        )
        .into_bytes()
    };
    let item = |text: &str| {
        format!(
            r#"[{{"type":"reasoning.text","text":"{text}","format":"anthropic-claude-v1","index":0}}]"#
        )
    };
    let signed = |text: &str| {
        format!(
            r#"[{{"type":"reasoning.text","text":"{text}","signature":"","format":"anthropic-claude-v1","index":0}}]"#
        )
    };
    let texts = RAW_TEXTS;
    let mut events = vec![("", chunk("", "[]"))];
    for (i, text) in texts.iter().enumerate() {
        events.push(("", chunk(text, &item(text))));
        events.push(("", chunk(texts[(i + 1) % texts.len()], &signed(text))));
        events.push(("", chunk(text, "[]")));
    }
    check(&mut rng, Provider::Auto, &events, true);
    let valid = ["This", " is", "", "你好", " a", " b"];
    let core = fed_data(&valid.map(|t| chunk(t, &item(t))));
    assert_eq!(core.sink.taken, 3, "the chunks after the third");
    let shapes = [
        item("x"),
        "[]".to_owned(),
        signed("y"),
        item("你好"),
        "[]".to_owned(),
        item(""),
    ];
    let core = fed_data(&valid.map(|t| chunk(t, &shapes[t.len() % shapes.len()])));
    assert_eq!(
        core.sink.taken, 3,
        "the chunks after the third, whatever the list's shape"
    );
}

/// Together's chunks repeat the delta's text in the choice's legacy `text`: counted once (the
/// delta's), the chunks' layout learned with `text` a skipped hole. A choice without a delta
/// (a legacy completion) has its `text` counted.
#[test]
fn a_choice_text_beside_a_delta_is_not_counted_twice() {
    let mut rng = Rng(0x7093);
    let chunk = |legacy: &str, content: &str| {
        format!(
            r#"{{"id":"o1","object":"chat.completion.chunk","created":1,"choices":[{{"index":0,"text":"{legacy}","logprobs":null,"finish_reason":null,"seed":null,"delta":{{"token_id":16,"role":"assistant","content":"{content}"}}}}],"model":"m","usage":null}}"#
        )
        .into_bytes()
    };
    let texts = RAW_TEXTS;
    let mut events = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        events.push(("", chunk(text, text)));
        events.push(("", chunk(texts[(i + 3) % texts.len()], text)));
    }
    check(&mut rng, Provider::Auto, &events, true);
    let counted = |datas: &[Vec<u8>]| fed_data(datas).finish().output_text;
    let valid = ["One", ",", " two", " three", "你好", " four"];
    let together = valid.map(|t| chunk(t, t));
    let alone = valid.map(|t| replace_text(&chunk(t, t)));
    assert_eq!(
        counted(&together),
        counted(&alone),
        "the delta's text, once"
    );
    assert_eq!(
        fed_data(&together).sink.taken,
        3,
        "the chunks after the third"
    );
    // Without a delta (or with a null one), the choice's `text` is the reply.
    let legacy = |text: &str, delta: &str| {
        format!(r#"{{"id":"c","object":"text_completion","choices":[{{"index":0,"text":"{text}"{delta},"finish_reason":null}}],"model":"m"}}"#)
            .into_bytes()
    };
    for delta in ["", r#","delta":null"#] {
        let datas = valid.map(|t| legacy(t, delta));
        assert_eq!(counted(&datas), counted(&alone), "no delta: {delta:?}");
        let events: Vec<_> = datas.into_iter().map(|data| ("", data)).collect();
        check(&mut rng, Provider::Auto, &events, true);
    }
}

/// A chat choice's `logprobs` change shape from chunk to chunk (a token's bytes, how many
/// alternatives): one hole, a value checked and skipped whole, so the chunks' layout is
/// learned all the same. Invalid values in it are declined as the general reader declines them.
#[test]
fn logprobs_are_one_hole_whatever_their_shape() {
    let mut rng = Rng(0x10b5);
    let chunk = |text: &str, logprobs: &str| {
        format!(
            r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{"content":"{text}"}},"logprobs":{logprobs},"finish_reason":null}}]}}"#
        )
        .into_bytes()
    };
    let logprobs = |token: &str, alternatives: usize| {
        let entry = |p: f64, top: &str| {
            let bytes: Vec<String> = token.bytes().map(|b| b.to_string()).collect();
            format!(
                r#"{{"token":"{token}","logprob":{p},"bytes":[{}]{top}}}"#,
                bytes.join(",")
            )
        };
        let top: Vec<String> = (0..alternatives)
            .map(|k| entry(-0.5 * k as f64, ""))
            .collect();
        let top = format!(r#","top_logprobs":[{}]"#, top.join(","));
        format!(r#"{{"content":[{}],"refusal":null}}"#, entry(-0.25, &top))
    };
    let words = ["Hello", " world", ",", " é", "你好", " 42", ""];
    let odd = [
        "null",
        "[]",
        "{}",
        r#"{"content":[1,]}"#,
        r#"{"content":[{"token":"\ud800"}]}"#,
        r#"{"content":[{"token":"x\"}]}"#,
        "{\"content\":\"\u{1}\"}",
        r#"{"content":[tru]}"#,
        r#"[1e400]"#,
        r#"{"a":{"b":{"c":[[[[{}]]]]}}}"#,
    ];
    let mut events = Vec::new();
    for (i, word) in words.iter().enumerate() {
        events.push(("", chunk(word, &logprobs(word, i % 3))));
        events.push(("", chunk(word, odd[i % odd.len()])));
        events.push(("", chunk(word, &logprobs(words[(i + 1) % words.len()], 2))));
    }
    events.extend(odd.iter().map(|value| ("", chunk("x", value))));
    check(&mut rng, Provider::Auto, &events, true);
    let valid: Vec<_> = (0..8)
        .map(|i| {
            chunk(
                words[i % words.len()],
                &logprobs(words[i % words.len()], i % 3),
            )
        })
        .collect();
    // As any chat stream's: the second chunk, read on from the first one's prefix, is learned
    // anew, the third opens the hole.
    assert_eq!(fed_data(&valid).sink.taken, 5, "the chunks after the third");
}

/// A Together chunk without its legacy `text`.
fn replace_text(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(data.to_vec()).unwrap();
    let start = text.find(r#""text":"#).unwrap();
    let end = start + text[start..].find(r#","logprobs""#).unwrap();
    format!("{}{}", &text[..start], &text[end + 1..]).into_bytes()
}

/// A meter fed `datas` as `data:` events, in one read.
fn fed_data(datas: &[Vec<u8>]) -> crate::meter::UsageCore {
    let body: Vec<u8> = datas
        .iter()
        .flat_map(|data| [b"data: ", data.as_slice(), b"\n\n"].concat())
        .collect();
    let mut core = crate::meter::UsageCore::new(Provider::Auto, DEFAULT_MAX_EVENT_BYTES);
    core.feed(&body);
    core
}

/// The first chunk that names the role is read, its layout not learned: OpenAI names it in a
/// stream's first chunk only. Where every chunk names it (a relay), the layout is learned from
/// the second and read by its skeleton after. The record is the full parse's either way.
#[test]
fn the_first_chunk_naming_the_role_is_not_learned() {
    let mut rng = Rng(0x701e);
    let chunk = |delta: &str| {
        format!(
            r#"{{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":null}}]}}"#
        )
        .into_bytes()
    };
    for relay in [false, true] {
        let role = if relay { r#""role":"assistant","# } else { "" };
        let mut events = vec![("", chunk(r#"{"role":"assistant","content":""}"#))];
        events.extend((0..5).map(|i| ("", chunk(&format!(r#"{{{role}"content":"w{i}"}}"#)))));
        check(&mut rng, Provider::Auto, &events, true);
        let datas: Vec<_> = events.into_iter().map(|(_, data)| data).collect();
        let core = fed_data(&datas);
        assert_eq!(core.sink.learned(), 1, "relay: {relay}");
        assert_eq!(
            core.sink.taken, 4,
            "the chunks after the second, relay: {relay}"
        );
    }
}
