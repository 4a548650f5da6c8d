//! Differential, as `layouts`: Gemini chunks (text, thought and signed parts, function calls
//! with arguments of every shape, several candidates, usage snapshots with every field
//! `read_usage` reads, blocked prompts, errors that the skim reader leaves to the tree, counts
//! it must note) in random
//! layouts and framings, fed in random pieces: the record is the full parse's. And the
//! chunks without what the reader declines are all read without the tree.

use super::layouts::{check, n, s, styles, written, Style, J, NULL, TEXTS};
use super::support::Rng;
use crate::meter::{UsageCore, DEFAULT_MAX_EVENT_BYTES};
use crate::providers::facts::Provider;

/// What one stream may hold beyond text chunks and usage.
#[derive(Clone, Copy)]
struct Mix {
    /// Errors, counts to note, exponents: chunks the tree reads.
    declined: bool,
}

fn part(rng: &mut Rng, mix: Mix) -> J {
    let text = s(TEXTS[rng.below(TEXTS.len())]);
    let signature = s(&"Ev8Dq+/9".repeat(1 + rng.below(4)));
    match rng.below(10) {
        0..=2 => J::Obj(vec![("text", text)]),
        3 => J::Obj(vec![("text", text), ("thought", J::Raw("true"))]),
        4 => J::Obj(vec![("thought", J::Raw("false")), ("text", text)]),
        5 => J::Obj(vec![("text", text), ("thoughtSignature", signature)]),
        6 => J::Obj(vec![("thoughtSignature", signature)]),
        7 => J::Obj(vec![("text", NULL), ("inlineData", J::Obj(vec![]))]),
        8 => J::Obj(vec![("functionCall", call(rng, mix))]),
        _ => J::Obj(vec![
            ("functionCall", call(rng, mix)),
            ("thoughtSignature", signature),
        ]),
    }
}

/// A function call: its name (or none, or not a string) and arguments of every shape the tree
/// counts as its compact text (keys sorted, a repeated key's last value, numbers as serde_json
/// writes them: `1.50` as `1.5`, `1e3` as `1000.0`). An exponent only in the declined mix: the
/// skim reader leaves a number with one to the tree.
fn call(rng: &mut Rng, mix: Mix) -> J {
    let name = [s("get_weather"), s("lookup_\u{e9}t\u{e9}"), NULL, n(5)][rng.below(4)].clone();
    let text = s(TEXTS[rng.below(TEXTS.len())]);
    let args = match rng.below(8) {
        0 => J::Obj(vec![("location", s("Boston")), ("days", n(3))]),
        1 => J::Obj(vec![]),
        2 => J::Obj(vec![
            ("zeta", J::Raw("1.50")),
            (
                "alpha",
                J::Arr(vec![
                    J::Raw(if mix.declined { "1e3" } else { "2.0" }),
                    J::Raw("-0"),
                    J::Raw("true"),
                    NULL,
                ]),
            ),
            ("nested", J::Obj(vec![("b", s("x")), ("a", text)])),
        ]),
        3 => J::Obj(vec![("city", s("Paris")), ("city", s("Rome"))]),
        4 => J::Arr(vec![n(1), J::Raw("-2"), J::Raw("0.25")]),
        5 => [NULL, text, J::Raw("12")][rng.below(3)].clone(),
        _ => J::Obj(vec![("query", text), ("limit", n(10))]),
    };
    let mut fields = vec![("name", name), ("args", args)];
    if rng.below(3) == 0 {
        fields.push(("id", s("dv8szvqe")));
    }
    if rng.below(6) == 0 {
        fields.swap(0, 1);
        fields.truncate(1);
    }
    J::Obj(fields)
}

fn candidate(rng: &mut Rng, mix: Mix, last: bool) -> J {
    let parts = (0..1 + rng.below(3)).map(|_| part(rng, mix)).collect();
    let mut fields = vec![
        (
            "content",
            J::Obj(vec![("parts", J::Arr(parts)), ("role", s("model"))]),
        ),
        ("index", n(0)),
    ];
    if last {
        fields.push((
            "finishReason",
            s(["STOP", "MAX_TOKENS", "SAFETY"][rng.below(3)]),
        ));
    }
    if rng.below(4) == 0 {
        let rating = J::Obj(vec![
            ("category", s("HARM_CATEGORY_HATE_SPEECH")),
            ("probability", s("NEGLIGIBLE")),
        ]);
        fields.push(("safetyRatings", J::Arr(vec![rating])));
    }
    J::Obj(fields)
}

fn count(rng: &mut Rng, mix: Mix, max: usize) -> J {
    match rng.below(if mix.declined { 14 } else { 12 }) {
        0 => NULL,
        12 => J::Raw(["-1", "1.5", "\"7\"", "1e3"][rng.below(4)]),
        13 => n(999_999_999_999),
        _ => n(rng.below(max) as u64),
    }
}

