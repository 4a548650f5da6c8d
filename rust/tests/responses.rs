//! Differential, as `layouts`: OpenAI Responses streams (the `response` events, text,
//! reasoning and tool-input deltas, the item and part events between them, a final
//! `response.completed`, `.incomplete` or `.failed`, an `error` event) written in random
//! layouts, framings and chunkings, sound and damaged: the record is the full parse's, whatever
//! the fast reader takes or declines.

use super::layouts::{check, gateway_fields, n, s, styles, written, Style, J, NULL, TEXTS};
use super::support::{feed_chunks, Rng};
use crate::meter::DEFAULT_MAX_EVENT_BYTES;
use crate::providers::facts::Provider;

/// A `response` object as its events carry it.
fn response(rng: &mut Rng, status: &str, end: Option<&str>) -> J {
    let usage = match end {
        Some(_) if rng.below(6) > 0 => J::Obj(vec![
            ("input_tokens", n(rng.below(9000) as u64 + 100)),
            (
                "input_tokens_details",
                J::Obj(vec![("cached_tokens", n(rng.below(64) as u64))]),
            ),
            ("output_tokens", n(rng.below(900) as u64 + 20)),
            (
                "output_tokens_details",
                J::Obj(vec![("reasoning_tokens", n(rng.below(20) as u64))]),
            ),
            ("total_tokens", n(rng.below(10_000) as u64)),
        ]),
        _ => NULL,
    };
    let usage = match usage {
        J::Obj(mut fields) => {
            gateway_fields(rng, &mut fields, "input_tokens_details");
            J::Obj(fields)
        }
        other => other,
    };
    let (error, incomplete) = match end {
        Some("response.failed") => (
            J::Obj(vec![
                ("code", [s("server_error"), NULL][rng.below(2)].clone()),
                ("message", s("The model failed")),
            ]),
            NULL,
        ),
        Some("response.incomplete") => (NULL, J::Obj(vec![("reason", s("max_output_tokens"))])),
        _ => (NULL, NULL),
    };
    J::Obj(vec![
        ("id", s("resp_0e3f1d7b90a3b1d7")),
        ("object", s("response")),
        ("created_at", n(1_767_379_378)),
        ("status", s(status)),
        ("background", J::Raw("false")),
        ("error", error),
        ("incomplete_details", incomplete),
        (
            "instructions",
            [NULL, s("Be brief \u{e9}")][rng.below(2)].clone(),
        ),
        ("model", s("gpt-5-mini-2025-08-07")),
        ("output", J::Arr(vec![])),
        (
            "service_tier",
            [s("default"), s("auto"), NULL][rng.below(3)].clone(),
        ),
        (
            "tools",
            J::Arr(vec![J::Obj(vec![
                ("type", s("function")),
                ("name", s("get_weather")),
                ("strict", J::Raw("true")),
            ])]),
        ),
        ("usage", usage),
    ])
}

