//! Differential, as `layouts`, for the usage objects alone: OpenAI Chat and Responses usage
//! objects with what gateways and compatible servers add (costs, request counts, tiers, cache
//! counts under other names, unknown fields and nested objects, `null`s, names given twice,
//! counts to note), in random layouts (key order, white space, escapes): what the fast readers
//! make of the event is what the tree makes of it, and most are read in place.

use super::layouts::{gateway_fields, n, s, styles, written, J, NULL};
use super::support::Rng;
use crate::providers::facts::{Facts, Provider};
use crate::providers::{anthropic, openai_chat, openai_responses};
use crate::scan::holes::Holes;
use crate::scan::tree;

/// A usage object's counts, under the Chat or the Responses names.
fn usage(rng: &mut Rng, responses: bool) -> J {
    let names = if responses {
        [
            "input_tokens",
            "output_tokens",
            "input_tokens_details",
            "output_tokens_details",
        ]
    } else {
        [
            "prompt_tokens",
            "completion_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
        ]
    };
    let mut fields = vec![
        (names[0], n(rng.below(9000) as u64 + 100)),
        (names[1], n(rng.below(900) as u64)),
        ("total_tokens", n(rng.below(10_000) as u64)),
        (
            names[2],
            J::Obj(vec![("cached_tokens", n(rng.below(200) as u64))]),
        ),
        (
            names[3],
            J::Obj(vec![("reasoning_tokens", n(rng.below(50) as u64))]),
        ),
    ];
    // Now and then a count missing.
    if rng.below(4) == 0 {
        fields.remove(rng.below(fields.len()));
    }
    gateway_fields(rng, &mut fields, names[2]);
    J::Obj(fields)
}

/// What a reader left in the facts, the usage object parsed when it was kept as text.
fn view(ex: &Facts) -> String {
    let text = ex.last_usage_text.as_deref();
    let usage = (ex.last_usage.clone()).or_else(|| text.and_then(|t| serde_json::from_str(t).ok()));
    format!(
        "{:?}",
        (
            &ex.tokens,
            &ex.billing,
            &ex.notes,
            &ex.service_tier,
            ex.output_final,
            usage
        )
    )
}

#[test]
fn usage_objects_in_random_layouts_read_in_place_as_the_tree() {
    let mut rng = Rng(0x05A6E);
    let mut in_place = [0; 2];
    for round in 0..3000 {
        let responses = round % 2 == 1;
        let style = styles(&mut rng);
        let usage = usage(&mut rng, responses);
        let event = if responses {
            let response = J::Obj(vec![
                ("id", s("resp_1")),
                ("status", s("completed")),
                ("usage", usage),
            ]);
            J::Obj(vec![
                ("type", s("response.completed")),
                ("response", response),
            ])
        } else {
            J::Obj(vec![
                ("id", s("chatcmpl-1")),
                ("object", s("chat.completion.chunk")),
                ("choices", J::Arr(vec![])),
                ("usage", usage),
            ])
        };
        let data = written(&mut rng, &style, vec![("", event)]).remove(0).1;
        let value = tree::parse(&data).expect("written JSON parses");
        let (mut fast, mut full) = (Facts::new(Provider::Auto), Facts::new(Provider::Auto));
        let read = if responses {
            full.provider = Provider::OpenAiResponses;
            openai_responses::tree::on_event(&mut full, &value);
            openai_responses::reader::fast_path(&mut fast, &data).is_some()
        } else {
            full.provider = Provider::OpenAiChat;
            openai_chat::tree::on_event(&mut full, &value);
            let holes = &mut Holes::default();
            openai_chat::reader::fast_path(&mut fast, &mut None, &data, holes).is_some()
        };
        if !read {
            continue; // declined whole (an escaped name the chunk reader reads): the tree's
        }
        in_place[usize::from(responses)] += usize::from(fast.last_usage_text.is_some());
        assert_eq!(
            view(&fast),
            view(&full),
            "{}",
            String::from_utf8_lossy(&data)
        );
    }
    // Most are read in place, whatever fields they carry (the rest: a count to note, a name
    // twice, an escape in a name or a tier).
    assert!(in_place.iter().all(|&n| n > 600), "{in_place:?}");
}

