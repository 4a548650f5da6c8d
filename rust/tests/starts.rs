//! Differential, as `layouts`: the Anthropic events read once a block or a stream
//! (`message_start`, `content_block_start`, `message_delta`) in every shape their fields take
//! (null, absent, another type, twice, a tool block, unknown fields, any key order), in random
//! layouts and framings, fed in random chunks: the record is the full parse's, whichever reader
//! (the walk, a reader of its own, the tree) takes each one.

use super::layouts::{anthropic_events, check, n, s, styles, usage, written, J, NULL, TEXTS};
use super::support::Rng;
use crate::providers::facts::Provider;

/// A content block of a random shape.
fn block(rng: &mut Rng) -> J {
    let text = || s(TEXTS[3]);
    let fields = match rng.below(16) {
        0 => vec![
            ("type", s("text")),
            ("text", s(TEXTS[rng.below(TEXTS.len())])),
        ],
        1 => vec![("type", s("text")), ("text", NULL)],
        2 => vec![
            ("type", s("thinking")),
            ("thinking", text()),
            ("signature", s("")),
        ],
        3 => vec![("type", s("thinking")), ("thinking", NULL)],
        4 => vec![("type", s("redacted_thinking")), ("data", s("EmwKAhgB"))],
        5 => vec![("type", NULL), ("text", text())],
        6 => vec![("type", s("text"))],
        7 => vec![
            ("type", s("tool_use")),
            ("id", s("toolu_1")),
            ("name", s("get_weather")),
            ("input", J::Obj(vec![])),
        ],
        8 => vec![("type", s("text")), ("text", text()), ("text", s("twice"))],
        9 => vec![
            ("type", s("text")),
            ("type", s("thinking")),
            ("text", text()),
        ],
        10 => vec![("type", s("text")), ("text", n(5))],
        11 => vec![("type", s("text")), ("thinking", text())],
        12 => vec![("type", s("server_tool_use")), ("name", s("web_search"))],
        13 => vec![
            ("type", s("tool_use")),
            (
                "name",
                [s("get_weather"), NULL, n(4), s("名前 é")][rng.below(4)].clone(),
            ),
            (
                "input",
                [
                    J::Obj(vec![]),
                    J::Obj(vec![("city", s("Paris"))]),
                    NULL,
                    J::Arr(vec![]),
                ][rng.below(4)]
                .clone(),
            ),
        ],
        14 => vec![
            ("type", s("tool_use")),
            ("name", s("a")),
            ("name", s("b")),
            ("input", J::Obj(vec![])),
            ("input", J::Obj(vec![])),
        ],
        _ => return [NULL, J::Arr(vec![text()]), text(), n(1)][rng.below(4)].clone(),
    };
    J::Obj(fields)
}

/// A message_start's message, a message_delta's delta and usage, in random shapes.
fn message(rng: &mut Rng) -> J {
    let mut fields = vec![("type", s("message")), ("role", s("assistant"))];
    let name = |rng: &mut Rng, v: &str| [s(v), NULL, n(3), s("")][rng.below(4)].clone();
    for key in ["id", "model", "stop_reason"] {
        match rng.below(5) {
            0 => {}
            1 => fields.push((key, name(rng, key))),
            2 => {
                fields.push((key, s(key)));
                fields.push((key, s("again")));
            }
            _ => fields.push((key, s(key))),
        }
    }
    fields.push(("content", J::Arr(vec![])));
    match rng.below(5) {
        0 => {}
        1 => fields.push(("usage", NULL)),
        2 => fields.push(("usage", J::Obj(vec![("input_tokens", s("12"))]))),
        _ => fields.push(("usage", usage(rng))),
    }
    J::Obj(fields)
}

fn delta(rng: &mut Rng) -> J {
    match rng.below(5) {
        0 => NULL,
        1 => J::Obj(vec![("stop_reason", NULL)]),
        2 => J::Obj(vec![
            ("stop_reason", s("end_turn")),
            ("stop_reason", s("x")),
        ]),
        _ => J::Obj(vec![
            ("stop_reason", s("end_turn")),
            ("stop_sequence", NULL),
        ]),
    }
}

/// An Anthropic stream whose block starts, message start and message delta take random
/// shapes (some fields twice, some events twice).
fn shaped_events(rng: &mut Rng) -> Vec<(&'static str, J)> {
    let mut events = anthropic_events(rng);
    for (kind, value) in &mut events {
        let J::Obj(fields) = value else { continue };
        match *kind {
            "content_block_start" => {
                fields.retain(|f| f.0 != "content_block");
                fields.push(("content_block", block(rng)));
                if rng.below(8) == 0 {
                    fields.push(("content_block", block(rng)));
                }
            }
            "message_start" => {
                fields.retain(|f| f.0 != "message");
                fields.push(("message", message(rng)));
            }
            "message_delta" => {
                fields.retain(|f| f.0 == "type");
                if rng.below(6) > 0 {
                    fields.push(("delta", delta(rng)));
                }
                match rng.below(5) {
                    0 => {}
                    1 => fields.push(("usage", NULL)),
                    _ => fields.push(("usage", usage(rng))),
                }
            }
            _ => continue,
        }
        if rng.below(6) == 0 {
            fields.insert(rng.below(fields.len() + 1), ("index", n(2)));
        }
        if rng.below(10) == 0 {
            fields.push(("type", s(kind)));
        }
    }
    events
}

#[test]
fn block_and_message_starts_in_every_shape_read_as_the_full_parse() {
    let mut rng = Rng(0x57A7);
    for _ in 0..800 {
        let style = styles(&mut rng);
        let events = shaped_events(&mut rng);
        let events = written(&mut rng, &style, events);
        let provider = [Provider::Auto, Provider::Anthropic][rng.below(2)];
        check(&mut rng, provider, &events, false);
    }
}