/// A Responses stream: (event type, data) per event.
fn responses_events(rng: &mut Rng) -> Vec<(&'static str, J)> {
    let mut seq = 0;
    let mut event = |kind: &'static str, mut fields: Vec<(&'static str, J)>| {
        fields.insert(0, ("type", s(kind)));
        fields.push(("sequence_number", n(seq)));
        seq += 1;
        (kind, J::Obj(fields))
    };
    let mut out = vec![
        event(
            "response.created",
            vec![("response", response(rng, "in_progress", None))],
        ),
        event(
            "response.in_progress",
            vec![("response", response(rng, "in_progress", None))],
        ),
    ];
    let deltas = [
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.refusal.delta",
        "response.reasoning_text.delta",
    ];
    for index in 0..1 + rng.below(3) as u64 {
        let item = J::Obj(vec![
            ("id", s("msg_0e3f1d7b")),
            ("type", s("message")),
            ("status", s("in_progress")),
            ("content", J::Arr(vec![])),
            ("role", s("assistant")),
        ]);
        if rng.below(3) == 0 {
            // A reasoning item, its encrypted content (`include`) on the done event only.
            let reasoning = |sealed: J| {
                J::Obj(vec![
                    ("id", s("rs_0e3f1d7b")),
                    ("type", s("reasoning")),
                    ("summary", J::Arr(vec![])),
                    ("encrypted_content", sealed),
                ])
            };
            let sealed = [s("gAAAAABo+Ab/cD=="), s(""), NULL, s("gé€AA==")];
            out.push(event(
                "response.output_item.added",
                vec![("output_index", n(index)), ("item", reasoning(NULL))],
            ));
            out.push(event(
                "response.output_item.done",
                vec![
                    ("output_index", n(index)),
                    ("item", reasoning(sealed[rng.below(sealed.len())].clone())),
                ],
            ));
        }
        out.push(event(
            "response.output_item.added",
            vec![("output_index", n(index)), ("item", item.clone())],
        ));
        let kind = deltas[rng.below(deltas.len())];
        for _ in 0..1 + rng.below(6) {
            let text = TEXTS[rng.below(TEXTS.len())];
            let delta = if rng.below(12) == 0 { NULL } else { s(text) };
            out.push(event(
                kind,
                vec![
                    ("item_id", s("msg_0e3f1d7b")),
                    ("output_index", n(index)),
                    ("content_index", n(0)),
                    ("delta", delta),
                    ("logprobs", J::Arr(vec![])),
                    // A pad of another length in every delta, as OpenAI's.
                    ("obfuscation", s(&"Zx0a".repeat(rng.below(4)))),
                ],
            ));
        }
        out.push(event(
            "response.output_text.done",
            vec![("item_id", s("msg_0e3f1d7b")), ("text", s("Hello, world"))],
        ));
        out.push(event(
            "response.output_item.done",
            vec![("output_index", n(index)), ("item", item)],
        ));
    }
    if rng.below(8) == 0 {
        // The documented shape (code and message at the top), the shape OpenAI sends (an
        // `error` object), a code that is no string, a message with escapes.
        let fields = match rng.below(4) {
            0 => vec![
                ("code", s("rate_limit_exceeded")),
                ("message", s("Slow down")),
                ("param", NULL),
            ],
            1 => vec![(
                "error",
                J::Obj(vec![
                    ("type", s("insufficient_quota")),
                    ("code", s("insufficient_quota")),
                    ("message", s("You exceeded your current quota.")),
                    ("param", NULL),
                ]),
            )],
            2 => vec![("code", n(429)), ("message", NULL)],
            _ => vec![("message", s("caf\u{e9} \"quoted\"\n"))],
        };
        out.push(event("error", fields));
    }
    let end = [
        "response.completed",
        "response.incomplete",
        "response.failed",
    ][rng.below(3)];
    let status = match end {
        "response.completed" => "completed",
        "response.incomplete" => "incomplete",
        _ => "failed",
    };
    out.push(event(
        end,
        vec![("response", response(rng, status, Some(end)))],
    ));
    out
}

#[test]
fn responses_events_in_random_layouts_read_as_the_full_parse() {
    let mut rng = Rng(0x7E5);
    for _ in 0..500 {
        let style = styles(&mut rng);
        let events = responses_events(&mut rng);
        let events = written(&mut rng, &style, events);
        let provider = [Provider::Auto, Provider::OpenAiResponses][rng.below(2)];
        check(&mut rng, provider, &events, false);
    }
}

/// Small damage to an event (a byte changed, cut, doubled): the record is the full parse's.
#[test]
fn damaged_responses_events_read_as_the_full_parse() {
    let mut rng = Rng(0xDA3A6F);
    for _ in 0..400 {
        let style = styles(&mut rng);
        let events = responses_events(&mut rng);
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
        let provider = [Provider::Auto, Provider::OpenAiResponses][rng.below(2)];
        check(&mut rng, provider, &events, false);
    }
}

/// The fast reader takes the events of a plain stream (not the tree): a stream of deltas is
/// read without a tree parse but for the first event (`Auto`) and none (`openai-responses`).
#[test]
fn responses_events_are_read_in_place() {
    let mut rng = Rng(0x1A);
    let style = styles(&mut Rng(3));
    let events = responses_events(&mut rng);
    let events = written(&mut rng, &style, events);
    let mut body = Vec::new();
    for (_, data) in &events {
        body.extend_from_slice(b"data: ");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\n\n");
    }
    let record = feed_chunks(
        Provider::OpenAiResponses,
        DEFAULT_MAX_EVENT_BYTES,
        [&body[..]],
    );
    assert_eq!(record.provider, Some("openai-responses"));
    assert!(record.output_text.as_tuple().0 > 0);
    // One event at a time, every event read by the fast reader: the counts of `tree::parse`
    // calls are not observable here, so the reader is called directly.
    let mut facts = crate::providers::facts::Facts::new(Provider::OpenAiResponses);
    for (kind, data) in &events {
        let read = crate::providers::openai_responses::reader::fast_path(&mut facts, data);
        // An error message with escapes is the tree's to decode.
        let escaped = *kind == "error" && data.contains(&b'\\');
        assert!(
            read.is_some() || escaped,
            "{kind}: {}",
            String::from_utf8_lossy(data)
        );
    }
}