fn modalities(rng: &mut Rng, mix: Mix) -> J {
    let mut items = vec![J::Obj(vec![
        ("modality", s("TEXT")),
        ("tokenCount", count(rng, mix, 900)),
    ])];
    for _ in 0..rng.below(3) {
        items.push(J::Obj(vec![
            ("modality", s("AUDIO")),
            ("tokenCount", count(rng, mix, 300)),
        ]));
    }
    J::Arr(items)
}

/// A field's value, made at random.
type Field = fn(&mut Rng, Mix) -> J;

fn usage(rng: &mut Rng, mix: Mix, last: bool) -> J {
    let mut fields = vec![
        ("promptTokenCount", count(rng, mix, 5000)),
        ("totalTokenCount", n(rng.below(9000) as u64)),
    ];
    if last || rng.below(2) == 0 {
        fields.push(("candidatesTokenCount", count(rng, mix, 900)));
    }
    let optional: [(&'static str, Field); 7] = [
        ("cachedContentTokenCount", |rng, mix| count(rng, mix, 4000)),
        ("toolUsePromptTokenCount", |rng, mix| count(rng, mix, 700)),
        ("thoughtsTokenCount", |rng, mix| count(rng, mix, 2000)),
        ("promptTokensDetails", modalities),
        ("candidatesTokensDetails", modalities),
        ("trafficType", |rng, _| {
            s(["ON_DEMAND", "PROVISIONED_THROUGHPUT", "", "NEW_KIND"][rng.below(4)])
        }),
        ("serviceTier", |rng, _| {
            s(["standard", "", "flex"][rng.below(3)])
        }),
    ];
    for (name, value) in optional {
        if rng.below(3) == 0 {
            fields.push((name, value(rng, mix)));
        }
    }
    J::Obj(fields)
}

/// A Gemini stream: its chunks, the last with the finish reason (or a blocked prompt).
fn gemini_events(rng: &mut Rng, mix: Mix) -> Vec<(&'static str, J)> {
    let chunks = 1 + rng.below(6);
    let mut events = Vec::new();
    for i in 0..chunks {
        let last = i + 1 == chunks;
        if mix.declined && rng.below(12) == 0 {
            let error = J::Obj(vec![
                ("code", n(429)),
                ("message", s("Resource has been exhausted")),
                ("status", s("RESOURCE_EXHAUSTED")),
            ]);
            events.push(("", J::Obj(vec![("error", error)])));
            continue;
        }
        let mut fields = Vec::new();
        if last && rng.below(8) == 0 {
            let feedback = J::Obj(vec![("blockReason", s("SAFETY"))]);
            fields.push(("promptFeedback", feedback));
        } else {
            let many = rng.below(5) == 0;
            let candidates = (0..1 + usize::from(many)).map(|_| candidate(rng, mix, last));
            fields.push(("candidates", J::Arr(candidates.collect())));
        }
        if last || rng.below(4) != 0 {
            fields.push(("usageMetadata", usage(rng, mix, last)));
        }
        fields.push(("modelVersion", s("gemini-2.5-flash")));
        fields.push(("responseId", s("kPx_aOr3jNcEavSu")));
        if rng.below(4) == 0 {
            fields.push(("createTime", s("2026-12-07T21:00:00.123Z")));
        }
        events.push(("", J::Obj(fields)));
    }
    events
}

#[test]
fn gemini_chunks_in_random_layouts_read_as_the_full_parse() {
    let mut rng = Rng(0x6E41);
    for round in 0..800 {
        let style = styles(&mut rng);
        let mix = Mix {
            declined: round % 2 == 0,
        };
        let events = gemini_events(&mut rng, mix);
        let events = written(&mut rng, &style, events);
        let provider = [Provider::Auto, Provider::Gemini][rng.below(2)];
        check(&mut rng, provider, &events, false);
    }
}

/// Without what the reader declines (and without escapes, which it declines in names and in
/// the model and id it keeps), no chunk goes to the tree, whatever the layout.
#[test]
fn gemini_chunks_are_read_without_the_tree() {
    let mut rng = Rng(0x6E42);
    for _ in 0..300 {
        let style = Style {
            escape: false,
            ..styles(&mut rng)
        };
        let events = gemini_events(&mut rng, Mix { declined: false });
        let events = written(&mut rng, &style, events);
        for provider in [Provider::Auto, Provider::Gemini] {
            let mut core = UsageCore::new(provider, DEFAULT_MAX_EVENT_BYTES);
            for (_, data) in &events {
                core.feed(b"data: ");
                core.feed(data);
                core.feed(b"\n\n");
            }
            assert_eq!(core.sink.tree_read, 0, "{provider:?}");
            assert_eq!(core.sink.facts.provider, Provider::Gemini);
        }
    }
}