/// One item of an Anthropic `usage.iterations`: counts, a type and a model, now and then a
/// `null`, a count to note, a nested object or a value that is not an object.
fn iteration(rng: &mut Rng) -> J {
    let mut fields = vec![
        ("input_tokens", n(rng.below(3000) as u64)),
        ("output_tokens", n(rng.below(300) as u64)),
        ("cache_read_input_tokens", n(rng.below(50) as u64)),
        (
            "cache_creation",
            J::Obj(vec![("ephemeral_5m_input_tokens", n(rng.below(9) as u64))]),
        ),
        (
            "type",
            s(["message", "advisor_message", "compaction"][rng.below(3)]),
        ),
        ("model", s(["claude-opus-4-8", ""][rng.below(2)])),
    ];
    match rng.below(8) {
        0 => fields.push(("model", NULL)),
        1 => fields.push(("output_tokens", J::Num("-1".into()))),
        2 => fields.push(("iterations", NULL)),
        3 => return J::Raw("7"),
        _ => {}
    }
    if rng.below(3) == 0 {
        fields.remove(rng.below(fields.len()));
    }
    J::Obj(fields)
}

/// Anthropic events that once went to the tree: a usage with `iterations` (advisor and
/// compaction passes) and a compaction pass's `content` delta; an OpenAI chunk whose choice
/// carries a legacy `text` beside its delta (Together). Read in place as the tree reads them.
#[test]
fn iterations_summaries_and_legacy_texts_read_in_place_as_the_tree() {
    let mut rng = Rng(0x17E4);
    let mut in_place = [0; 3];
    for round in 0..3000 {
        let kind = round % 3;
        let style = styles(&mut rng);
        let event = match kind {
            0 => {
                let items = (0..rng.below(4)).map(|_| iteration(&mut rng)).collect();
                let iterations = if rng.below(6) == 0 {
                    NULL
                } else {
                    J::Arr(items)
                };
                let usage = J::Obj(vec![
                    ("input_tokens", n(rng.below(3000) as u64)),
                    ("output_tokens", n(rng.below(300) as u64)),
                    ("iterations", iterations),
                ]);
                J::Obj(vec![
                    ("type", s("message_delta")),
                    ("delta", J::Obj(vec![("stop_reason", s("end_turn"))])),
                    ("usage", usage),
                ])
            }
            1 => {
                let mut delta = vec![
                    ("type", s("compaction_delta")),
                    ("content", s("The user asked, \"why?\" \u{4f60}好 42")),
                ];
                match rng.below(6) {
                    0 => delta.push(("text", s("and more"))),
                    1 => delta[1].1 = NULL,
                    _ => {}
                }
                J::Obj(vec![
                    ("type", s("content_block_delta")),
                    ("index", n(0)),
                    ("delta", J::Obj(delta)),
                ])
            }
            _ => {
                let mut choice = vec![
                    ("index", n(0)),
                    ("text", s([" word", "1", "", "caf\u{e9}"][rng.below(4)])),
                    ("logprobs", NULL),
                    ("seed", J::Num("1395002666759424000".into())),
                    (
                        "delta",
                        J::Obj(vec![("token_id", n(16)), ("content", s("x y"))]),
                    ),
                ];
                match rng.below(6) {
                    0 => choice[1].1 = NULL,
                    1 => choice[1].1 = n(3),
                    _ => {}
                }
                J::Obj(vec![
                    ("id", s("ovCb55p")),
                    ("object", s("chat.completion.chunk")),
                    ("choices", J::Arr(vec![J::Obj(choice)])),
                    ("usage", NULL),
                ])
            }
        };
        let data = written(&mut rng, &style, vec![("", event)]).remove(0).1;
        let value = tree::parse(&data).expect("written JSON parses");
        let (mut fast, mut full) = (Facts::new(Provider::Auto), Facts::new(Provider::Auto));
        let holes = &mut Holes::default();
        let read = if kind == 2 {
            full.provider = Provider::OpenAiChat;
            openai_chat::tree::on_event(&mut full, &value);
            openai_chat::reader::fast_path(&mut fast, &mut None, &data, holes).is_some()
        } else {
            full.provider = Provider::Anthropic;
            anthropic::tree::on_event(&mut full, b"", &value);
            anthropic::reader::fast_path(&mut fast, &data, holes).is_some()
        };
        if !read {
            continue;
        }
        in_place[kind] += 1;
        let facts = |ex: &Facts| {
            let text = (ex.output_text.as_tuple(), ex.saw_thinking, &ex.stop_reason);
            format!("{:?}", (view(ex), text, &ex.model, &ex.message_id))
        };
        assert_eq!(
            facts(&fast),
            facts(&full),
            "{}",
            String::from_utf8_lossy(&data)
        );
    }
    // Most are read in place (the rest: an escape in a name, a count to note, a name twice).
    assert!(in_place.iter().all(|&n| n > 500), "{in_place:?}");
}