/// A stream's deltas are read by their learned layout: the first read and learned, the
/// second (another sequence number and pad) read and the layout's holes opened there, the
/// rest read by the skeleton, on whole events and on the data of events cut by the reads.
/// The record is the full parse's either way.
#[test]
fn responses_deltas_are_read_by_their_skeleton() {
    let mut rng = Rng(0x5E1);
    let plain = Style {
        shuffle: false,
        space: 0,
        unknown: false,
        escape: false,
    };
    for kind in [
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
    ] {
        let delta = |seq: u64, text: &str, pad: &str| {
            let fields = vec![
                ("type", s(kind)),
                ("sequence_number", n(seq)),
                ("item_id", s("msg_0e3f1d7b")),
                ("output_index", n(0)),
                ("content_index", n(0)),
                ("delta", s(text)),
                ("obfuscation", s(pad)),
            ];
            (kind, J::Obj(fields))
        };
        let mut events = responses_events(&mut rng)[..1].to_vec();
        events.extend((0..12).map(|i| {
            delta(
                2 + i,
                TEXTS[i as usize % TEXTS.len()],
                &"q".repeat(i as usize % 5),
            )
        }));
        let events = written(&mut rng, &plain, events);
        check(&mut rng, Provider::Auto, &events, false);
        let body: Vec<u8> = events
            .iter()
            .flat_map(|(kind, data)| {
                [b"event: ", kind.as_bytes(), b"\ndata: ", data, b"\n\n"].concat()
            })
            .collect();
        let mut core = crate::meter::UsageCore::new(Provider::Auto, DEFAULT_MAX_EVENT_BYTES);
        core.feed(&body);
        assert_eq!(core.sink.taken, 10, "{kind}: the deltas after the second");
        let mut core = crate::meter::UsageCore::new(Provider::Auto, DEFAULT_MAX_EVENT_BYTES);
        for piece in body.chunks(40) {
            core.feed(piece);
        }
        assert!(
            core.sink.taken >= 5,
            "{kind}, 40-byte reads: {}",
            core.sink.taken
        );
    }
}

/// Encrypted reasoning is counted from each reasoning item's `output_item.done` (not from its
/// `added`, nor from the final `response`, which repeats the items) and from a body's output:
/// characters and items, an empty one no item; the same on the fast reader and the tree.
#[test]
fn encrypted_reasoning_items_are_counted_once() {
    let item = |sealed: &str| {
        format!(r#"{{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":{sealed}}}"#)
    };
    let events = [
        format!(
            r#"{{"type":"response.output_item.added","item":{}}}"#,
            item("null")
        ),
        format!(
            r#"{{"item":{},"type":"response.output_item.done"}}"#,
            item(r#""gAAAAABoé==""#)
        ),
        format!(
            r#"{{"type":"response.output_item.done","item":{}}}"#,
            item(r#""""#)
        ),
        format!(
            r#"{{"type":"response.output_item.done","item":{}}}"#,
            item(r#""gAAAA""#)
        ),
        format!(
            r#"{{"type":"response.completed","response":{{"object":"response","output":[{}]}}}}"#,
            item(r#""gAAAAABoé==""#)
        ),
    ];
    let mut body = Vec::new();
    for data in &events {
        body.extend_from_slice(format!("data: {data}\n\n").as_bytes());
    }
    let expected = crate::record::Sealed {
        chars: 16,
        items: 2,
    };
    let record = feed_chunks(
        Provider::OpenAiResponses,
        DEFAULT_MAX_EVENT_BYTES,
        [&body[..]],
    );
    assert_eq!(record.encrypted_reasoning, expected);
    let mut tree = crate::providers::facts::Facts::new(Provider::OpenAiResponses);
    let mut fast = crate::providers::facts::Facts::new(Provider::OpenAiResponses);
    for data in &events {
        let value = serde_json::from_str(data).unwrap();
        crate::providers::openai_responses::tree::on_event(&mut tree, &value);
        crate::providers::openai_responses::reader::fast_path(&mut fast, data.as_bytes()).unwrap();
    }
    assert_eq!(tree.encrypted_reasoning, expected);
    assert_eq!(fast.encrypted_reasoning, expected);
    // A body: its output's reasoning items.
    let whole = format!(
        r#"{{"object":"response","status":"completed","output":[{},{}]}}"#,
        item(r#""gAAAAABoé==""#),
        item(r#""gAAAA""#)
    );
    let record = feed_chunks(
        Provider::OpenAiResponses,
        DEFAULT_MAX_EVENT_BYTES,
        [whole.as_bytes()],
    );
    assert_eq!(record.encrypted_reasoning, expected);
}
