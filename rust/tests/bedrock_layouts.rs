//! Differential: ConverseStream events (deltas with text, tool input and reasoning of every
//! kind, a field given twice, a delta that is no object; the events the tree only checks) in
//! random layouts, read by the skim reader and by the tree: the same facts wherever the reader
//! takes the event, and it takes all but what it declines.

use super::layouts::{n, s, styles, written, J, NULL, TEXTS};
use super::support::Rng;
use crate::providers::bedrock::{reader, tree as bedrock_tree};
use crate::providers::facts::{Facts, Provider};
use crate::scan::tree;

fn text(rng: &mut Rng) -> J {
    s(TEXTS[rng.below(TEXTS.len())])
}

/// A value that is now a string, now something else (`as_str` reads only the string).
fn string_or_other(rng: &mut Rng) -> J {
    match rng.below(6) {
        0 => NULL,
        1 => n(7),
        2 => J::Obj(vec![("k", s("v"))]),
        _ => text(rng),
    }
}

fn delta(rng: &mut Rng) -> (J, bool) {
    let mut twice = false;
    let fields = match rng.below(9) {
        0..=2 => vec![("text", text(rng))],
        3 => vec![("toolUse", J::Obj(vec![("input", string_or_other(rng))]))],
        4 => vec![("toolUse", J::Obj(vec![("name", s("get_weather"))]))],
        5 => vec![(
            "reasoningContent",
            J::Obj(vec![
                ("text", string_or_other(rng)),
                ("signature", s("EqQBCkgI")),
            ]),
        )],
        6 => vec![(
            "reasoningContent",
            J::Obj(vec![("signature", s("EqQBCkgI"))]),
        )],
        7 => vec![("text", text(rng)), ("reasoningContent", NULL)],
        _ => {
            twice = true;
            vec![("text", text(rng)), ("text", text(rng))]
        }
    };
    (J::Obj(fields), twice)
}

/// One event: its type, payload, and whether the reader must decline it.
fn event(rng: &mut Rng) -> (&'static str, J, bool) {
    let index = ("contentBlockIndex", n(rng.below(3) as u64));
    let pad = ("p", s(&"abcdefghij"[..1 + rng.below(10)]));
    match rng.below(8) {
        0 => {
            let role = ("role", s("assistant"));
            ("messageStart", J::Obj(vec![pad, role]), false)
        }
        1 => ("contentBlockStop", J::Obj(vec![index, pad]), false),
        2 => {
            let stop = ("stopReason", s("end_turn"));
            ("messageStop", J::Obj(vec![stop, pad]), true)
        }
        3 => {
            let delta = (
                "delta",
                [NULL, s("x"), J::Arr(vec![])][rng.below(3)].clone(),
            );
            ("contentBlockDelta", J::Obj(vec![delta, index, pad]), false)
        }
        _ => {
            let (delta, twice) = delta(rng);
            (
                "contentBlockDelta",
                J::Obj(vec![("delta", delta), index, pad]),
                twice,
            )
        }
    }
}

fn view(ex: &Facts) -> String {
    let seen = (ex.saw_tool_use, ex.saw_thinking, ex.invalid_events);
    format!("{:?} {seen:?}", ex.output_text)
}

#[test]
fn converse_events_in_random_layouts_read_in_place_as_the_tree() {
    let mut rng = Rng(0xBED0);
    let mut in_place = 0;
    for _ in 0..4000 {
        let style = styles(&mut rng);
        let (event_type, payload, declined) = event(&mut rng);
        let mut data = written(&mut rng, &style, vec![("", payload)]).remove(0).1;
        // Now and then cut short: no valid JSON, which only the tree may count.
        let cut = rng.below(10) == 0;
        if cut {
            data.truncate(rng.below(data.len()));
        }
        let (mut fast, mut full) = (Facts::new(Provider::Bedrock), Facts::new(Provider::Bedrock));
        match tree::parse(&data) {
            Some(value) => bedrock_tree::on_event(&mut full, event_type, &value),
            None => full.invalid_events += 1,
        }
        let read = reader::read_event(&mut fast, event_type, &data).is_some();
        let shown = String::from_utf8_lossy(&data);
        if !read {
            assert_eq!(view(&fast), view(&Facts::new(Provider::Bedrock)), "{shown}");
            // Declined: only what the reader leaves to the tree (escapes in a field name are
            // the skim reader's to decline too).
            assert!(declined || cut || style.escape, "{event_type} {shown}");
            continue;
        }
        assert!(!cut || tree::parse(&data).is_some(), "{shown}");
        assert_eq!(view(&fast), view(&full), "{event_type} {shown}");
        in_place += 1;
    }
    assert!(in_place > 2000, "{in_place} read in place");
}
