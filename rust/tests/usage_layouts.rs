//! Differential, as `layouts`, for the usage objects alone: OpenAI Chat and Responses usage
//! objects with what gateways and compatible servers add (costs, request counts, tiers, cache
//! counts under other names, unknown fields and nested objects, `null`s, names given twice,
//! counts to note), in random layouts (key order, white space, escapes): what the fast readers
//! make of the event is what the tree makes of it, and most are read in place.

use super::layouts::{gateway_fields, n, s, styles, written, J};
use super::support::Rng;
use crate::providers::facts::{Facts, Provider};
use crate::providers::{openai_chat, openai_responses};
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
